"""Run the Argilla server's CLI with an in-process Redis and the in-memory search engine (tests only).

Runs under the server's own virtual environment: `python argilla_launcher.py database migrate`,
`python argilla_launcher.py start --port 6900`... Before the server's modules load, `redis.from_url` is pointed at
fakeredis (the server only enqueues background jobs there; nothing needs them to run in these tests) and
`argilla_memory_engine` registers the `memory` search engine, so neither Redis nor Elasticsearch is needed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import fakeredis
import redis

_SERVER = fakeredis.FakeServer()


def _fake_from_url(url, **kwargs):
    return fakeredis.FakeRedis(server=_SERVER)


redis.from_url = _fake_from_url
redis.Redis.from_url = classmethod(lambda cls, url, **kwargs: fakeredis.FakeRedis(server=_SERVER))

os.environ.setdefault("ARGILLA_SEARCH_ENGINE", "memory")  # before any server module reads its settings
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import argilla_memory_engine  # noqa: F401  (registers the engine)
from argilla_server.cli import app

if __name__ == "__main__":
    sys.argv[0] = "argilla_server"
    app()
