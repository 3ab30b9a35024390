"""Resolving sources: globs and folders follow links to folders, but each real folder once and each file once."""

import gzip
import json
import os
import time

from curate.run.recipe import Source
from curate.run.sources import resolve_source
from tests.conftest import write_jsonl, write_recipe


def corpus_with_link_loops(tmp):
    """corpus/d/e/up -> corpus/d and corpus/d/e/up2 -> corpus: `**` used to read a.jsonl 41 times with one loop
    and to hang with two."""
    write_jsonl(tmp / "corpus" / "d" / "a.jsonl", [{"text": "a"}])
    write_jsonl(tmp / "corpus" / "d" / "e" / "b.jsonl", [{"text": "b"}])
    os.symlink("..", tmp / "corpus" / "d" / "e" / "up")
    os.symlink("../..", tmp / "corpus" / "d" / "e" / "up2")
    write_jsonl(tmp / "elsewhere" / "c.jsonl", [{"text": "c"}])
    os.symlink("../elsewhere", tmp / "corpus" / "linked")  # a link to a folder: followed
    os.symlink("a.jsonl", tmp / "corpus" / "d" / "alias.jsonl")  # a second name for a file: read once
    write_jsonl(tmp / "corpus" / ".git" / "hidden.jsonl", [{"text": "not data"}])
    (tmp / "corpus" / "d" / "README.md").write_text("about")
    (tmp / "corpus" / "d" / "z.jsonl.gz").write_bytes(gzip.compress(b'{"text": "z"}\n'))


def keys(tmp, path):
    resolved = resolve_source(0, Source(path=path), tmp)
    return [f.key for f in resolved.files]


def test_globs_and_folders_read_each_file_once_despite_link_loops(tmp_path, monkeypatch):
    corpus_with_link_loops(tmp_path)
    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    assert keys(tmp_path, "corpus/**/*.jsonl") == ["corpus/d/a.jsonl", "corpus/d/e/b.jsonl", "corpus/linked/c.jsonl"]
    assert keys(tmp_path, "corpus") == [
        "corpus/d/a.jsonl",
        "corpus/d/z.jsonl.gz",
        "corpus/d/e/b.jsonl",
        "corpus/linked/c.jsonl",
    ]
    assert keys(tmp_path, "corpus/d/*.jsonl") == ["corpus/d/a.jsonl"]
    assert time.perf_counter() - started < 5


def test_a_run_over_link_loops_reads_every_record_once(tmp_path, cli):
    corpus_with_link_loops(tmp_path)
    write_recipe(tmp_path / "r.yaml", "name: l\nsources:\n  - path: corpus/**/*.jsonl*\noutput:\n  dir: out\n")
    result = cli("run", "r.yaml", cwd=tmp_path)
    assert result.code == 0, result
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["accounting"]["rows_read"] == 4
    assert [i["path"] for i in manifest["inputs"]] == [
        "corpus/d/a.jsonl",
        "corpus/d/e/b.jsonl",
        "corpus/d/z.jsonl.gz",
        "corpus/linked/c.jsonl",
    ]
