"""The tree is lint-clean and formatted: `ruff check` and `ruff format --check` (config in pyproject.toml; ruff is in
the `test` extra, so a missing ruff fails here rather than skipping)."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff(command):
    done = subprocess.run([sys.executable, "-m", "ruff", *command, "."], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, (
        f"ruff {' '.join(command)} found problems (fix: `ruff check --fix .`, `ruff format .`):\n{done.stdout}{done.stderr}"
    )
