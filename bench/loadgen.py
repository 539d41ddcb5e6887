"""A keep-alive HTTP load generator, used only where wrk is not installed.

    python bench/loadgen.py http://127.0.0.1:8000/hello SECONDS

Sends GET requests on one connection for SECONDS and prints how many were
answered 200; exits non-zero on any other status.
"""

from __future__ import annotations

import http.client
import sys
import time
from urllib.parse import urlsplit


def main() -> None:
    url, seconds = urlsplit(sys.argv[1]), float(sys.argv[2])
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection.request("GET", url.path)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"GET {url.path}: {response.status}")
        done += 1
    print(done)


if __name__ == "__main__":
    main()
