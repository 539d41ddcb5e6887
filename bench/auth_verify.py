"""Cost of verifying one valid RS256 token with a cached key (no fetch).

    .venv/bin/python bench/auth_verify.py

Prints the median and p99 over many runs; the README's Performance section
records the figure. Nothing here is asserted in a test.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import RSAKey

from app.auth.keys import JwksCache
from app.auth.verify import TokenVerifier


def main(rounds: int = 20_000) -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "k", "alg": "RS256", "use": "sig"})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jwks.json"
        path.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
        cache = JwksCache(file=str(path))
        verifier = TokenVerifier(cache, issuer="https://issuer.test", audiences=["aud"])
        now = int(time.time())
        claims = {"iss": "https://issuer.test", "aud": "aud", "sub": "alice", "exp": now + 3600, "iat": now}
        token = jwt.encode({"alg": "RS256", "kid": "k"}, {**claims, "scope": "orders:read"}, key)
        verifier.verify(token)  # warm: fetch and construct the key once
        samples = []
        for _ in range(rounds):
            started = time.perf_counter_ns()
            verifier.verify(token)
            samples.append(time.perf_counter_ns() - started)
        assert cache.fetches == 1
    samples.sort()
    median = statistics.median(samples) / 1000
    p99 = samples[int(len(samples) * 0.99)] / 1000
    print(f"verify RS256 (cached key): median {median:.1f} us, p99 {p99:.1f} us over {rounds} runs")
    print(f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
