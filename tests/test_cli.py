"""The `curate` command itself: usage mistakes get click's short usage message and exit code 2, never a traceback."""

import subprocess
import sys

import pytest

from curate.stages.registry import step_names
from tests.conftest import ROOT


def curate(*args: str) -> subprocess.CompletedProcess:
    """The console script as a user runs it (a subprocess: the real argv, streams and exit code)."""
    return subprocess.run([sys.executable, "-m", "curate", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("args", "command", "usage_rest", "error"),
    [
        (
            ["steps", "dedupe"],
            "curate steps",
            " [OPTIONS] [NAME]...",
            "Error: Invalid value for 'NAME': no step 'dedupe'; did you mean 'dedup'? (steps: "
            + ", ".join(step_names())
            + ")",
        ),
        (["run"], "curate run", " [OPTIONS] ", "Error: Missing argument 'RECIPE'."),
        (["run", "x.yaml", "--bogus"], "curate run", " [OPTIONS] ", "Error: No such option"),
        (["frobnicate"], "curate", " [OPTIONS] COMMAND [ARGS]...", "Error: No such command 'frobnicate'."),
        (["train", "a.yaml", "b.yaml"], "curate train", " [OPTIONS] [CONFIG]", "Error: Got unexpected extra argument"),
        (["review", "export", "out"], "curate review export", " [OPTIONS] ", "Error: Missing argument 'FILE'."),
    ],
)
def test_usage_mistakes_print_the_usage_and_exit_2(args, command, usage_rest, error):
    done = curate(*args)
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert lines[0].startswith(f"Usage: {command}{usage_rest}")
    assert lines[1:3] == [f"Try '{command} --help' for help.", ""]
    assert lines[3].startswith(error) and len(lines) == 4


def test_bogus_option_is_named():
    assert "--bogus" in curate("run", "x.yaml", "--bogus").stderr.splitlines()[3]


def test_steps_shows_only_the_steps_named(cli):
    one = cli("steps", "dedup")
    assert one.code == 0
    assert one.out.startswith("dedup: Remove or tag exact and near-duplicate rows")
    assert "threshold" in one.out and "min_chars" not in one.out and "balance:" not in one.out
    two = cli("steps", "length", "filter")
    titles = [line.split(":")[0] for line in two.out.splitlines() if line.split(":")[0] in step_names()]
    assert titles == ["length", "filter"]
    everything = cli("steps")
    assert [
        line.split(":")[0] for line in everything.out.splitlines() if line.split(":")[0] in step_names()
    ] == step_names()


def test_steps_markdown_for_one_step(cli):
    from curate.cli.docs import markdown

    result = cli("steps", "length", "--markdown")
    assert result.code == 0 and result.out == markdown(["length"])
    assert result.out.startswith("### `length`\n") and "### `filter`" not in result.out
