"""The dataset card (`OUT/README.md`, Hugging Face format), written from the manifest and nothing else.

No row content goes into the card: only counts, hashes and the recipe. PII appears as counts per kind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from curate.core.languages import language_key
from curate.core.markdown import table
from curate.io.writers import write_text_atomic
from curate.outputs.summary import accounting_line, thin_splits_note

# Licence ids the Hugging Face Hub knows, for the ones recipes usually name.
_HUB_LICENSES = {
    "apache-2.0",
    "mit",
    "bsd-2-clause",
    "bsd-3-clause",
    "cc0-1.0",
    "cc-by-2.0",
    "cc-by-2.5",
    "cc-by-3.0",
    "cc-by-4.0",
    "cc-by-sa-3.0",
    "cc-by-sa-4.0",
    "cc-by-nc-4.0",
    "cc-by-nc-sa-4.0",
    "cc-by-nd-4.0",
    "cc-by-nc-nd-4.0",
    "odc-by",
    "odbl",
    "pddl",
    "gpl-3.0",
    "lgpl-3.0",
    "agpl-3.0",
    "unknown",
    "other",
}


def size_category(rows: int) -> str:
    bounds = [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
        (1_000_000_000, "100M<n<1B"),
    ]
    return next((label for bound, label in bounds if rows < bound), "1B<n<10B")


def card_header(manifest: dict[str, Any]) -> dict[str, Any]:
    recipe = manifest["recipe"]
    card = recipe.get("card") or {}
    header: dict[str, Any] = {}
    if card.get("pretty_name"):
        header["pretty_name"] = card["pretty_name"]
    languages = (manifest.get("card_languages") or {}).get("languages", [])
    if languages:
        # ISO 639-1 where there is one (the Hub's preference), through the macrolanguage: `swh` is `sw`
        header["language"] = sorted({language_key(lang) or lang for lang in languages})
    given = sorted({str(i["meta"]["license"]) for i in manifest["inputs"] if i["meta"].get("license")})
    known = [g.lower() for g in given if g.lower() in _HUB_LICENSES]
    unknown = [g for g in given if g.lower() not in _HUB_LICENSES]
    if given:
        header["license"] = (known + (["other"] if unknown else [])) if len(given) > 1 else (known or ["other"])[0]
        if unknown:
            header["license_name"] = ", ".join(unknown)
    header["size_categories"] = [size_category(manifest["accounting"]["rows_out"])]
    if card.get("task_categories"):
        header["task_categories"] = card["task_categories"]
    header["tags"] = ["curate"]
    header["configs"] = [
        {
            "config_name": "default",
            "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in manifest["splits"]],
        }
    ]
    return header


def encoding_cell(encoding: dict[str, Any] | None) -> str:
    """`cp1251 (detected: chardet, confidence 0.98); 30 records decoded on their own (utf-8 30)`, or — for columnar
    files."""
    if not encoding:
        return "—"
    cell = encoding["encoding"] + (
        f" (detected: {encoding['how']})"
        if encoding["declared"] != encoding["encoding"] and encoding["how"] != "declared"
        else ""
    )
    if encoding["fallback"]:
        cell += (
            f"; {encoding['fallback']:,} records decoded on their own ("
            + ", ".join(f"{name} {n:,}" for name, n in encoding["fallback_encodings"].items())
            + ")"
        )
    if encoding["undecodable"]:
        cell += f"; {encoding['undecodable']:,} in no encoding tried (rejected, bytes kept)"
    return cell


def _sources(m: dict[str, Any]) -> str:
    rows = [
        [
            f"`{i['path']}`",
            i["format"],
            encoding_cell(i.get("encoding")),
            i["meta"].get("license", "not given"),
            i["meta"].get("origin", ""),
            f"{i['rows']:,}",
            f"`{i['sha256']}`" if i["sha256"] else "—",
        ]
        for i in m["inputs"]
    ]
    return table(rows, ["file", "format", "encoding", "licence", "origin", "rows read", "sha256"])


def _funnel(m: dict[str, Any]) -> str:
    acc = m["accounting"]
    rows = [
        [
            s["index"],
            s["name"],
            f"{s['rows_in']:,}",
            f"{s.get('rows_added', 0):,}",
            f"{s['rows_out']:,}",
            f"{s['rows_rejected']:,}",
            ", ".join(f"`{k}` {v:,}" for k, v in s["reasons"].items()),
            f"{s['seconds']:.2f}s",
        ]
        for s in m["steps"]
    ]
    return (
        f"Every row read is accounted for: {accounting_line(acc)}. Rows the steps added (synthetic rows, copies) are "
        "counted apart from the rows read. Rejected rows are in `rejects/`, each with the step (`_step`) and reason "
        "(`_reason`) that removed it.\n\n"
        + table(rows, ["#", "step", "rows in", "added", "kept", "rejected", "reasons", "time"])
    )


def _languages(m: dict[str, Any]) -> str | None:
    after, before = m.get("languages") or {}, m.get("languages_before") or {}
    declared = m.get("card_languages") or {}
    intro = (
        f"The card's languages (`language:` above) come from {' and '.join(declared['from'])}.\n\n"
        if declared.get("languages")
        else ""
    )
    if not after and not before:
        return intro.strip() or None
    langs = sorted(set(after) | set(before), key=lambda k: (-after.get(k, 0), -before.get(k, 0), k))
    total_b, total_a = sum(before.values()) or 1, sum(after.values()) or 1
    rows = [
        [
            f"`{k}`",
            f"{before.get(k, 0):,}",
            f"{before.get(k, 0) / total_b:.1%}",
            f"{after.get(k, 0):,}",
            f"{after.get(k, 0) / total_a:.1%}",
        ]
        for k in langs
    ]
    return (
        intro
        + "Languages of `text` (ISO 639-3) when language ID tagged them, and in the curated output.\n\n"
        + table(rows, ["language", "before", "share", "after", "share"])
    )


def _synthetic(m: dict[str, Any]) -> str | None:
    origins = m.get("synthetic") or {}
    if not origins:
        return None
    total = m["accounting"]["rows_out"] or 1
    rows = [
        [f"`{o}`", f"{v['kept']:,}", f"{v['kept'] / total:.1%}", f"{v['rejected']:,}", f"{v['pass_rate']:.1%}"]
        for o, v in origins.items()
    ]
    return (
        "Synthetic rows per origin (step and model), the share of the output they make, and how many passed "
        "validation.\n\n" + table(rows, ["origin", "kept", "share of output", "rejected", "pass rate"])
    )


def _step_sections(m: dict[str, Any], place: str) -> list[tuple[str, str | None]]:
    """The sections steps write about themselves (`Step.card_sections`) that go in `place`, in recipe order."""
    return [(s["title"], s["text"]) for s in m.get("card_sections") or [] if s["place"] == place]


def _limitations(m: dict[str, Any]) -> str:
    notes = list((m["recipe"].get("card") or {}).get("limitations", []))
    notes += [f"{s['name']} (step {s['index']}): {note}" for s in m["steps"] for note in s.get("notes") or []]
    after = m.get("languages") or {}
    small = [k for k, v in after.items() if v < 100]
    if small:
        notes.append(f"Few rows (under 100) for: {', '.join(f'`{k}`' for k in small)}; figures for them are noisy.")
    if m["accounting"]["repeats_out"]:
        notes.append(
            f"{m['accounting']['repeats_out']:,} rows are copies added by balancing (`_repeat` > 0); "
            "they stay in the split of their original."
        )
    output = m["recipe"]["output"]
    thin = thin_splits_note(m.get("thin_splits") or [], output.get("stratify_by"), output.get("min_originals", 0))
    if thin:
        notes.append(thin[0].upper() + thin[1:] + ".")
    if m.get("languages"):
        notes.append(
            "Language labels come from automatic language identification and are wrong for some short or "
            "mixed-language texts."
        )
    notes += m.get("absent_step_notes") or []
    if m.get("limit"):
        notes.append(f"Built from the first {m['limit']:,} records only (`--limit`).")
    return "\n".join(f"- {n}" for n in notes) if notes else "- None recorded."


def render_card(manifest: dict[str, Any], recipe_text: str) -> str:
    m = manifest
    header = yaml.safe_dump(card_header(m), sort_keys=False, allow_unicode=True).strip()
    sections = [
        ("Splits", table([[n, f"{r:,}"] for n, r in m["splits"].items()], ["split", "rows"])),
        ("Sources", _sources(m)),
        ("Processing funnel", _funnel(m)),
        ("Languages", _languages(m)),
        *_step_sections(m, "findings"),
        ("Synthetic data", _synthetic(m)),
        *_step_sections(m, "review"),
        *_step_sections(m, "steps"),
        *_step_sections(m, "files"),
        ("Limitations", _limitations(m)),
        (
            "Recipe",
            f"`{m['recipe_file']}`, sha256 `{m['recipe_hash']}`, curate {m['curate_version']}.\n\n"
            f"```yaml\n{recipe_text.rstrip()}\n```",
        ),
        (
            "Reproduce",
            f"```bash\n{m['command'] or 'curate run ' + m['recipe_file']}\n```\n\nTool versions: "
            + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
            + ".",
        ),
    ]
    description = m["recipe"].get("description") or ""
    body = "\n\n".join(f"## {title}\n\n{text}" for title, text in sections if text)
    return f"---\n{header}\n---\n\n# {m['recipe']['card'].get('pretty_name') or m['name']}\n\n{description}\n\n{body}\n"


def write_card(out: Path, manifest: dict[str, Any], recipe_text: str) -> None:
    write_text_atomic(Path(out) / "README.md", render_card(manifest, recipe_text))
