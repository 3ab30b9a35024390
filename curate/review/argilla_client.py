"""Talking to Argilla through its SDK: connect, create the dataset, push records, pull responses.

The server comes from `ARGILLA_API_URL` and `ARGILLA_API_KEY`, never from the recipe. A server that is down or
slow is tried again with exponential backoff (`CURATE_REVIEW_RETRIES` tries, first wait `CURATE_REVIEW_BACKOFF`
seconds, each request `CURATE_REVIEW_TIMEOUT` seconds at most), then a `ReviewServerError` says what failed, where,
and how long it tried. A value of those variables that is not a number in range is an error, not a silent default.
The key is never printed, logged or written: every message goes through `redact`, and URLs lose any user:password.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import polars as pl

from curate.core import credentials
from curate.core.credentials import safe_url
from curate.core.errors import CurateError, MissingDependencyError, SettingError
from curate.core.retry import retry
from curate.review import ReviewServerError
from curate.review import records as rec
from curate.review.state import ReviewStore

ENV_URL, ENV_KEY = "ARGILLA_API_URL", "ARGILLA_API_KEY"
PUSH_BATCH = 200  # records per request: a push interrupted half way loses at most one batch
LIST_PAGE = 500
T = TypeVar("T")


def env_number(name: str, default: float, minimum: float, whole: bool = False) -> float:
    """A number from the environment, `default` when unset; anything else than a number >= `minimum` is an error."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        kind = "a whole number" if whole else "a number"
        raise SettingError(f"{name}={raw!r}: it must be {kind}, {minimum:g} or more")
    return value


@dataclass(frozen=True)
class RetrySettings:
    tries: int
    backoff: float  # seconds before the second try; doubles, at most 30
    timeout: int  # seconds per request


def retry_settings() -> RetrySettings:
    return RetrySettings(
        tries=int(env_number("CURATE_REVIEW_RETRIES", 5, 1, whole=True)),
        backoff=env_number("CURATE_REVIEW_BACKOFF", 1.0, 0),
        timeout=int(env_number("CURATE_REVIEW_TIMEOUT", 30, 1, whole=True)),
    )


def redact(text: str) -> str:
    return credentials.redact(text, os.environ.get(ENV_KEY))


def require_sdk() -> None:
    try:
        with warnings.catch_warnings():  # the SDK's own pydantic deprecation warnings, at import
            warnings.simplefilter("ignore")
            import argilla  # noqa: F401
    except ImportError:
        raise MissingDependencyError("review in Argilla", "argilla", "review") from None


def settings_from_env() -> tuple[str, str]:
    retry_settings()  # checked before any work, with the URL and key
    url, key = os.environ.get(ENV_URL, "").strip(), os.environ.get(ENV_KEY, "").strip()
    missing = [name for name, value in ((ENV_URL, url), (ENV_KEY, key)) if not value]
    if missing:
        raise ReviewServerError(
            f"set {' and '.join(missing)} to reach Argilla (e.g. ARGILLA_API_URL=http://localhost:6900 and the API key "
            "shown in Argilla under My settings); without a server use `curate review export OUT FILE` and "
            "`curate review import OUT FILE`"
        )
    return url, key


def _transient(exc: BaseException) -> bool:
    """Worth another try: the network, a timeout, a 5xx or a 429. Not: a wrong key, a bad request."""
    import httpx

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, httpx.TransportError):
            return True
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):
            return status >= 500 or status == 429
        exc = exc.__cause__ or exc.__context__
    return False


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).strip() or name
    return redact(f"{name}: {text}" if name not in text else text)[:500]


