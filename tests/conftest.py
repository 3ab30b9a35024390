import json
import os
import sys
from pathlib import Path

import polars as pl
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parents[1]
SHARED_EVAL = ROOT.parent / "shared" / "eval"


def write_jsonl(path: Path, records: list) -> Path:
    """Records are dicts (written as JSON) or raw str/bytes lines (written as they are: broken input)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        for record in records:
            if isinstance(record, bytes):
                handle.write(record + b"\n")
            elif isinstance(record, str):
                handle.write(record.encode("utf-8") + b"\n")
            else:
                handle.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    return path


def write_recipe(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run `curate ARGS...` in this process, as the console script does; returns code, stdout, stderr."""
    from curate.cli import main

    def invoke(*args: str, cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["curate", *map(str, args)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


def _made(folder: Path) -> tuple[int, int, int]:
    """(rows, synthetic rows, copies) in a folder's parquet files: a copy (`_repeat` > 0) of a synthetic row is a
    copy."""
    rows = synthetic = copies = 0
    for path in sorted(folder.glob("*.parquet")):
        frame = pl.read_parquet(path)
        repeat = pl.col("_repeat").fill_null(0) > 0 if "_repeat" in frame.columns else pl.lit(False)
        made = pl.col("_synthetic").fill_null(False) if "_synthetic" in frame.columns else pl.lit(False)
        counted = frame.select(pl.len(), (made & ~repeat).sum().alias("made"), repeat.sum().alias("copies")).row(0)
        rows, synthetic, copies = rows + counted[0], synthetic + int(counted[1]), copies + int(counted[2])
    return rows, synthetic, copies


def check_accounting(out: Path, records: int, log: str) -> str:
    """The accounting invariant counted from the files a run wrote (not from the engine's figures): every record
    read is curated or rejected, and data/ and rejects/ hold the rows steps added besides. Checks the manifest and
    the accounting line of `log` (the run's or `curate inspect`'s output) against it; returns that line."""
    rows, synthetic, copies = _made(out / "data")
    rejected_rows, synthetic_rejected, copies_rejected = _made(out / "rejects")
    curated, rejected = rows - synthetic - copies, rejected_rows - synthetic_rejected - copies_rejected
    assert records == curated + rejected
    acc = json.loads((out / "manifest.json").read_text())["accounting"]
    assert acc == {
        "rows_read": records,
        "curated_read": curated,
        "rejected_read": rejected,
        "rows_out": rows,
        "rows_rejected": rejected_rows,
        "added_out": synthetic + copies,
        "added_rejected": synthetic_rejected + copies_rejected,
        "synthetic_out": synthetic,
        "synthetic_rejected": synthetic_rejected,
        "repeats_out": copies,
        "repeats_rejected": copies_rejected,
        "ok": True,
    }
    line = f"accounting: {records:,} read = {curated:,} curated + {rejected:,} rejected (holds)"
    for folder, total, own, what, made in (
        ("data/", rows, curated, "curated", (synthetic, copies)),
        ("rejects/", rejected_rows, rejected, "rejected", (synthetic_rejected, copies_rejected)),
    ):
        added = [f"{n:,} {name}" for n, name in zip(made, ("synthetic", "copies")) if n]
        if added:
            line += f"; {folder} {total:,} rows = {own:,} {what} + " + " + ".join(added)
    assert line in log.splitlines(), log
    return line


def check_progress(log: str) -> None:
    """Every step's progress line adds up: rows in (+ rows it added) = kept + rejected."""
    import re

    steps = re.findall(
        r"^(?:\d+\. )?\w+: ([\d,]+) rows in(?: \+ ([\d,]+) added)?, ([\d,]+) kept, ([\d,]+) rejected", log, re.M
    )
    assert steps, log
    for rows_in, added, kept, rejected in steps:
        number = lambda s: int(s.replace(",", "") or 0)  # noqa: E731
        assert number(rows_in) + number(added) == number(kept) + number(rejected), (rows_in, added, kept, rejected)
