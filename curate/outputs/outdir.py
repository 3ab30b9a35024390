"""The output folder is curate's own: recognised by a marker file, refused when it holds files that are not
curate's, locked while a run writes to it, and cleaned only of what curate itself leaves behind.

A run writes only into a folder that does not exist, is empty, or is a curate output: it has the marker (or, from
before the marker, a curate manifest or work folder). So a typo such as `output.dir: ..` cannot overwrite a README or
delete parquet files of the user's own. Two runs into one folder would remove each other's temporary files, so a run
holds an OS file lock on the folder; the kernel drops it when the process dies, so the lock of a killed run is
taken over by the next one, and a refused run is told which process holds it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from curate import __version__
from curate.core.errors import OutputError
from curate.io.writers import write_json_atomic
from curate.outputs.workdir import STAGE_FOLDER

MARKER = ".curate-output.json"
LOCK = ".curate-lock"
HOLDER = ".curate-lock.json"  # who holds the lock (the lock file itself may be truncated by the lock library)
WORK = ".curate"
NOT_CONTENT = frozenset({".gitkeep", ".gitignore", ".DS_Store"})  # a folder holding only these is empty
LEFTOVER = re.compile(r"^\..+\.(tmp|old)-\d+$")  # `.{name}.tmp-{pid}`: atomic writes and stores a kill interrupted
SHARD = re.compile(r"^[A-Za-z0-9_]+-\d{5}-of-\d{5}\.parquet$")  # data/{split}-00000-of-00003.parquet
REJECTS = re.compile(r"^\d{2}-[a-z0-9_]+\.parquet$")  # rejects/03-langid.parquet
OWN_FOLDERS = ("data", "rejects", "report", "signatures")  # where curate writes files besides OUT itself


def _is_legacy_output(out: Path) -> bool:
    """An output of a curate from before the marker: its manifest, or a work folder of stage folders."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        if isinstance(manifest, dict) and "curate_version" in manifest and "run_key" in manifest:
            return True
    except (OSError, ValueError):
        pass
    work = out / WORK
    return work.is_dir() and any(STAGE_FOLDER.match(p.name) and p.is_dir() for p in work.iterdir())


def is_curate_output(out: Path) -> bool:
    return (out / MARKER).is_file() or _is_legacy_output(out)


def output_problem(out: Path) -> str | None:
    """Why curate may not write into `out`, or None when it may."""
    if out.exists() and not out.is_dir():
        return f"{out} is a file, not a folder"
    blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        return f"{out} can't be made: {blocking} is a file, not a folder"
    if not out.exists() or is_curate_output(out):
        return None
    try:
        found = sorted(p.name for p in out.iterdir() if p.name not in NOT_CONTENT)
    except OSError as exc:
        return f"{out} can't be listed ({exc.strerror})"
    if not found:
        return None
    shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    return (
        f"{out} is not empty and is not a curate output (it holds {shown}); curate writes only into a new or "
        "empty folder, or one an earlier run made. Choose another `output.dir` (or --out)"
    )


def output_problems(out: Path, inputs: dict[str, Path]) -> list[str]:
    """Everything that keeps a run from writing into `out` when it reads `inputs` (name: path): a folder that is not
    curate's, or input files inside it (a run would read what an earlier one wrote)."""
    problems = [p for p in [output_problem(out)] if p]
    root = out.resolve()
    inside = [name for name, path in inputs.items() if path.resolve().is_relative_to(root)]
    if inside:
        more = f" (and {len(inside) - 1} more inputs)" if len(inside) > 1 else ""
        problems.append(
            f"{inside[0]} is inside the output folder {out}{more}; a run would read its own output: write it elsewhere"
        )
    return problems


def _holder_text(out: Path) -> str:
    try:
        holder = json.loads((out / HOLDER).read_text(encoding="utf-8"))
        return f"pid {holder['pid']} on {holder['host']}, since {holder['started_at']}: `{holder['command']}`"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that did not say which"


@contextmanager
def claim(out: Path, command: str = "") -> Iterator[None]:
    """Hold `out` for one run: refuse a folder that is not curate's or that another run holds; mark it as a curate
    output; release the lock when the run ends, however it ends."""
    from filelock import FileLock, Timeout

    problem = output_problem(out)
    if problem is not None:
        raise OutputError(problem)
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out / LOCK), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutputError(
            f"{out} is in use by another curate run ({_holder_text(out)}); wait for it to finish or "
            "stop it, then run again"
        ) from None
    try:
        if not (out / MARKER).is_file():
            write_json_atomic(
                out / MARKER, {"curate_output": 1, "created_by": f"curate {__version__}", "created_at": _now()}
            )
        write_json_atomic(
            out / HOLDER,
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "command": command or "curate run",
                "started_at": _now(),
            },
        )
        yield
    finally:
        (out / HOLDER).unlink(missing_ok=True)
        lock.release()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def remove_leftovers(out: Path) -> list[Path]:
    """Temporary files and folders a killed run left behind, looked for only where curate writes: OUT, its own
    sub-folders and the work folder (never a walk of anything else). Call it while holding the lock."""
    found = []
    for folder in (out, *(out / name for name in OWN_FOLDERS)):
        if folder.is_dir():
            found += [p for p in folder.iterdir() if LEFTOVER.match(p.name)]
    if (out / WORK).is_dir():
        found += [p for p in (out / WORK).rglob(".*") if LEFTOVER.match(p.name)]
    for path in found:
        _remove(path)
    return found


def is_own_output_file(path: Path) -> bool:
    """A shard or reject file by curate's naming, which a run may replace or remove."""
    pattern = SHARD if path.parent.name == "data" else REJECTS
    return bool(pattern.match(path.name))


SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # a full disk, a quota, the file size limit (ulimit -f)
_OS_ERROR = re.compile(r"\(os error (\d+)\)|\[Errno (\d+)\]")  # polars and Ray workers carry it in the message


def space_problem(exc: BaseException) -> str | None:
    """The OS's words when `exc` is a write that ran out of space, else None."""
    code = exc.errno if isinstance(exc, OSError) else None
    if code not in SPACE_ERRNOS:
        found = _OS_ERROR.search(str(exc))
        code = int(found.group(1) or found.group(2)) if found else None
    if code == errno.EFBIG:
        return f"{os.strerror(code)} (the file size limit, ulimit -f)"
    return os.strerror(code) if code in SPACE_ERRNOS else None


def folder_bytes(folder: Path) -> int:
    """Bytes of the files below `folder` (links not followed)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def human_bytes(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")
