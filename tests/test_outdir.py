"""OUT is curate's own: a folder that is not a curate output is refused, only curate's own files are removed, and a
lock keeps two runs out of one folder."""

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from curate.outputs.outdir import HOLDER, MARKER, is_curate_output, output_problem, remove_leftovers
from tests.conftest import ROOT, write_jsonl, write_recipe


def tree(folder: Path) -> dict[str, str]:
    """Every file below `folder` with its hash: what must not change."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def project(tmp: Path, out: str = "out", steps: str = "[]") -> Path:
    write_jsonl(tmp / "in" / "a.jsonl", [{"text": f"line {i}"} for i in range(30)])
    return write_recipe(
        tmp / "r.yaml",
        f"name: o\nsources:\n  - path: in/a.jsonl\nsteps: {steps}\n"
        f"output:\n  dir: {out}\n  splits: {{train: 0.5, test: 0.5}}\n",
    )


def users_folder(folder: Path) -> Path:
    """A folder of the user's: what the issue saw deleted or overwritten."""
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text("my notes\n")
    (folder / "manifest.json").write_text('{"mine": true}\n')
    pl.DataFrame({"x": [1]}).write_parquet(folder / "data" / "train-00000-of-00001.parquet")
    (folder / "deep" / "er").mkdir(parents=True)
    (folder / "deep" / "er" / ".draft.txt.tmp-12").write_text("unsaved work")
    (folder / ".curate").mkdir()
    (folder / ".curate" / "settings").mkdir()
    return folder


@pytest.mark.parametrize("out", ["..", "home"])
def test_a_folder_that_is_not_a_curate_output_is_refused_and_left_alone(tmp_path, cli, out):
    home = users_folder(tmp_path / "home")
    work = home / "project"
    recipe = project(work, out=str(tmp_path / "home") if out == "home" else out)
    before = tree(home)
    for command in ("validate", "run"):
        result = cli(command, recipe, cwd=work)
        assert result.code == 2, result
        shown = ".." if out == ".." else str(home)
        assert result.err.endswith(
            f"r.yaml:6:3: output.dir: {shown} is not empty and is not a curate output (it holds .curate, README.md, "
            "data, deep, manifest.json and 1 more); curate writes only into a new or empty folder, or one an earlier "
            f"run made. Choose another `output.dir` (or --out)\n  {recipe}:6:3: output.dir: in/a.jsonl is inside the "
            f"output folder {shown}; a run would read its own output: write it elsewhere\n"
        )
    assert tree(home) == before


def test_out_option_is_checked_too(tmp_path, cli):
    recipe = project(tmp_path)
    users_folder(tmp_path / "mine")
    before = tree(tmp_path / "mine")
    result = cli("run", recipe, "--out", "mine", cwd=tmp_path)
    assert result.code == 2 and result.err.startswith("error: mine is not empty and is not a curate output"), result
    assert tree(tmp_path / "mine") == before
    (tmp_path / "a-file").write_text("x")
    result = cli("run", recipe, "--out", "a-file", cwd=tmp_path)
    assert result.code == 2 and "error: a-file is a file, not a folder" in result.err


def test_new_empty_and_curate_folders_are_accepted(tmp_path, cli):
    recipe = project(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / ".gitkeep").write_text("")
    for out in ("new/nested", "empty", "kept"):
        assert cli("run", recipe, "--out", out, cwd=tmp_path).code == 0
        assert json.loads((tmp_path / out / MARKER).read_text())["curate_output"] == 1
        assert is_curate_output(tmp_path / out) and output_problem(tmp_path / out) is None
    assert (tmp_path / "kept" / ".gitkeep").exists()
    again = cli("run", recipe, "--out", "kept", cwd=tmp_path)
    assert again.code == 0 and "nothing to do" in again.err


def test_outputs_of_curate_before_the_marker_are_recognised(tmp_path, cli):
    recipe = project(tmp_path)
    assert cli("run", recipe, cwd=tmp_path).code == 0
    (tmp_path / "out" / MARKER).unlink()
    assert is_curate_output(tmp_path / "out")  # by its manifest
    (tmp_path / "out" / "manifest.json").unlink()
    assert is_curate_output(tmp_path / "out")  # by its work folder of stage folders
    assert cli("run", recipe, cwd=tmp_path).code == 0 and (tmp_path / "out" / MARKER).exists()


def test_inputs_inside_the_output_folder_are_refused(tmp_path, cli):
    write_jsonl(tmp_path / "corpus" / "a.jsonl", [{"text": "x"}])
    recipe = write_recipe(tmp_path / "r.yaml", "name: o\nsources:\n  - path: corpus\noutput:\n  dir: corpus/out\n")
    assert cli("run", recipe.name, cwd=tmp_path).code == 0
    result = cli("run", recipe.name, cwd=tmp_path)
    assert result.code == 2, result
    assert result.err == (
        "error: invalid recipe:\n  r.yaml:5:3: output.dir: corpus/out/manifest.json is inside the output "
        "folder corpus/out (and 1 more inputs); a run would read its own output: write it elsewhere\n"
    )


