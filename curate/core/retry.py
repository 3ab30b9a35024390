"""One retry loop for calls over the network (an LLM endpoint, the Argilla server): a call that may pass on a second
try (a refused connection, a timeout, a 429 or 5xx) is tried again after waits that double, each at most `max_wait`,
or as long as the server asked (Retry-After); a failure another try won't fix goes straight up, and so does the
last one, for the caller to say what failed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def retry(
    call: Callable[[], T],
    *,
    tries: int,
    first_wait: float,
    worth_retrying: Callable[[Exception], bool],
    max_wait: float = 30.0,
    jitter: float = 0.0,
    asked_wait: Callable[[Exception], float | None] | None = None,
    on_retry: Callable[[Exception], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`call()`, at most `tries` times in all. Before try k + 1: `first_wait * 2**(k-1)`, stretched by up to
    `jitter` (a share, so that clients that failed together do not come back together), unless `asked_wait` says
    how long the server asked for."""
    for attempt in range(tries):
        try:
            return call()
        except Exception as exc:
            if attempt + 1 >= tries or not worth_retrying(exc):
                raise
            asked = asked_wait(exc) if asked_wait else None
            stretch = 1 + random.random() * jitter if jitter else 1
            delay = asked if asked is not None else first_wait * 2**attempt * stretch
            if on_retry:
                on_retry(exc)
            sleep(min(delay, max_wait))
    raise ValueError("tries must be 1 or more")
