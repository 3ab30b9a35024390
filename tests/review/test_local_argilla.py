"""The local Argilla launcher as a person runs it: `python tests/review/local_argilla.py`, stopped with Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.review import local_argilla

pytestmark = [pytest.mark.argilla, pytest.mark.slow]


def test_ctrl_c_stops_the_server_at_once_and_removes_its_temporary_folder(argilla_venv):
    port = local_argilla.free_port()
    process = subprocess.Popen(
        [sys.executable, str(local_argilla.HERE / "local_argilla.py"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        shown = ""
        for line in process.stdout:  # until the server is up (the launcher waits for its status page)
            shown += line
            if line.startswith("Ctrl-C stops it."):
                break
        home = Path(re.search(r"\(data in (.+?)\)", shown).group(1))
        assert home.is_dir() and f"export ARGILLA_API_URL=http://127.0.0.1:{port}" in shown
        started = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C does: to the whole process group
        rest, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert time.monotonic() - started < 20  # the server's own shutdown, not a 15 s timeout twice over
    assert process.returncode == 0 and "Traceback" not in err, err
    assert rest.splitlines() == [f"stopped; removed {home}"]
    assert not home.exists()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/status", timeout=2)