def with_retries(
    call: Callable[[], T],
    what: str,
    url: str,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run `call`; on a transient failure wait (1, 2, 4, ... seconds) and try again; then raise a clear error that
    says how long it tried (the requests' own time included, not only the waits). The SDK's own retries are off
    (`retries=0`): they cover refused connections only, not a 5xx, a 429 or a timeout."""
    settings = retry_settings()
    started = clock()
    try:
        return retry(
            call,
            tries=settings.tries,
            first_wait=settings.backoff,
            sleep=sleep,
            worth_retrying=lambda exc: not isinstance(exc, CurateError) and _transient(exc),
        )
    except CurateError:
        raise
    except Exception as exc:  # the SDK raises httpx and its own errors
        if _is_credentials(exc):
            raise ReviewServerError(
                f"Argilla at {url} refused the API key in {ENV_KEY} while trying to {what}; "
                "check the key (it is not shown here)"
            ) from None
        if not _transient(exc):
            raise ReviewServerError(f"could not {what} (Argilla at {url}): {_describe(exc)}") from None
        raise ReviewServerError(
            f"could not {what}: Argilla at {url} did not answer after {settings.tries} tries over "
            f"{clock() - started:.0f} s "
            f"({_describe(exc)}). Is the server running and is {ENV_URL} right? Try again later: the "
            "work done so far is kept"
        ) from None


def _is_credentials(exc: BaseException) -> bool:
    return (
        type(exc).__name__ in ("ArgillaCredentialsError", "UnauthorizedError")
        or getattr(exc, "status_code", None) == 401
    )


@contextlib.contextmanager
def _quiet():
    """The SDK prints progress bars and warnings of its own; the CLI reports instead."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


class Connection:
    """A connected SDK client and where it points (the URL without credentials; the key stays in the client)."""

    def __init__(self, client: Any, url: str):
        self.client, self.url = client, url

    def __repr__(self) -> str:
        return f"Connection({self.url})"


def connect() -> Connection:
    require_sdk()
    import argilla as rg

    raw_url, key = settings_from_env()
    url = safe_url(raw_url)
    timeout = retry_settings().timeout

    def make():
        with _quiet():
            return rg.Argilla(api_url=raw_url, api_key=key, timeout=timeout, retries=0)

    return Connection(with_retries(make, "connect", url), url)


# the dataset ------------------------------------------------------------------------------------------------------
def _workspace(conn: Connection, name: str | None):
    import argilla as rg

    def find():
        with _quiet():
            if name:
                return conn.client.workspaces(name)
            found = sorted(conn.client.workspaces, key=lambda w: w.name)
            return found[0] if found else None

    ws = with_retries(find, "list workspaces", conn.url)
    if ws is None:
        wanted = name or "curate"

        def create():
            with _quiet():
                return rg.Workspace(name=wanted, client=conn.client).create()

        ws = with_retries(create, f"create the workspace '{wanted}' (only an owner may)", conn.url)
    return ws


def open_dataset(conn: Connection, spec: dict[str, Any], create: bool):
    """The spec's dataset; created with the spec's settings when missing (if `create`). An existing dataset must ask
    the same questions about the same fields, else records would not fit it."""
    import argilla as rg

    ws = _workspace(conn, spec.get("workspace"))

    def find():
        with _quiet():
            return conn.client.datasets(name=spec["dataset"], workspace=ws.name)

    ds = with_retries(find, f"look up the dataset '{spec['dataset']}'", conn.url)
    if ds is None:
        if not create:
            raise ReviewServerError(
                f"no dataset '{spec['dataset']}' in workspace '{ws.name}' of Argilla at {conn.url}; "
                "push the review queue first (`curate review push OUT`)"
            )

        def make():
            with _quiet():
                return rg.Dataset(
                    name=spec["dataset"], workspace=ws, settings=rec.settings(spec, conn.client), client=conn.client
                ).create()

        return with_retries(make, f"create the dataset '{spec['dataset']}'", conn.url), ws.name
    have_fields = sorted(f.name for f in ds.settings.fields)
    have_questions = sorted(q.name for q in ds.settings.questions)
    want_fields = sorted(f["name"] for f in spec["fields"])
    want_questions = sorted(rec.question_names(spec))
    missing = sorted(set(want_fields) - set(have_fields)) + sorted(set(want_questions) - set(have_questions))
    if missing:
        raise CurateError(
            f"the Argilla dataset '{spec['dataset']}' (workspace '{ws.name}') exists with other fields or questions "
            f"(it lacks {', '.join(missing)}); give the review step another `dataset:` name, or delete that dataset"
        )
    return ds, ws.name


def push(
    conn: Connection, store: ReviewStore, again: bool = False, progress: Callable[[int, int], None] | None = None
) -> dict:
    """Send the queue in batches; after each batch `push.json` says how far it got, so an interrupted push goes on
    from there. Records are upserted by id (= row `_id`): sending one twice updates it, never duplicates it, and
    keeps its answers. `again` sends everything once more (e.g. after the dataset was edited in the UI)."""
    spec, queue = store.spec(), store.queue()
    state = store.push_state() or {}
    same = state.get("dataset") == spec["dataset"] and state.get("url") == conn.url
    start = 0 if again or not same else min(int(state.get("sent", 0)), queue.height)
    ds, workspace = open_dataset(conn, spec, create=True)
    info = {"dataset": spec["dataset"], "workspace": workspace, "url": conn.url, "total": queue.height}
    if start >= queue.height and same and state.get("done"):
        return {**info, "sent": queue.height, "done": True, "new": 0}
    store.save_push({**info, "sent": start, "done": False})
    for offset in range(start, queue.height, PUSH_BATCH):
        batch = rec.records(queue.slice(offset, PUSH_BATCH), spec)

        def send(batch=batch):
            with _quiet():
                ds.records.log(batch, batch_size=len(batch))

        with_retries(send, f"push records {offset + 1}-{offset + len(batch)} to '{spec['dataset']}'", conn.url)
        store.save_push({**info, "sent": offset + len(batch), "done": offset + len(batch) >= queue.height})
        if progress:
            progress(offset + len(batch), queue.height)
    store.save_push({**info, "sent": queue.height, "done": True})
    return {**info, "sent": queue.height, "done": True, "new": queue.height - start}


def _usernames(conn: Connection) -> dict[str, str]:
    try:
        with _quiet():
            return {str(u.id): u.username for u in conn.client.users}
    except Exception:  # an annotator's key may not list users: ids will do
        return {}


def _answer_row(row_id: str, response: Any, names: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    values = response.values or {}  # a discarded response has none

    def value(question: str) -> Any:
        return (values.get(question) or {}).get("value")

    return {
        "_id": row_id,
        "annotator": names.get(str(response.user_id), str(response.user_id)),
        "origin": "argilla",
        "status": getattr(response.status, "value", str(response.status)),
        **rec.answer_values(value, spec),
    }


def fetch_answers(conn: Connection, spec: dict[str, Any]) -> pl.DataFrame:
    """Every response in the dataset, one row per (record, annotator), as the answers schema. Read with the
    records API (the SDK's record iterator fails on a discarded response without values)."""
    ds, _ = open_dataset(conn, spec, create=False)
    names = with_retries(lambda: _usernames(conn), "list users", conn.url)
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:

        def page(offset=offset):
            with _quiet():
                return conn.client.api.records.list(
                    ds.id, offset=offset, limit=LIST_PAGE, with_suggestions=False, with_responses=True
                )

        models = with_retries(page, f"read the answers in '{spec['dataset']}'", conn.url)
        for model in models:
            rows.extend(
                _answer_row(str(model.external_id), response, names, spec) for response in model.responses or []
            )
        if len(models) < LIST_PAGE:
            break
        offset += len(models)
    schema = rec.answer_schema(spec)
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
