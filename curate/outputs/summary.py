"""Figures for the manifest and the card, counted from the files a run wrote (one column at a time)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import polars as pl

from curate.io.writers import write_json_atomic
from curate.outputs.workdir import StageDir


def value_counts(files: list[Path], column: str) -> dict[str, int]:
    """Rows per value of `column` over parquet files that have it, most frequent first."""
    counts: Counter = Counter()
    for f in files:
        if column in pl.read_parquet_schema(f):
            counts.update(
                {str(k): int(v) for k, v in pl.read_parquet(f, columns=[column])[column].value_counts().iter_rows()}
            )
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


LANGUAGES = "languages.json"


def languages_before(stages: list[StageDir], parts: list[str]) -> dict[str, int]:
    """Languages of all rows when language ID first tagged them (kept and rejected alike). Kept with the stage, so
    the figure outlives its raw rows (removed after a run when a pii step follows: curate.run.privacy)."""
    for stage in stages[1:]:
        saved = stage.path / LANGUAGES
        if saved.exists():
            return json.loads(saved.read_text(encoding="utf-8"))
        files = [stage.data(p) for p in parts]
        if files and files[0].exists() and "text_lang" in pl.read_parquet_schema(files[0]):
            counts = value_counts(files + stage.reject_files(parts), "text_lang")
            write_json_atomic(saved, counts)
            return counts
    return {}


def synthetic_by_origin(data_files: list[Path], reject_files: list[Path]) -> dict[str, dict[str, float]]:
    """Per origin (step and model) of synthetic rows: kept, rejected and the validation pass rate."""

    def origins(files: list[Path]) -> Counter:
        counts: Counter = Counter()
        for f in files:
            schema = pl.read_parquet_schema(f)
            if "_origin" in schema and "_synthetic" in schema:
                frame = pl.read_parquet(f, columns=["_origin", "_synthetic"]).filter(
                    pl.col("_synthetic").fill_null(False)
                )
                counts.update({str(k): int(v) for k, v in frame["_origin"].cast(pl.String).value_counts().iter_rows()})
        return counts

    kept, rejected = origins(data_files), origins(reject_files)
    return {
        o: {"kept": kept[o], "rejected": rejected[o], "pass_rate": round(kept[o] / (kept[o] + rejected[o]), 4)}
        for o in sorted(set(kept) | set(rejected))
    }


def accounting_line(acc: dict) -> str:
    """The accounting invariant as a line that adds up: rows read are curated or rejected; data/ and rejects/ also
    hold rows the steps added (synthetic rows, copies), counted apart."""
    line = (
        f"{acc['rows_read']:,} read = {acc['curated_read']:,} curated + {acc['rejected_read']:,} rejected "
        f"({'holds' if acc['ok'] else 'FAILED'})"
    )
    for folder, kind, own, what in (
        ("data/", "out", "curated_read", "curated"),
        ("rejects/", "rejected", "rejected_read", "rejected"),
    ):
        added = [
            f"{acc[f'{key}_{kind}']:,} {name}"
            for key, name in (("synthetic", "synthetic"), ("repeats", "copies"))
            if acc.get(f"{key}_{kind}")
        ]
        if added:
            line += f"; {folder} {acc[f'rows_{kind}']:,} rows = {acc[own]:,} {what} + " + " + ".join(added)
    return line


def thin_splits_note(thin: list[dict], stratify_by: str | None, minimum: int) -> str | None:
    """One line for the splits with few original rows, per stratum: `yid validation 2 (+4 copies), test 1`."""
    if not thin:
        return None
    by_stratum: dict[str, list[str]] = {}
    for t in thin:
        copies = f" (+{t['copies']:,} copies)" if t["copies"] else ""
        stratum = (t["stratum"] or f"(no {stratify_by})") if stratify_by else "all rows"
        by_stratum.setdefault(stratum, []).append(f"{t['split']} {t['originals']:,}{copies}")
    what = f"of a {stratify_by} " if stratify_by else ""
    return (
        f"splits with under {minimum} original rows {what}(copies are no new evidence; figures measured on them "
        "are noise): " + "; ".join(f"{s} {', '.join(parts)}" for s, parts in by_stratum.items())
    )


def card_languages(data_files: list[Path], recipe: dict) -> dict:
    """The dataset's languages for its card, and where they come from: the recipe's `card.languages` when given;
    else every field a `langid` step identified (rows under its `min_chars` are tagged but too short to trust, so
    they add no language) and the columns `card.language_columns` names (default: a `text_lang` column the sources
    bring, when no step identified `text`). `und` is no language."""
    card = recipe.get("card") or {}
    if card.get("languages"):
        return {"languages": sorted(card["languages"]), "from": ["`card.languages` in the recipe"]}
    sources = [
        (f"{s['langid']['field']}_lang", s["langid"]["field"], s["langid"].get("min_chars", 0))
        for s in recipe.get("steps", [])
        if "langid" in s
    ]
    named = card.get("language_columns") or ([] if any(c == "text_lang" for c, _, _ in sources) else ["text_lang"])
    sources += [(column, None, 0) for column in named]
    found: set[str] = set()
    for f in data_files:
        schema = pl.read_parquet_schema(f)
        for column, field, min_chars in sources:
            if column not in schema:
                continue
            frame = pl.read_parquet(f, columns=[column] + ([field] if field else []))
            long_enough = pl.col(field).str.len_chars() >= min_chars if field else pl.lit(True)
            found |= set(frame.filter(long_enough & pl.col(column).is_not_null())[column].cast(pl.String).to_list())
    found -= {"und", ""}
    described = [f"`{c}`" + (f" (texts of {m}+ characters)" if m else "") for c, _, m in dict.fromkeys(sources)]
    return {"languages": sorted(found), "from": described if found else []}


def input_encoding(stats: Counter, declared: str | None) -> dict | None:
    """What the read stage's figures say about one input file's encoding (None for columnar files): the encoding it
    was read with (`encoding`: detected, or as declared), how it was found, the records decoded on their own per encoding
    (`fallback`), and those no encoding read (`undecodable`, rejected as `unparseable` with their bytes)."""
    named = [key.split(":", 1)[1] for key in stats if key.startswith("file_encoding:")]
    if not named:
        return None
    how = next((key.split(":", 1)[1] for key in stats if key.startswith("detected_by:")), "")
    fallback = {key.split(":", 1)[1]: n for key, n in sorted(stats.items()) if key.startswith("fallback:")}
    return {
        "declared": declared,
        "encoding": named[0],
        "how": how,
        "fallback": sum(fallback.values()),
        "fallback_encodings": fallback,
        "undecodable": stats.get("undecodable", 0),
    }


def _listed(items: list[str], most: int = 5) -> str:
    return ", ".join(items[:most]) + (f" and {len(items) - most:,} more" if len(items) > most else "")


def encoding_notes(encodings: dict[str, dict]) -> list[str]:
    """What a user should know about the encodings of the inputs: files that are not UTF-8 though the recipe did not
    say so (read as `auto` reads them, not rejected line by line), and records decoded on their own."""
    guessed = [
        f"{path} ({e['encoding']}, {e['how']})"
        for path, e in encodings.items()
        if e["declared"] is None and e["encoding"] != "utf-8"
    ]
    notes = []
    if guessed:
        notes.append(
            f"not UTF-8, so read with the encoding detected (set `encoding:` on the source to choose one): "
            f"{_listed(guessed)}"
        )
    mixed = [
        f"{path} ({e['encoding']}): {e['fallback']:,} ("
        + ", ".join(f"{name} {n:,}" for name, n in e["fallback_encodings"].items())
        + ")"
        for path, e in encodings.items()
        if e["fallback"]
    ]
    if mixed:
        notes.append(f"records in another encoding than their file's, decoded on their own: {_listed(mixed)}")
    return notes
