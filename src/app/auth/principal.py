from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's subject, its scopes, and its verified claims."""

    sub: str
    scopes: frozenset[str]
    claims: dict[str, Any] = field(hash=False, compare=False)

    def has(self, scope: str) -> bool:
        return scope in self.scopes
