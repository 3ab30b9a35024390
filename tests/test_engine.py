"""End to end through the CLI: the accounting invariant, determinism, caching, resume, bad input."""

import csv
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
import yaml

from tests.conftest import ROOT, check_accounting, check_progress, write_jsonl, write_recipe


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def output_hashes(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): sha(p) for p in sorted(out.glob("*/*.parquet"))}


def records_in_pairs() -> int:
    """Records in data/pairs: non-blank JSONL lines."""
    return sum(
        1 for f in (ROOT / "data" / "pairs").glob("*.jsonl") for line in f.read_bytes().split(b"\n") if line.strip()
    )


def records_in_sample() -> int:
    """Records in data/: non-blank JSONL lines plus CSV rows."""
    with open(ROOT / "data" / "wiki" / "paragraphs.csv", encoding="utf-8", newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    return records_in_pairs() + rows


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    out = tmp_path_factory.mktemp("quickstart") / "out"
    done = subprocess.run(
        [sys.executable, "-m", "curate", "run", "recipes/quickstart.yaml", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return out, done


def test_quickstart_accounts_for_every_row(quickstart):
    out, _ = quickstart
    manifest = json.loads((out / "manifest.json").read_text())
    data = pl.read_parquet(out / "data" / "*.parquet")
    rejects = pl.concat(
        [pl.read_parquet(p).select("_id", "_step", "_reason") for p in sorted((out / "rejects").glob("*.parquet"))]
    )
    line = check_accounting(out, records_in_sample(), quickstart[1].stderr)
    assert line.endswith(" copies") and manifest["accounting"]["repeats_out"] > 0  # balancing's copies count apart
    check_progress(quickstart[1].stderr)
    assert data["_id"].n_unique() == data.height and set(data["_id"]).isdisjoint(rejects["_id"])
    read = rejects.filter(pl.col("_step") == "read")["_reason"].value_counts().sort("_reason").rows()
    # the planted bad records of data/MESS.md: 4 broken JSON lines + 1 invalid UTF-8, 3 missing src, 5 empty src
    assert read == [("empty_field:text", 5), ("missing_field:text", 3), ("unparseable", 5)]
    assert sum(s["rows_rejected"] for s in manifest["steps"]) == rejects.height


def test_inspect_states_the_accounting(quickstart, cli):
    out, _ = quickstart
    shown = cli("inspect", str(out))
    assert shown.code == 0
    check_accounting(out, records_in_sample(), shown.out)
    notes = [line.split(":")[0] for line in shown.out.splitlines() if line.startswith(("note: ", "warning "))]
    balance = next(
        s["index"] for s in json.loads((out / "manifest.json").read_text())["steps"] if s["name"] == "balance"
    )
    assert notes == [f"warning balance (step {balance})", "note"]  # the copies per target language; the thin splits


def test_every_recipe_has_its_accounting_checked():
    """Each recipe in recipes/ runs end to end in a test that counts its accounting from the files it wrote:
    quickstart (above), review (below), augment (tests/augment/test_recipe.py, with tiny models), web
    (tests/stages/test_boilerplate.py)."""
    assert sorted(p.name for p in (ROOT / "recipes").glob("*.yaml")) == [
        "augment.yaml",
        "quickstart.yaml",
        "review.yaml",
        "web.yaml",
    ]


def test_review_recipe_offline_says_what_was_queued_and_what_next(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "curate", "run", "recipes/review.yaml", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    check_accounting(out, records_in_pairs(), done.stderr)
    check_progress(done.stderr)
    queued = pl.read_parquet(next(out.glob(".curate/*-review-*/review/queue.parquet"))).height
    assert done.stderr.splitlines()[-1] == (
        f"note: {queued} of {queued} rows queued for review have no answer yet (kept unreviewed); to review "
        f"them: `curate review export {out} review.csv`, fill in `decision` (and corrections), `curate review import "
        f"{out} review.csv`; or send them to Argilla with `curate review push {out}`; then `curate run "
        f"recipes/review.yaml --out {out} --resume` applies the answers"
    )


def test_quickstart_balancing_lifts_the_rare_target_languages(quickstart):
    """Pairs are balanced by target language: no real row is dropped, the small targets gain copies (alpha 0.5, at
    most 2 copies of a row), and the paragraphs (no target) stay as they are."""
    out, done = quickstart
    data = pl.read_parquet(out / "data" / "*.parquet")
    assert not list((out / "rejects").glob("*-balance.parquet"))
    originals = dict(data.filter(pl.col("_repeat") == 0).group_by("tgt_lang").len().iter_rows())
    copies = dict(data.filter(pl.col("_repeat") > 0).group_by("tgt_lang").len().iter_rows())
    largest = max(n for lang, n in originals.items() if lang is not None)
    for lang, n in originals.items():
        wanted = 0 if lang is None else min(math.floor(largest * (n / largest) ** 0.5 + 0.5), 3 * n) - n
        assert copies.get(lang, 0) == wanted, lang
    assert [lang for lang in ("yid", "gla", "swh") if copies[lang] > 0] == ["yid", "gla", "swh"]
    assert copies["yid"] == 2 * originals["yid"]  # the cap on copies binds for the smallest
    note = next(line for line in done.stderr.splitlines() if line.startswith("warning: ") and ". balance: " in line)
    assert note.endswith(
        f"; real rows dropped (over quota): none; {originals[None]} rows without tgt_lang kept as they are"
    )
    assert f"yid {originals['yid']} + {copies['yid']} (3.0x)" in note
    # splits of a target language with under 10 original rows are flagged, counted here from the shards
    shards = pl.concat(
        [
            pl.read_parquet(p).with_columns(pl.lit(p.name.split("-")[0]).alias("split"))
            for p in (out / "data").glob("*.parquet")
        ],
        how="diagonal_relaxed",
    )
    counts = shards.group_by("tgt_lang", "split").agg(
        (pl.col("_repeat") == 0).sum().alias("n"), (pl.col("_repeat") > 0).sum().alias("c")
    )
    thin = {}
    for lang, split, n, c in (
        counts.filter(pl.col("n") < 10)
        .sort("tgt_lang", pl.col("split").replace_strict({"train": 0, "validation": 1, "test": 2}))
        .iter_rows()
    ):
        thin.setdefault(lang, []).append(f"{split} {n}" + (f" (+{c} copies)" if c else ""))
    assert {"gla", "yid"} <= set(thin)
    listed = "; ".join(lang + " " + ", ".join(parts) for lang, parts in thin.items())
    assert (
        f"note: splits with under 10 original rows of a tgt_lang (copies are no new evidence; figures measured on "
        f"them are noise): {listed}"
    ) in done.stderr.splitlines()


def test_quickstart_scrubs_the_planted_pii(quickstart):
    out, _ = quickstart
    manifest = json.loads((out / "manifest.json").read_text())
    pii = next(s for s in manifest["steps"] if s["name"] == "pii")["stats"]
    # data/MESS.md plants 3 emails, 3 phone numbers, 2 cards, 2 IBANs and 2 IP addresses
    assert {k: v for k, v in pii.items() if k.startswith("pii:")} == {
        "pii:credit_card": 2,
        "pii:email": 3,
        "pii:iban": 2,
        "pii:ip": 2,
        "pii:phone": 3,
    }
    rows = pl.concat(
        [pl.read_parquet(out / "data" / "*.parquet"), *map(pl.read_parquet, (out / "rejects").glob("*.parquet"))],
        how="diagonal_relaxed",
    )  # a pair whose source holds what its target lacks is rejected by `pairs`
    text = " ".join(rows["text"].drop_nulls().to_list())
    for planted in ("jane.doe@example.org", "4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32"):
        assert planted not in text
    assert "<EMAIL>" in text and "| `email` | 3 |" in (out / "README.md").read_text()


def test_quickstart_output_layout_and_card(quickstart):
    out, done = quickstart
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00001.parquet",
        "validation-00000-of-00001.parquet",
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["splits"]) == ["train", "validation", "test"]
    assert manifest["recipe"]["steps"][0]["normalize"]["unicode"] == "NFC"
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert [s["name"] for s in manifest["steps"]][:3] == ["read", "normalize", "length"]
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "configs:" in card and "path: data/train-*.parquet" in card
    assert "CC-BY-2.0-FR" in card and manifest["recipe_hash"] in card
    # languages: `text` of 20+ characters (English sentences; the paragraphs in ar de el en es hi ro ru th tr vi zh,
    # data/SOURCE.md) and the pairs' targets (`card.language_columns: [tgt_lang]`: fra spa deu swh gla yid)
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["language"] == [
        "ar",
        "de",
        "el",
        "en",
        "es",
        "fr",
        "gd",
        "hi",
        "ro",
        "ru",
        "sw",
        "th",
        "tr",
        "vi",
        "yi",
        "zh",
    ]
    assert "accounting: 1,742 read = " in done.stderr and " rejected (holds)" in done.stderr


def test_shards_load_with_datasets(quickstart):
    datasets = pytest.importorskip("datasets")
    out, _ = quickstart
    loaded = datasets.load_dataset("parquet", data_dir=str(out / "data"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert {name: loaded[name].num_rows for name in loaded} == manifest["splits"]
    assert {"_id", "_source", "_row", "text", "target"} <= set(loaded["train"].column_names)


def test_quickstart_splits_follow_the_fractions(quickstart):
    out, _ = quickstart
    manifest = json.loads((out / "manifest.json").read_text())
    total = sum(manifest["splits"].values())
    assert 0.85 < manifest["splits"]["train"] / total < 0.95  # train: 0.9


def small_project(tmp: Path, n: int = 300, steps: str = "  - normalize: {}\n  - length: {min_chars: 3}") -> Path:
    records = [{"text": f"Sentence number {i}, with some words." if i % 10 else "ab", "lang": "eng"} for i in range(n)]
    write_jsonl(tmp / "in" / "a.jsonl", records[: n // 2] + ["{broken"])
    write_jsonl(tmp / "in" / "b.jsonl", records[n // 2 :])
    return write_recipe(
        tmp / "r.yaml",
        f"""\
name: small
seed: 1
sources:
  - path: in/*.jsonl
steps:
{steps}
output:
  dir: out
  splits: {{train: 0.5, validation: 0.25, test: 0.25}}
  max_rows_per_shard: 50
engine:
  batch_rows: 40
""",
    )


def test_byte_identical_runs_and_sharding(tmp_path, cli):
    small_project(tmp_path)
    assert cli("run", "r.yaml", "--out", "o1", cwd=tmp_path).code == 0
    assert cli("run", "r.yaml", "--out", "o2", cwd=tmp_path).code == 0
    first, second = output_hashes(tmp_path / "o1"), output_hashes(tmp_path / "o2")
    assert first == second
    train = sorted(p.name for p in (tmp_path / "o1" / "data").glob("train-*"))
    assert train == ["train-00000-of-00003.parquet", "train-00001-of-00003.parquet", "train-00002-of-00003.parquet"]
    assert [pl.read_parquet(tmp_path / "o1" / "data" / n).height for n in train][:2] == [50, 50]
    rejects = pl.read_parquet(tmp_path / "o1" / "rejects" / "02-length.parquet")
    assert rejects["_reason"].unique().to_list() == ["length:too_short"] and rejects.height == 30


def split_of_each_row(out: Path) -> dict[str, str]:
    return {
        row_id: path.name.split("-")[0]
        for path in sorted((out / "data").glob("*.parquet"))
        for row_id in pl.read_parquet(path, columns=["_id"])["_id"]
    }


def test_the_split_of_a_row_depends_on_the_seed_not_on_batches(tmp_path, cli):
    recipe = small_project(tmp_path)
    assert cli("run", "r.yaml", "--out", "seed1", cwd=tmp_path).code == 0
    recipe.write_text(recipe.read_text().replace("batch_rows: 40", "batch_rows: 7"))
    assert cli("run", "r.yaml", "--out", "batches7", cwd=tmp_path).code == 0
    recipe.write_text(recipe.read_text().replace("seed: 1", "seed: 2"))
    assert cli("run", "r.yaml", "--out", "seed2", cwd=tmp_path).code == 0
    seed1, batches7, seed2 = (split_of_each_row(tmp_path / name) for name in ("seed1", "batches7", "seed2"))
    assert len(seed1) == 270 and seed1 == batches7  # 300 rows, 30 too short; other batches, the same splits
    assert seed2.keys() == seed1.keys()  # the same rows...
    moved = sum(seed1[i] != seed2[i] for i in seed1)  # ...split again: two random 50/25/25 splits agree on 37.5%
    assert moved > 270 // 3, moved
    for split in (seed1, seed2):
        assert sorted(Counter(split.values()).values()) == [67, 68, 135]  # 0.5 / 0.25 / 0.25 of 270 rows


def test_rerun_is_a_noop_and_a_change_recomputes_only_later_steps(tmp_path, cli):
    recipe = small_project(tmp_path)
    assert cli("run", "r.yaml", cwd=tmp_path).code == 0
    again = cli("run", "r.yaml", cwd=tmp_path)
    assert again.code == 0 and "nothing to do: out is up to date" in again.err
    recipe.write_text(recipe.read_text().replace("min_chars: 3", "min_chars: 40"))
    changed = cli("run", "r.yaml", cwd=tmp_path)
    assert changed.code == 0
    steps = json.loads((tmp_path / "out" / "manifest.json").read_text())["steps"]
    assert [(s["name"], s["cached"]) for s in steps] == [("read", True), ("normalize", True), ("length", False)]
    assert steps[2]["reasons"] == {"length:too_short": 300}
    assert "1. normalize: 300 rows in, 300 kept, 0 rejected (cached)" in changed.err
    # an edited input invalidates everything
    write_jsonl(tmp_path / "in" / "b.jsonl", [{"text": "A new file content."}])
    assert cli("run", "r.yaml", cwd=tmp_path).code == 0
    steps = json.loads((tmp_path / "out" / "manifest.json").read_text())["steps"]
    assert [s["cached"] for s in steps] == [False, False, False] and steps[0]["rows_in"] == 152


def test_output_dir_resolves_against_the_same_folder_as_the_sources(tmp_path, cli):
    """Run from another folder, a recipe whose sources are found next to it also writes next to it, and says where."""
    small_project(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    result = cli("run", "../r.yaml", cwd=tmp_path / "elsewhere")
    assert result.code == 0, result.err
    assert result.err.splitlines()[0] == f"output: ../out (= {tmp_path / 'out'})"
    # 300 records + 1 broken line; every 10th text is "ab", under min_chars 3
    assert result.err.splitlines()[-2:] == [
        "wrote ../out: 270 rows in data/, 31 in rejects/",
        "accounting: 301 read = 270 curated + 31 rejected (holds)",
    ]
    assert (tmp_path / "out" / "manifest.json").is_file() and list((tmp_path / "elsewhere").iterdir()) == []
    # from the project folder: the same output, already up to date
    again = cli("run", "r.yaml", cwd=tmp_path)
    assert again.err.splitlines() == [
        f"output: out (= {tmp_path / 'out'})",
        "nothing to do: out is up to date with this recipe and its inputs",
    ]
    # sources split between the two folders: one rule for all, so it is an error that says so
    write_jsonl(tmp_path / "elsewhere" / "extra.jsonl", [{"text": "Only here."}])
    (tmp_path / "r.yaml").write_text(
        (tmp_path / "r.yaml").read_text().replace("  - path: in/*.jsonl", "  - path: in/*.jsonl\n  - path: extra.jsonl")
    )
    mixed = cli("validate", "r.yaml", cwd=tmp_path)
    assert mixed.code == 2
    assert mixed.err.splitlines()[1] == (
        f"  r.yaml:5:5: sources[1].path: no file matches 'extra.jsonl' (looked in {tmp_path})"
    )
    from_elsewhere = cli("validate", "../r.yaml", cwd=tmp_path / "elsewhere")
    assert from_elsewhere.err.splitlines()[1] == (
        f"  ../r.yaml:4:5: sources[0].path: no file matches 'in/*.jsonl' (looked in {tmp_path / 'elsewhere'} and in "
        f"{tmp_path}); it matches relative to the recipe's folder, but the other sources do not: write every path "
        "relative to one folder"
    )


def test_after_an_interruption_a_plain_run_says_what_it_reuses(tmp_path, cli):
    small_project(tmp_path, steps="  - normalize: {}\n  - length: {min_chars: 3}\n  - filter: {column: lang, eq: eng}")
    assert cli("run", "r.yaml", cwd=tmp_path).code == 0
    # as if killed while step 2 ran: its folder is there, unfinished, and no manifest marks the run done
    (tmp_path / "out" / "manifest.json").unlink()
    (next((tmp_path / "out" / ".curate").glob("02-length-*")) / "_SUCCESS.json").unlink()
    (next((tmp_path / "out" / ".curate").glob("03-filter-*")) / "_SUCCESS.json").unlink()
    result = cli("run", "r.yaml", cwd=tmp_path)
    assert result.code == 0
    assert result.err.splitlines()[1] == (
        "an interrupted run left work in out/.curate: reusing the 2 steps it finished "
        "(read, normalize); 2. length, 3. filter start over (use --resume to continue "
        "from the last finished batch)"
    )
    steps = json.loads((tmp_path / "out" / "manifest.json").read_text())["steps"]
    assert [s["cached"] for s in steps] == [True, True, False, False]
    (tmp_path / "out" / "manifest.json").unlink()
    (next((tmp_path / "out" / ".curate").glob("03-filter-*")) / "_SUCCESS.json").unlink()
    resumed = cli("run", "r.yaml", "--resume", cwd=tmp_path)
    assert resumed.err.splitlines()[1] == (
        "an interrupted run left work in out/.curate: reusing the 3 steps it finished "
        "(read, normalize, length); 3. filter continues from the last finished batch"
    )


def test_limit_reads_the_first_records(tmp_path, cli):
    small_project(tmp_path)
    result = cli("run", "r.yaml", "--limit", "25", cwd=tmp_path)
    assert result.code == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["accounting"]["rows_read"] == 25 and manifest["limit"] == 25
    assert manifest["inputs"][0]["rows"] == 25 and manifest["inputs"][1]["rows"] == 0


def test_on_bad_input_fail_names_file_and_line(tmp_path, cli):
    recipe = small_project(tmp_path)
    recipe.write_text(recipe.read_text().replace("seed: 1", "seed: 1\non_bad_input: fail"))
    result = cli("run", "r.yaml", cwd=tmp_path)
    assert result.code == 1
    assert "in/a.jsonl, line 151: unparseable: broken JSON" in result.err and "Traceback" not in result.err


def test_inspect_and_steps(tmp_path, cli):
    small_project(tmp_path)
    cli("run", "r.yaml", cwd=tmp_path)
    shown = cli("inspect", "out", cwd=tmp_path)
    assert shown.code == 0 and "length:too_short" in shown.out and "holds" in shown.out
    missing = cli("inspect", "nowhere", cwd=tmp_path)
    assert missing.code == 1 and "no manifest.json here" in missing.err
    listed = cli("steps")
    assert listed.code == 0 and "min_chars" in listed.out and "normalize" in listed.out


def test_readme_step_reference_is_generated():
    from curate.cli.docs import markdown

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- steps:start -->\n", "<!-- steps:end -->"
    assert start in readme, "README.md lacks the generated step reference"
    current = readme.split(start, 1)[1].split(end, 1)[0]
    assert current == markdown(), "README's step reference is stale: run `python -m curate.cli.docs`"


def stage_folder(out: Path, index: int) -> Path | None:
    found = sorted((out / ".curate").glob(f"{index:02d}-*"))
    return found[0] if found else None


def finished_parts(out: Path, index: int) -> dict[str, tuple[int, int]]:
    """A stage's finished parts (their data file is written last, atomically): name -> (inode, mtime), which change
    if the part is written again."""
    folder = stage_folder(out, index)
    if folder is None:
        return {}
    data = [p for p in folder.glob("*.parquet") if not p.name.endswith(".rejects.parquet") and p.name[:6] != "state-"]
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in data}


def is_finished(out: Path, index: int) -> bool:
    folder = stage_folder(out, index)
    return folder is not None and (folder / "_SUCCESS.json").exists()


def reached(out: Path, stage: int | None, last: int = 3) -> bool:
    """The run has finished a part of `stage`, or (None) every stage up to `last`: it is writing the output."""
    return bool(finished_parts(out, stage)) if stage is not None else is_finished(out, last)


@pytest.mark.slow
def test_kill_9_at_any_point_then_resume_gives_identical_output(tmp_path):
    """Kill the run in each stage (reading, each step, writing the output), as soon as the work folder shows it got
    there, and resume: the kill landed before the run ended, the resumed run reuses every part finished before the
    kill and does the rest, and the output equals an uninterrupted run's, byte for byte."""
    n = 60_000
    rows = [
        {"text": f"Ligne numéro {i} : une phrase « française » assez ordinaire, n° {i % 97}.", "k": i} for i in range(n)
    ]
    for i in range(0, n, 997):
        rows[i] = "{not json"
    write_jsonl(tmp_path / "in" / "big.jsonl", rows)
    write_recipe(
        tmp_path / "r.yaml",
        """\
name: big
sources:
  - path: in/*.jsonl
steps:
  - normalize: {}
  - length: {min_chars: 10}
  - filter: {column: k, ge: 100}
output:
  dir: out
  splits: {train: 0.9, test: 0.1}
  max_rows_per_shard: 20000
engine:
  batch_rows: 3000
""",
    )
    command = [sys.executable, "-m", "curate", "run", "r.yaml", "--quiet"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run(command + ["--out", "reference"], cwd=tmp_path, check=True, env=env)
    reference = output_hashes(tmp_path / "reference")
    stages = range(4)  # read, normalize, length, filter
    # (where, the stage the kill must land in: None while the output is written, after every stage)
    for label, unfinished in [*((f"in stage {i}", i) for i in stages), ("while writing the output", None)]:
        out = tmp_path / f"killed-{label.replace(' ', '-')}"
        process = subprocess.Popen(command + ["--out", out.name], cwd=tmp_path, env=env)
        while process.poll() is None and not reached(out, unfinished):  # bounded: the run ends by itself
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL, f"the run ended before the kill {label}"
        assert not (out / "manifest.json").exists()  # written last: the run was not finished
        finished = [is_finished(out, i) for i in stages]
        assert finished == [unfinished is None or i < unfinished for i in stages], f"the kill {label} landed late"
        at_kill = {i: finished_parts(out, i) for i in stages}
        resumed = subprocess.run(
            command + ["--out", out.name, "--resume"], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert resumed.returncode == 0, resumed.stderr
        assert output_hashes(out) == reference, f"output differs after a kill {label}"
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["accounting"]["ok"]
        assert [s["cached"] for s in manifest["steps"]] == finished  # finished stages are reused whole
        for i in stages:
            after = finished_parts(out, i)
            redone = [p for p in at_kill[i] if after[p] != at_kill[i][p]]
            assert not redone, f"stage {i}: parts finished before the kill were written again: {redone}"
            assert len(after) == len(finished_parts(tmp_path / "reference", i))  # and the rest was done
        assert not list(out.rglob(".*.tmp-*"))


def test_stratify_by_a_column_only_some_sources_have(tmp_path, cli):
    write_jsonl(tmp_path / "a.jsonl", [{"text": f"pair {i}", "grp": "xx" if i % 5 else "yy"} for i in range(100)])
    write_jsonl(tmp_path / "b.jsonl", [{"text": f"paragraph {i}"} for i in range(40)])
    write_recipe(
        tmp_path / "r.yaml",
        """\
name: strat
sources:
  - path: a.jsonl
  - path: b.jsonl
output:
  dir: out
  splits: {train: 0.8, test: 0.2}
  stratify_by: grp
""",
    )
    assert cli("run", "r.yaml", cwd=tmp_path).code == 0
    frames = [
        pl.read_parquet(p).with_columns(pl.lit(p.name.split("-")[0]).alias("split"))
        for p in (tmp_path / "out" / "data").glob("*.parquet")
    ]
    counts = dict(
        pl.concat(frames, how="diagonal_relaxed")
        .group_by("grp", "split")
        .len()
        .select(pl.concat_str([pl.col("grp").fill_null("none"), "split"], separator="/"), "len")
        .iter_rows()
    )
    assert counts == {"xx/train": 64, "xx/test": 16, "yy/train": 16, "yy/test": 4, "none/train": 32, "none/test": 8}