def test_a_rerun_removes_only_its_own_files(tmp_path, cli):
    recipe = project(tmp_path)
    recipe.write_text(
        recipe.read_text().replace("{train: 0.5, test: 0.5}", "{train: 0.5, test: 0.5}\n  max_rows_per_shard: 5")
    )
    assert cli("run", recipe, cwd=tmp_path).code == 0
    out = tmp_path / "out"
    assert len(list((out / "data").glob("train-*"))) == 3
    mine = {"data/extra.parquet": b"PAR1", "rejects/notes.txt": b"n", "notes.md": b"m", "report/.x.tmp-1/keep": b"k"}
    for name, content in mine.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(content)
    recipe.write_text(recipe.read_text().replace("max_rows_per_shard: 5", "max_rows_per_shard: 100"))
    assert cli("run", recipe, cwd=tmp_path).code == 0
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "extra.parquet",
        "test-00000-of-00001.parquet",
        "train-00000-of-00001.parquet",
    ]
    assert {name: (out / name).read_bytes() for name in mine if name != "report/.x.tmp-1/keep"} == {
        k: v for k, v in mine.items() if k != "report/.x.tmp-1/keep"
    }
    assert not (out / "report" / ".x.tmp-1").exists()  # a leftover in a folder of curate's (curate report)


@pytest.mark.parametrize("flag", [None, "--resume", "--fresh"])
def test_leftovers_of_a_killed_run_are_removed_even_folders(tmp_path, cli, flag):
    """kill -9 while dedup saves its signatures leaves `signatures/.X.tmp-PID/`, a folder: every later run cleans
    it up (it used to fail with IsADirectoryError)."""
    recipe = project(tmp_path, steps="[{dedup: {method: exact}}]")
    assert cli("run", recipe, cwd=tmp_path).code == 0
    out = tmp_path / "out"
    (out / "manifest.json").unlink()
    leftovers = [
        out / "signatures" / ".exact.tmp-4242",
        out / "signatures" / ".exact.old-4242",
        out / "data" / ".train-00000-of-00001.parquet.tmp-77",
        out / ".README.md.tmp-77",
    ]
    for folder in leftovers[:2]:
        folder.mkdir()
        (folder / "part-00000.parquet").write_bytes(b"half")
    for path in leftovers[2:]:
        path.write_bytes(b"half")
    (stage,) = out.glob(".curate/01-dedup-*")
    (stage / ".s000-f0000-c00000.parquet.tmp-77").write_bytes(b"half")
    users = out / "notes" / ".draft.tmp-5"
    users.parent.mkdir()
    users.write_text("not curate's")
    result = cli("run", recipe, *([flag] if flag else []), cwd=tmp_path)
    assert result.code == 0, result
    assert not any(p.exists() for p in leftovers) and not list(stage.glob(".*"))
    assert users.read_text() == "not curate's"
    assert sorted(p.name for p in (out / "signatures").iterdir()) == ["exact"]


def test_remove_leftovers_does_not_walk_other_folders(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".a.tmp-1").write_text("x")
    (tmp_path / ".b.tmp-2").write_text("x")
    (tmp_path / ".curate" / "00-read-" / "x").mkdir(parents=True)
    (tmp_path / ".curate" / "00-read-" / "x" / ".c.tmp-3").write_text("x")
    assert sorted(p.name for p in remove_leftovers(tmp_path)) == [".b.tmp-2", ".c.tmp-3"]
    assert (tmp_path / "sub" / ".a.tmp-1").exists()


HOLD = """\
import sys, time
from pathlib import Path
from curate.outputs.outdir import claim
with claim(Path(sys.argv[1]), "curate run other.yaml"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_second_run_is_refused_while_the_first_holds_the_lock(tmp_path, cli):
    recipe = project(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "out")], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout.readline() == "held\n"
        result = cli("run", recipe, cwd=tmp_path)
        assert result.code == 2, result
        info = json.loads((tmp_path / "out" / HOLDER).read_text())
        assert info["pid"] == holder.pid
        assert (
            f"error: out is in use by another curate run (pid {holder.pid} on {info['host']}, since "
            f"{info['started_at']}: `curate run other.yaml`); wait for it to finish or stop it, then run again"
        ) in result.err
        assert not (tmp_path / "out" / "data").exists()
    finally:
        holder.send_signal(signal.SIGKILL)  # a killed run's lock is free again: the next run takes it over
        holder.wait()
    result = cli("run", recipe, cwd=tmp_path)
    assert result.code == 0, result
    assert not (tmp_path / "out" / HOLDER).exists()


def test_an_output_folder_that_cant_be_made(tmp_path, cli):
    recipe = project(tmp_path)
    (tmp_path / "a-file").write_text("x")
    result = cli("run", recipe, "--out", "a-file/out", cwd=tmp_path)
    assert (result.code, result.err) == (2, "error: a-file/out can't be made: a-file is a file, not a folder\n")
    if Path("/proc/self").exists():  # the file system refuses: a message, not a traceback
        result = cli("run", recipe, "--out", "/proc/curate-out", cwd=tmp_path)
        assert result.code == 1 and result.err.endswith(
            "\nerror: [Errno 2] No such file or directory: '/proc/curate-out'\n"
        )
