"""Order ids that sort by creation time (ULID layout: 48-bit milliseconds, 80 random bits)."""

from __future__ import annotations

import re
import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ORDER_ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
_ORDER_ID = re.compile(ORDER_ID_PATTERN)


def new_order_id(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_order_id(value: str) -> bool:
    return bool(_ORDER_ID.fullmatch(value))
