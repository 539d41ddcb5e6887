"""Print the API's OpenAPI document, as the app builds it, without a server.

The web app's client (web/src/api/schema.d.ts) is generated from this; `make
web-check` regenerates it and fails when the committed file differs.
"""

from __future__ import annotations

import json
import sys

from app.main import create_app
from app.settings import Settings

if __name__ == "__main__":
    document = create_app(Settings(rate_limit="0", dev_signin=False)).openapi()
    json.dump(document, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
