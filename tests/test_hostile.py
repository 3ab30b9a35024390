"""Hostile input and recipe attacks (issue 15), through the real command in a process with a memory limit: every
bad record is a reject with its reason and every row is accounted for; every attack is an exit-2 message with the
file and line; nothing prints a traceback; a full disk is a clear message and `--resume` finishes the run."""

import gzip
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from tests.conftest import ROOT, write_jsonl, write_recipe
from tests.test_engine import output_hashes

MEMORY = 2 << 30  # the quick start runs in this; the alias bomb grew past 22 GB
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


def curate(
    *args: str,
    cwd: Path,
    memory: int = MEMORY,
    file_size: int | None = None,
    timeout: float = 120,
    env: dict | None = None,
) -> subprocess.CompletedProcess:
    """`python -m curate ARGS` under a memory limit (RLIMIT_DATA: RLIMIT_AS would count the address space that
    allocators and threads reserve but never use), and a file size limit: a disk that fills up."""

    def limits():
        resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
        if file_size is not None:
            import signal

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    return subprocess.run(
        [sys.executable, "-m", "curate", *args],
        cwd=cwd,
        env=env or ENV,
        preexec_fn=limits,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def bad_input_corpus(tmp: Path) -> Path:
    """A folder of the bad input the issue found, with what each file must give (rows, rejects by reason)."""
    corpus = tmp / "corpus"
    write_jsonl(
        corpus / "a.jsonl",
        [
            {"text": "Good line one."},
            '{"text": "a \\ud800 b"}',  # a lone surrogate: crashed the run when the batch had a broken line
            "{broken",
            f'{{"text": "deep", "d": {nested(10_000)}}}',  # RecursionError in validate and in the reader
            "",
            '{"text": "Good line two, with a pair \\ud83d\\ude00."}',
            {"text": "  "},
        ],
    )
    (corpus / "b.jsonl.gz").write_bytes(gzip.compress(b"".join(b'{"text": "gz %d"}\n' % i for i in range(3))))
    (corpus / "c.jsonl.zst").write_bytes(pa.compress(b'{"text": "zst 1"}\n{"text": "zst 2"}\n', "zstd", asbytes=True))
    (corpus / "d.csv").write_text('id,text\n1,"good"\n2,"broken\n3,after\n4,last\n')  # an unterminated quote
    (corpus / "e.json").write_text(f'[{{"text": "x", "d": {nested(10_000)}}}]')
    pl.DataFrame({"text": [b"bytes ok", b"\xff\xfe"]}).write_parquet(corpus / "f.parquet")  # text kept as bytes
    (corpus / "g.txt").write_text("line one\n\nline two\n")
    write_jsonl(corpus / "h.jsonl", [{"text": "x" * 200_000}, {"text": "after a long line"}])  # kept only in part
    for empty in ("empty.jsonl", "empty.csv", "empty.json", "empty.parquet", "empty.txt"):
        (corpus / empty).write_bytes(b"")  # zero records each, not an error
    (corpus / "README.md").write_text("not data")
    (corpus / "sub").mkdir()
    os.symlink(".", corpus / "loop")  # two link loops: 41 copies of every row with one, a hang with two
    os.symlink("..", corpus / "sub" / "up")
    (tmp / "utf16.jsonl").write_bytes('{"text": "première"}\n{"text": "другая"}\n'.encode("utf-16"))
    return corpus


EXPECTED_ROWS = 2 + 3 + 2 + 3 + 0 + 1 + 2 + 1 + 2  # a, b, c, d, e, f, g, h, utf16
EXPECTED_REJECTS = {
    ("a.jsonl", 1, "unparseable"): "a lone surrogate '\\ud800' (half of a UTF-16 pair) is not text",
    ("a.jsonl", 2, "unparseable"): "broken JSON: Expecting property name enclosed in double quotes at column 2",
    ("a.jsonl", 3, "unparseable"): "JSON nested deeper than 100 levels",
    ("a.jsonl", 6, "empty_field:text"): "the text is empty",
    ("d.csv", 1, "unparseable"): "a quoted field is not closed before the end of the file: an "
    "unterminated quote? (reading goes on with the next line)",
    ("e.json", 0, "unparseable"): "JSON nested deeper than 100 levels",
    ("f.parquet", 1, "unparseable"): "a mapped column holds bytes that are not valid UTF-8",
    ("h.jsonl", 0, "too_large"): "the record is 200,012 bytes; max_record_bytes is 50,000 (its first "
    "50,000 bytes are kept in _raw)",
}


def test_the_bad_input_corpus_is_read_under_a_memory_limit_and_every_row_accounted_for(tmp_path):
    bad_input_corpus(tmp_path)
    write_recipe(
        tmp_path / "r.yaml",
        """\
name: hostile
sources:
  - path: corpus
  - path: utf16.jsonl
    encoding: utf-16
steps:
  - normalize: {}
output:
  dir: out
max_record_bytes: 50000
engine: {batch_bytes: 60000}
""",
    )
    checked = curate("validate", "r.yaml", cwd=tmp_path)
    assert checked.returncode == 0 and checked.stdout == "r.yaml: OK (2 sources, 14 files, 1 steps)\n", checked
    done = curate("run", "r.yaml", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = tmp_path / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    data = pl.read_parquet(out / "data" / "*.parquet")
    rejects = pl.read_parquet(out / "rejects" / "*.parquet")
    accounting = manifest["accounting"]
    assert accounting["ok"] and accounting["rows_read"] == data.height + rejects.height == EXPECTED_ROWS + len(
        EXPECTED_REJECTS
    )
    assert data.height == EXPECTED_ROWS and data["_id"].n_unique() == data.height  # no file read twice
    found = {(Path(r["_source"]).name, r["_row"], r["_reason"]): r["_detail"] for r in rejects.to_dicts()}
    assert found == EXPECTED_REJECTS
    assert sorted(data["text"].to_list()) == sorted(
        [
            "Good line one.",
            "Good line two, with a pair 😀.",
            "gz 0",
            "gz 1",
            "gz 2",
            "zst 1",
            "zst 2",
            "good",
            "after",
            "last",
            "bytes ok",
            "line one",
            "line two",
            "after a long line",
            "première",
            "другая",
        ]
    )
    empties = {Path(i["path"]).name: i["rows"] for i in manifest["inputs"] if Path(i["path"]).name.startswith("empty")}
    assert empties == {"empty.csv": 0, "empty.json": 0, "empty.jsonl": 0, "empty.parquet": 0, "empty.txt": 0}


BOMB = "name: bomb\n" + "".join(
    f"{a}: &{a} [{','.join([f'*{p}' if p else 'lol'] * 9)}]\n" for p, a in zip(["", *"abcdefgh"], "abcdefghi")
)
GOOD_SOURCE = "sources:\n  - path: in.jsonl\n"
ATTACKS = {
    "alias bomb": (
        BOMB,
        "r.yaml:7: YAML aliases here expand to more than 100,000 values (an alias bomb?); write "
        "the recipe without them",
    ),
    "recursive alias": (
        "name: x\nsources: &s\n  - path: *s\n",
        "r.yaml:2: a YAML alias refers to the node that contains it; a recipe can't be recursive",
    ),
    "deep nesting": ("name: x\nmeta: " + nested(10_000) + "\n", "r.yaml: the YAML nests deeper than 64 levels"),
    "rot13 encoding": (
        "name: x\nsources:\n  - path: in.jsonl\n    encoding: rot13\noutput: {dir: out}\n",
        "r.yaml:4:5: sources[0].encoding: 'rot13' is not a text encoding (e.g. utf-8, latin-1, cp1252, "
        "utf-16) (got 'rot13')",
    ),
    "zlib encoding": (
        "name: x\nsources:\n  - path: in.jsonl\n    encoding: zlib_codec\noutput: {dir: out}\n",
        "r.yaml:4:5: sources[0].encoding: 'zlib_codec' is not a text encoding (e.g. utf-8, latin-1, "
        "cp1252, utf-16) (got 'zlib_codec')",
    ),
    "huge batch": (
        f"name: x\n{GOOD_SOURCE}output: {{dir: out}}\nengine: {{batch_bytes: {10**21}}}\n",
        f"r.yaml:5:10: engine.batch_bytes: Input should be less than or equal to 1073741824 (got {10**21})",
    ),
    "any secret to any server": (
        f"name: x\n{GOOD_SOURCE}steps:\n  - paraphrase: {{backend: http, base_url: 'https://collector.example/v1', "
        "model: m, lang: fra, api_key_env: AWS_SECRET_ACCESS_KEY}\noutput: {dir: out}\n",
        "r.yaml:5:96: steps[0].paraphrase.api_key_env: a recipe may only read a key from a variable whose name ends in "
        "_API_KEY or _TOKEN, so that a shared recipe can't send other secrets to its server; to allow "
        "AWS_SECRET_ACCESS_KEY, set CURATE_ALLOW_KEY_ENV=AWS_SECRET_ACCESS_KEY (got 'AWS_SECRET_ACCESS_KEY')",
    ),
    "output into /": (
        f"name: x\n{GOOD_SOURCE}output: {{dir: /}}\n",
        "r.yaml:4:10: output.dir: / is not empty and is not a curate output (it holds ",
    ),
    "not parquet": (
        "name: x\nsources:\n  - path: fake.parquet\noutput: {dir: out}\n",
        "r.yaml:3:5: sources[0]: can't read fake.parquet: not a parquet file (parquet: File out of "
        "specification: The file must end with PAR1",
    ),
    "list text column": (
        "name: x\nsources:\n  - path: lists.parquet\noutput: {dir: out}\n",
        "r.yaml:3:5: sources[0].columns.text: column 'text' of lists.parquet holds a list "
        "(List(String)), not text; map a text column",
    ),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_recipe_attacks_are_exit_2_messages(tmp_path, attack):
    text, message = ATTACKS[attack]
    write_jsonl(tmp_path / "in.jsonl", [{"text": "x"}])
    (tmp_path / "fake.parquet").write_text("id,text\n1,this is a CSV file\n")
    pl.DataFrame({"text": [["a", "list"]]}).write_parquet(tmp_path / "lists.parquet")
    write_recipe(tmp_path / "r.yaml", text)
    for command in ("validate", "run"):
        result = curate(command, "r.yaml", cwd=tmp_path, timeout=60)
        assert result.returncode == 2, (command, result)
        assert result.stderr.startswith("error: invalid recipe") and f"\n  {message}" in result.stderr, (
            command,
            result,
        )
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_full_disk_is_a_clear_message_and_resume_finishes(tmp_path):
    """A write that fails for lack of room (here the file size limit, EFBIG, as a full disk gives ENOSPC) stopped the
    run with an OSError traceback: now a message naming the folder and the room needed; --resume cleans up and
    finishes, and the output is what an uninterrupted run writes."""
    write_jsonl(tmp_path / "in.jsonl", [{"text": f"row {i} " + "word " * (i % 40)} for i in range(20_000)])
    write_recipe(
        tmp_path / "r.yaml",
        "name: full\nsources:\n  - path: in.jsonl\nsteps:\n  - normalize: {}\noutput:\n  dir: out\n",
    )
    full = curate("run", "r.yaml", "--quiet", cwd=tmp_path, file_size=100_000)
    assert full.returncode == 1, full
    assert full.stderr.startswith("error: writing to out failed: File too large (the file size limit, ulimit -f). ")
    assert " are free there; this run has written " in full.stderr  # the inputs are 2.4 MB:
    assert full.stderr.rstrip().endswith(
        " and needs about 7.2 MB in all (2 stages of about 2.4 MB, and the output). "
        "Free some space or choose another output folder, then run the same command "
        "with --resume: the work done so far is kept"
    )
    assert "Traceback" not in full.stderr
    assert list((tmp_path / "out").rglob(".*.tmp-*"))  # what the failed write left
    resumed = curate("run", "r.yaml", "--quiet", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed
    assert not list((tmp_path / "out").rglob(".*.tmp-*"))
    reference = curate("run", "r.yaml", "--quiet", "--out", "reference", cwd=tmp_path)
    assert reference.returncode == 0 and output_hashes(tmp_path / "out") == output_hashes(tmp_path / "reference")


def test_a_full_disk_reported_by_polars_is_recognised(tmp_path, cli, monkeypatch):
    """polars reports ENOSPC in its own exception, with `(os error 28)` in the message."""
    write_jsonl(tmp_path / "in.jsonl", [{"text": "a row"}])
    write_recipe(tmp_path / "r.yaml", "name: full\nsources:\n  - path: in.jsonl\noutput:\n  dir: out\n")
    real = pl.DataFrame.write_parquet

    def full_disk(frame, path, *args, **kwargs):
        if "00-read" in str(path):
            raise pl.exceptions.ComputeError("parquet: underlying IO error: No space left on device (os error 28)")
        return real(frame, path, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full_disk)
    result = cli("run", "r.yaml", "--quiet", cwd=tmp_path)
    assert result.code == 1 and result.err.startswith("error: writing to out failed: No space left on device. "), result
    monkeypatch.setattr(pl.DataFrame, "write_parquet", real)
    assert cli("run", "r.yaml", "--resume", cwd=tmp_path).code == 0
