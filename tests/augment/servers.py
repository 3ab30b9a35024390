"""OpenAI-compatible servers for the HTTP backend's tests, on loopback only.

- `ScriptedServer`: a standard-library HTTP server in a thread whose answers are scripted per prompt (fail a few
  times, refuse, wait), counting requests and how many were in flight at once.
- `transformers_serve`: the real `transformers serve` process (Transformers' own OpenAI-compatible server)
  running a tiny local chat model.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ScriptedServer:
    """`answer(prompt, attempt) -> (status, text, headers)`; `attempt` counts requests with that prompt (from 1)."""

    def __init__(self, answer: Callable[[str, int], tuple[int, str, dict]], delay: float = 0.0):
        self.answer, self.delay = answer, delay
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.attempts: dict[str, int] = {}
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                with server._lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    server.attempts[prompt] = server.attempts.get(prompt, 0) + 1
                    attempt = server.attempts[prompt]
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    time.sleep(server.delay)
                    status, text, headers = server.answer(prompt, attempt)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                payload = (
                    json.dumps(
                        {
                            "id": "x",
                            "object": "chat.completion",
                            "model": body["model"],
                            "choices": [
                                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
                            ],
                        }
                    )
                    if status == 200
                    else json.dumps({"error": {"message": text}})
                )
                data = payload.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def transformers_serve(model: Path, startup_s: float = 120.0) -> Iterator[str]:
    """`transformers serve MODEL` on a free loopback port; yields its base URL (…/v1). Skips if it cannot start."""
    import pytest

    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    pytest.importorskip("openai")
    import httpx

    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    code = "from transformers.cli.transformers import app; app()"  # main() would also look for a newer version
    log = tempfile.TemporaryFile()  # noqa: SIM115  (the server's output, read when it fails to start)
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "serve",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--device",
            "cpu",
            "--log-level",
            "error",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_s
        while True:  # bounded: until the deadline or the process ends
            if process.poll() is not None:
                log.seek(0)
                output = log.read().decode(errors="replace")[-2000:]
                pytest.skip(f"transformers serve exited with {process.returncode}: {output}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not answer within {startup_s:.0f}s")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()
