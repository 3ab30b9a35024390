"""The one retry loop: doubling waits with a ceiling, the server's own wait, jitter, and what is not retried."""

import random

import pytest

from curate.core.retry import retry


class Flaky:
    """Fails with `errors` in turn, then answers."""

    def __init__(self, *errors: Exception):
        self.errors, self.calls = list(errors), 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def transient(exc: Exception) -> bool:
    return isinstance(exc, TimeoutError)


def test_waits_double_up_to_the_ceiling_then_it_answers():
    waits: list[float] = []
    call = Flaky(*[TimeoutError()] * 5)
    assert retry(call, tries=6, first_wait=4.0, worth_retrying=transient, max_wait=30.0, sleep=waits.append) == "ok"
    assert waits == [4.0, 8.0, 16.0, 30.0, 30.0] and call.calls == 6


def test_the_last_failure_goes_up_after_every_try():
    waits: list[float] = []
    retried: list[Exception] = []
    last = TimeoutError("third")
    with pytest.raises(TimeoutError, match="third"):
        retry(
            Flaky(TimeoutError("first"), TimeoutError("second"), last),
            tries=3,
            first_wait=1.0,
            worth_retrying=transient,
            on_retry=retried.append,
            sleep=waits.append,
        )
    assert waits == [1.0, 2.0] and [str(e) for e in retried] == ["first", "second"]


def test_a_failure_not_worth_retrying_goes_up_at_once():
    waits: list[float] = []
    call = Flaky(TimeoutError(), PermissionError("wrong key"))
    with pytest.raises(PermissionError, match="wrong key"):
        retry(call, tries=5, first_wait=1.0, worth_retrying=transient, sleep=waits.append)
    assert waits == [1.0] and call.calls == 2


def test_the_servers_wait_wins_and_jitter_only_stretches():
    waits: list[float] = []
    asked = {0: 7.0}
    errors = [TimeoutError(str(i)) for i in range(3)]
    retry(
        Flaky(*errors),
        tries=4,
        first_wait=2.0,
        worth_retrying=transient,
        jitter=0.25,
        sleep=waits.append,
        asked_wait=lambda exc: asked.get(int(str(exc))),
    )
    assert waits[0] == 7.0
    assert 4.0 <= waits[1] <= 4.0 * 1.25 and 8.0 <= waits[2] <= 8.0 * 1.25
    random.seed(3)
    a = random.random()
    random.seed(3)
    waits.clear()
    retry(Flaky(TimeoutError("9")), tries=2, first_wait=2.0, worth_retrying=transient, jitter=0.25, sleep=waits.append)
    assert waits == [2.0 * (1 + a * 0.25)]
