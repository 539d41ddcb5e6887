"""Running the blocking store from async routes.

On Lambda one request runs per container at a time, so a blocking call inside
an ``async def`` route costs nothing, while a thread hand-off costs hundreds of
microseconds on every request. Under uvicorn a blocking call would stall every
other request on the loop, so there the call goes to a worker thread. The
Lambda adapter switches this to inline when it starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio.to_thread

P = ParamSpec("P")
T = TypeVar("T")

_inline = False


def run_inline(enabled: bool = True) -> None:
    global _inline
    _inline = enabled


async def run(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    if _inline:
        return fn(*args, **kwargs)
    return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
