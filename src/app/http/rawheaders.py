"""Response headers changed as the ASGI message carries them: a list of
``(name, value)`` byte pairs, names lower-case (as ASGI requires).

The layers that add headers to every response (security, CORS, rate limit) did
it through Starlette's ``MutableHeaders``, which encodes every name and value
and scans the whole list again for each header set: a few microseconds per
layer per request, on every warm invocation. The pairs here are encoded once,
at start-up, and each layer scans the list once per response.

The list is always copied: a response may send the very list it keeps (a
Starlette ``Response`` sends its ``raw_headers``), and a response object that
is reused must not collect this request's headers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.types import Message

Pairs = list[tuple[bytes, bytes]]


def encode(headers: Mapping[str, str]) -> Pairs:
    """``headers`` as ASGI pairs (names lower-cased), once, at start-up."""
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


def copied(message: Message) -> Pairs:
    """The response-start message's headers, as a new list that is now the message's."""
    headers: Pairs = list(message.get("headers", ()))
    message["headers"] = headers
    return headers


def add_missing(headers: Pairs, defaults: Iterable[tuple[bytes, bytes]]) -> None:
    """Appends each default whose name the response does not have (``setdefault``)."""
    present = {name for name, _ in headers}
    headers.extend(pair for pair in defaults if pair[0] not in present)


def replace(headers: Pairs, pairs: Pairs, names: frozenset[bytes] | None = None) -> None:
    """Sets each of ``pairs``, dropping any value the response had for its name
    (``names``: the names of ``pairs``, when the caller has them already)."""
    if names is None:
        names = frozenset(name for name, _ in pairs)
    if any(name in names for name, _ in headers):
        headers[:] = [pair for pair in headers if pair[0] not in names]
    headers.extend(pairs)


def add_vary(headers: Pairs, value: bytes) -> None:
    """Adds ``value`` to the response's ``Vary`` (as Starlette's add_vary_header)."""
    for index, (name, existing) in enumerate(headers):
        if name == b"vary":
            headers[index] = (b"vary", existing + b", " + value)
            return
    headers.append((b"vary", value))
