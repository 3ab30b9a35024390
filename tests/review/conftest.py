"""Fixtures for the review tests: the `review` CLI group, and a real Argilla server for the `argilla` tests.

The server (see `local_argilla.py`) is started once per session. Where it can't be (no SDK, the server's venv
can't be built), the `argilla` tests are skipped on a developer's machine but FAIL in CI (`CI=true`), so a broken
setup never passes silently.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.review import local_argilla


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "argilla: end-to-end tests against a real Argilla server (run alone: -m argilla)"
    )


def pytest_report_collectionfinish(config, start_path, items):
    """Say, before any test runs, that the Argilla tests will build a large venv the first time."""
    selected = sum(1 for item in items if item.get_closest_marker("argilla"))
    if not selected or local_argilla.venv_ready():
        return []
    return [
        f"{selected} argilla test{'s' if selected > 1 else ''} selected: the first one builds the Argilla server's venv in "
        f"{local_argilla.venv_path()} ({local_argilla.VENV_SIZE}; once, a few minutes). "
        "Skip them with -m 'not argilla'."
    ]


def _say(config, message: str) -> None:
    """A line on the terminal even while pytest captures output (a long wait must not look like a hang)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{message}", flush=True)


def _unavailable(why: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the Argilla test server is needed in CI and could not be set up: {why}", pytrace=False)
    pytest.skip(f"no Argilla test server: {why}")


@pytest.fixture(scope="session")
def argilla_venv(pytestconfig):
    """The Argilla server's own venv, built on first use (saying so on the terminal)."""
    try:
        import requests  # noqa: F401

        from curate.review.argilla_client import require_sdk

        require_sdk()
    except Exception as exc:
        _unavailable(f"the SDK is missing ({exc}); pip install 'curate[review]'")
    try:
        return local_argilla.ensure_venv(log=lambda m: _say(pytestconfig, m))
    except Exception as exc:  # a failed venv build: say why
        _unavailable(str(exc)[-2000:])


@pytest.fixture(scope="session")
def argilla_server(argilla_venv):
    started = time.time()
    try:
        server = local_argilla.start()
    except Exception as exc:  # a failed start: say why
        _unavailable(str(exc)[-2000:])
    print(f"Argilla test server up in {time.time() - started:.1f} s at {server.url}")
    yield server
    server.stop()
    shutil.rmtree(server.home, ignore_errors=True)


@pytest.fixture
def argilla_env(argilla_server, monkeypatch):
    """ARGILLA_API_URL/KEY pointing at the test server, and quick retries."""
    monkeypatch.setenv("ARGILLA_API_URL", argilla_server.url)
    monkeypatch.setenv("ARGILLA_API_KEY", argilla_server.api_key)
    monkeypatch.setenv("CURATE_REVIEW_RETRIES", "3")
    monkeypatch.setenv("CURATE_REVIEW_BACKOFF", "0.2")
    return argilla_server
