"""The client's error handling without a server: retries with backoff, clear errors, the key never shown."""

import socket

import pytest

from curate.review import ReviewServerError
from curate.review import argilla_client as ac


class Status(Exception):
    def __init__(self, code: int):
        super().__init__(f"HTTP {code}")
        self.status_code = code


def test_urls_lose_credentials_and_messages_lose_the_key(monkeypatch):
    assert (
        ac.safe_url("https://user:pw@argilla.example.org:6900/base/?token=x") == "https://argilla.example.org:6900/base"
    )
    assert ac.safe_url("http://localhost:6900/") == "http://localhost:6900"
    monkeypatch.setenv("ARGILLA_API_KEY", "s3cret-key-value")
    assert ac.redact("header X-Argilla-Api-Key: s3cret-key-value") == "header X-Argilla-Api-Key: ***"


def test_missing_settings_say_what_to_set(monkeypatch):
    monkeypatch.delenv("ARGILLA_API_URL", raising=False)
    monkeypatch.setenv("ARGILLA_API_KEY", "k")
    with pytest.raises(ReviewServerError, match="set ARGILLA_API_URL to reach Argilla.*curate review export"):
        ac.settings_from_env()


def test_transient_failures_are_retried_with_exponential_backoff(monkeypatch):
    httpx = pytest.importorskip("httpx")
    monkeypatch.setenv("CURATE_REVIEW_RETRIES", "4")
    monkeypatch.setenv("CURATE_REVIEW_BACKOFF", "0.5")
    waits, calls = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ReadTimeout("timed out") if len(calls) == 1 else Status(503)
        return "ok"

    assert ac.with_retries(flaky, "read", "http://h", sleep=waits.append) == "ok"
    assert waits == [0.5, 1.0]

    clock = FakeClock()
    with pytest.raises(ReviewServerError) as info:
        ac.with_retries(clock.timing_out(Status(502)), "push records 1-200", "http://h", sleep=clock.sleep, clock=clock)
    assert clock.waits == [0.5, 1.0, 2.0]
    assert str(info.value).startswith(
        "could not push records 1-200: Argilla at http://h did not answer after 4 tries over 4 s"
    )


class FakeClock:
    """Time that passes only when the code waits, or when a request takes `request_s` to fail."""

    def __init__(self, request_s: float = 0.0):
        self.now, self.request_s, self.waits = 1000.0, request_s, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def timing_out(self, error: Exception):
        def call():
            self.now += self.request_s
            raise error

        return call


def test_the_time_tried_counts_the_requests_too(monkeypatch):
    """Five requests that each time out after 30 s, with waits of 1+2+4+8 s: 165 s, not "over 15 s"."""
    httpx = pytest.importorskip("httpx")
    monkeypatch.delenv("CURATE_REVIEW_RETRIES", raising=False)
    monkeypatch.delenv("CURATE_REVIEW_BACKOFF", raising=False)
    clock = FakeClock(request_s=30.0)
    with pytest.raises(ReviewServerError) as info:
        ac.with_retries(
            clock.timing_out(httpx.ReadTimeout("timed out")), "connect", "http://h", sleep=clock.sleep, clock=clock
        )
    assert clock.waits == [1.0, 2.0, 4.0, 8.0]
    assert str(info.value) == (
        "could not connect: Argilla at http://h did not answer after 5 tries over 165 s "
        "(ReadTimeout: timed out). Is the server running and is ARGILLA_API_URL right? Try "
        "again later: the work done so far is kept"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CURATE_REVIEW_TIMEOUT", "-1", "CURATE_REVIEW_TIMEOUT='-1': it must be a whole number, 1 or more"),
        ("CURATE_REVIEW_TIMEOUT", "2.5", "CURATE_REVIEW_TIMEOUT='2.5': it must be a whole number, 1 or more"),
        ("CURATE_REVIEW_RETRIES", "abc", "CURATE_REVIEW_RETRIES='abc': it must be a whole number, 1 or more"),
        ("CURATE_REVIEW_RETRIES", "0", "CURATE_REVIEW_RETRIES='0': it must be a whole number, 1 or more"),
        ("CURATE_REVIEW_BACKOFF", "nan", "CURATE_REVIEW_BACKOFF='nan': it must be a number, 0 or more"),
        ("CURATE_REVIEW_BACKOFF", "-0.5", "CURATE_REVIEW_BACKOFF='-0.5': it must be a number, 0 or more"),
    ],
)
def test_review_settings_that_are_not_numbers_in_range_are_errors(monkeypatch, name, value, message):
    from curate.core.errors import SettingError

    monkeypatch.setenv("ARGILLA_API_URL", "http://localhost:6900")
    monkeypatch.setenv("ARGILLA_API_KEY", "k")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError) as info:
        ac.settings_from_env()  # what the review step checks before any work
    assert str(info.value) == message and info.value.exit_code == 2
    monkeypatch.setenv(name, " 3 ")
    assert ac.retry_settings() == ac.RetrySettings(
        **{"tries": 5, "backoff": 1.0, "timeout": 30, name.split("_")[-1].lower().replace("retries", "tries"): 3}
    )


def test_client_errors_are_not_retried(monkeypatch):
    monkeypatch.setenv("ARGILLA_API_KEY", "s3cret-key-value")
    waits = []
    with pytest.raises(
        ReviewServerError, match="could not create the dataset 'd' \\(Argilla at http://h\\): .*HTTP 422"
    ):
        ac.with_retries(
            lambda: (_ for _ in ()).throw(Status(422)), "create the dataset 'd'", "http://h", sleep=waits.append
        )
    with pytest.raises(ReviewServerError, match="refused the API key in ARGILLA_API_KEY"):
        ac.with_retries(lambda: (_ for _ in ()).throw(Status(401)), "connect", "http://h", sleep=waits.append)
    assert waits == []


def test_a_server_that_is_down_is_a_clear_error_without_the_key(tmp_path, monkeypatch):
    pytest.importorskip("argilla")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ARGILLA_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("ARGILLA_API_KEY", "s3cret-key-value")
    monkeypatch.setenv("CURATE_REVIEW_RETRIES", "2")
    monkeypatch.setenv("CURATE_REVIEW_BACKOFF", "0.01")
    with pytest.raises(ReviewServerError) as info:
        ac.connect()
    message = str(info.value)
    assert message.startswith(f"could not connect: Argilla at http://127.0.0.1:{port} did not answer after 2 tries")
    assert "s3cret-key-value" not in message and "Is the server running" in message
