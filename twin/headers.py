"""The one check every twin server makes before it writes a header (the gateway, the
issuer on the gateway's port, the CloudFront stand-in): Python's ``send_header`` writes
whatever it is given, so a CR or LF in a value would split the response."""

from __future__ import annotations

import re
from collections.abc import Iterable

# RFC 9110 section 5.1 (a field name is a token) and 5.5 (a field value is visible
# characters, spaces and tabs: never CR, LF, NUL or another control character).
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def unsafe_header(headers: Iterable[tuple[str, str]]) -> str | None:
    """The name of the first header no HTTP server may send as it is (a name that is not
    a token, a value with CR, LF or another control character), or None."""
    for name, value in headers:
        if not _TOKEN.match(name) or _CONTROL.search(value):
            return name
    return None
