"""Install and start a real Argilla server for the review tests (and for trying the review loop by hand).

    python tests/review/local_argilla.py [--port 6900] [--home DIR]    # runs until Ctrl-C

`argilla-server==2.8.0` pins versions that clash with ours, so it lives in a virtual environment of its own,
cached at `~/.cache/curate-argilla-venv` (override with `CURATE_ARGILLA_VENV`): built once (about 580 MB, a few
minutes), reused after. The server runs with fakeredis and the in-memory search engine of `argilla_memory_engine.py` (see
`argilla_launcher.py`), on SQLite under a home folder, so it needs neither Redis nor Elasticsearch. The database
(schema and owner) is made once and kept beside the venv as a template, so a start is one process start.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "argilla_launcher.py"
SERVER_PACKAGES = ["argilla-server==2.8.0", "click<8.2", "huggingface-hub<1.0", "fakeredis>=2.20"]
MARK = ".curate-ready"
VENV_SIZE = "about 580 MB"
OWNER_KEY = "curate-owner.apikey"  # a local test server's key; never a real one
OWNER_PASSWORD = "curate-owner-password"


def venv_path() -> Path:
    return Path(os.environ.get("CURATE_ARGILLA_VENV", Path.home() / ".cache" / "curate-argilla-venv"))


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _run(cmd: list[str], env: dict | None = None, timeout: float = 900) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-3000:]
        raise RuntimeError(f"`{' '.join(map(str, cmd))}` failed ({done.returncode}):\n{tail}")


def _server_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARGILLA_")}
    env.update(
        {
            "ARGILLA_HOME_PATH": str(home),
            "ARGILLA_SEARCH_ENGINE": "memory",
            "HF_HUB_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def venv_ready() -> bool:
    venv = venv_path()
    mark = venv / MARK
    return mark.exists() and mark.read_text() == " ".join(SERVER_PACKAGES) and _python(venv).exists()


def ensure_venv(log=print) -> Path:
    """The server's venv with a migrated template database; built when missing or incomplete."""
    venv = venv_path()
    wanted = " ".join(SERVER_PACKAGES)
    with _locked(venv.parent / (venv.name + ".lock")):
        mark = venv / MARK
        if venv_ready():
            return venv
        log(f"building the Argilla server's venv in {venv} ({VENV_SIZE}; once, a few minutes)")
        shutil.rmtree(venv, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *SERVER_PACKAGES])
        template = venv / "template-home"
        template.mkdir()
        _prepare_database(venv, template)
        mark.write_text(wanted)
    return venv


def _prepare_database(venv: Path, home: Path) -> None:
    """Migrate the schema and make the owner (both idempotent)."""
    env, python = _server_env(home), str(_python(venv))
    _run([python, str(LAUNCHER), "database", "migrate"], env=env, timeout=300)
    _run(
        [
            python,
            str(LAUNCHER),
            "database",
            "users",
            "create_default",
            "--api-key",
            OWNER_KEY,
            "--password",
            OWNER_PASSWORD,
            "--quiet",
        ],
        env=env,
        timeout=300,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    api_key: str
    home: Path
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def log_tail(self, n: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""


def start(home: Path | None = None, port: int | None = None, timeout: float = 120, log=print) -> Server:
    """Start a server on 127.0.0.1 with an owner whose key is `OWNER_KEY`; returns once it answers."""
    venv = ensure_venv(log)
    home = Path(home or tempfile.mkdtemp(prefix="curate-argilla-"))
    home.mkdir(parents=True, exist_ok=True)
    if (home / "argilla.db").exists():
        _prepare_database(venv, home)  # a home of an earlier session: bring it up to date
    else:
        shutil.copyfile(venv / "template-home" / "argilla.db", home / "argilla.db")  # migrated, with the owner
    env = _server_env(home)
    python = str(_python(venv))
    port = port or free_port()
    log_path = home / "server.log"
    handle = open(log_path, "ab")  # noqa: SIM115  (the server writes to it as long as it runs)
    process = subprocess.Popen(
        [python, str(LAUNCHER), "start", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    handle.close()
    server = Server(f"http://127.0.0.1:{port}", OWNER_KEY, home, process, log_path)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the Argilla server exited ({process.returncode}):\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(server.url + "/api/v1/status", timeout=2) as response:
                    if response.status == 200:
                        return server
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"the Argilla server did not answer within {timeout:.0f} s:\n{server.log_tail()}")
    except BaseException:  # not up (or Ctrl-C while starting): no server is left behind
        server.stop()
        raise


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a local Argilla 2.8 server (fakeredis, in-memory search).")
    parser.add_argument("--port", type=int, default=6900)
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="data folder (default: a new temporary one, removed when the server stops)",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)  # stopped like Ctrl-C
    home = args.home or Path(tempfile.mkdtemp(prefix="curate-argilla-"))
    server = None
    try:
        if not venv_ready():
            print(f"building the Argilla server's venv in {venv_path()} ({VENV_SIZE}; once, a few minutes)", flush=True)
        server = start(home, args.port, log=lambda m: None)
        print(
            f"Argilla at {server.url} (data in {server.home}); owner 'argilla', password {OWNER_PASSWORD!r}\n"
            f"  export ARGILLA_API_URL={server.url} ARGILLA_API_KEY={server.api_key}\nCtrl-C stops it.",
            flush=True,
        )
        server.process.wait()  # Ctrl-C (or SIGTERM) interrupts the wait; the server is stopped below, not in a handler
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while stopping changes nothing
        if server is not None:
            server.stop()
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)
    print("stopped" + ("" if args.home else f"; removed {home}"), flush=True)


if __name__ == "__main__":
    main()
