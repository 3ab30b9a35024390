"""`curate inspect OUT`: what a run did, read from its manifest."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from curate.core.errors import CurateError
from curate.outputs.card import encoding_cell
from curate.outputs.manifest import load_manifest
from curate.outputs.summary import accounting_line


def inspect_output(out: Path, console: Console) -> None:
    manifest = load_manifest(out)
    if manifest is None:
        raise CurateError(f"{out}: no manifest.json here; is it the output folder of a finished `curate run`?")
    acc = manifest["accounting"]
    console.print(
        f"[bold]{manifest['name']}[/bold]  recipe {manifest['recipe_file']} "
        f"(sha256 {manifest['recipe_hash'][:12]}), finished {manifest['finished_at']}"
    )
    steps = Table(title="steps")
    for col in ("#", "step", "rows in", "added", "kept", "rejected", "time"):
        steps.add_column(col, justify="right" if col not in ("step",) else "left")
    for s in manifest["steps"]:
        steps.add_row(
            str(s["index"]),
            s["name"],
            f"{s['rows_in']:,}",
            f"{s.get('rows_added', 0):,}",
            f"{s['rows_out']:,}",
            f"{s['rows_rejected']:,}",
            f"{s['seconds']:.2f}s" + (" (cached)" if s["cached"] else ""),
        )
    console.print(steps)
    _inputs(manifest, console)
    reasons = Table(title="drop reasons")
    for col in ("step", "reason", "rows"):
        reasons.add_column(col, justify="right" if col == "rows" else "left")
    for s in manifest["steps"]:
        for reason, n in s["reasons"].items():
            reasons.add_row(s["name"], reason, f"{n:,}")
    console.print(reasons)
    languages = manifest.get("languages")
    if languages:
        table = Table(title="languages")
        table.add_column("language")
        table.add_column("rows", justify="right")
        for lang, n in sorted(languages.items(), key=lambda kv: -kv[1]):
            table.add_row(lang, f"{n:,}")
        console.print(table)
    for s in manifest["steps"]:
        for note in s.get("notes") or []:
            console.print(
                f"[yellow]warning[/yellow] {s['name']} (step {s['index']}): {note}", highlight=False, soft_wrap=True
            )
    splits = ", ".join(f"{k} {v:,}" for k, v in manifest["splits"].items())
    console.print(f"splits: {splits}")
    console.print(f"accounting: {accounting_line(acc)}", highlight=False, markup=False, soft_wrap=True)
    for note in manifest.get("notes", []):
        console.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)


def _inputs(manifest: dict, console: Console) -> None:
    """The text inputs' encodings: a table of the files not read as plain UTF-8 or with records decoded on their own
    (or not at all), and a line for the rest."""
    texts = [i for i in manifest["inputs"] if i.get("encoding")]
    special = [
        i
        for i in texts
        if i["encoding"]["encoding"] != "utf-8" or i["encoding"]["fallback"] or i["encoding"]["undecodable"]
    ]
    if special:
        table = Table(title="input encodings")
        for col in ("file", "encoding", "rows read"):
            table.add_column(col, justify="right" if col == "rows read" else "left")
        for i in special:
            table.add_row(i["path"], encoding_cell(i["encoding"]), f"{i['rows']:,}")
        console.print(table)
    plain = len(texts) - len(special)
    if plain:
        files = f"{plain:,} {'file' if plain == 1 else 'files'}" + (" more" if special else "")
        console.print(f"input encodings: {files} in UTF-8, every record valid", highlight=False)
