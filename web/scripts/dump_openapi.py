"""Print the API's OpenAPI document, as the app builds it, without a server.

The web app's client (web/src/api/schema.d.ts) is generated from this; `make
web-check` regenerates it and fails when the committed file differs.
"""

from __future__ import annotations

import contextlib
import json
import sys

# Importing app.main builds the module's app, whose start-up lines (the development
# sign-in's, say) go to stdout as on Lambda: here stdout is the document, so not there.
with contextlib.redirect_stdout(sys.stderr):
    from app.main import create_app
    from app.settings import Settings

if __name__ == "__main__":
    document = create_app(Settings(rate_limit="0", dev_signin=False)).openapi()
    json.dump(document, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
