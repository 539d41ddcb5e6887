"""Entity tags and conditional requests (RFC 9110 section 13)."""

from __future__ import annotations

import hashlib
import re

from app.http.problems import Problem

# One element of an entity-tag list and the comma (or end) after it. An opaque
# tag may itself contain commas (RFC 9110 section 8.8.3), so the list is read
# element by element, never split on ",".
_ETAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e]*)"\s*(?:,|\Z)')
# What parse_etags accepts (less outer whitespace, which the HTTP layer strips), for the docs.
_ETAG_DOC = r'(W/)?"[\x21\x23-\x7e]*"'
ETAGS_PATTERN = rf"^(\*|{_ETAG_DOC}( *, *{_ETAG_DOC})*)$"


class BadPrecondition(Problem):
    status = 400
    type_slug = "bad-precondition"


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def parse_etags(header: str) -> list[tuple[bool, str]] | None:
    """``[(weak, opaque), ...]``, ``None`` for ``*``; BadPrecondition if malformed."""
    if header.strip() == "*":
        return None
    tags: list[tuple[bool, str]] = []
    position = 0
    while position < len(header) or not tags:
        match = _ETAG.match(header, position)
        if not match:
            raise BadPrecondition('Entity tags look like "v3" (quotes included).')
        tags.append((match.group(1) is not None, match.group(2)))
        position = match.end()
    return tags


def none_match(header: str | None, etag: str) -> bool:
    """True when If-None-Match matches ``etag`` (weak comparison): answer 304."""
    if header is None:
        return False
    try:
        tags = parse_etags(header)
    except BadPrecondition:
        return False
    if tags is None:
        return True
    opaque = etag.strip('"')
    return any(tag == opaque for _, tag in tags)


def if_match(header: str, etag: str) -> bool:
    """True when If-Match matches ``etag`` (strong comparison: weak tags never match)."""
    tags = parse_etags(header)
    if tags is None:
        return True
    opaque = etag.strip('"')
    return any(not weak and tag == opaque for weak, tag in tags)
