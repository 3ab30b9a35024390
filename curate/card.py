"""The dataset card (`OUT/README.md`, Hugging Face format), written from the manifest and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from curate.io.writers import write_text_atomic


def size_category(rows: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]  # fmt: skip
    return next((label for bound, label in bounds if rows < bound), "n>1T" if rows >= 10**12 else "1B<n<10B")


def card_header(manifest: dict[str, Any]) -> dict[str, Any]:
    licences = sorted({str(i["meta"].get("license")) for i in manifest["inputs"] if i["meta"].get("license")})
    header: dict[str, Any] = {}
    if licences:
        header["license"] = licences[0].lower() if len(licences) == 1 else "other"
    header["size_categories"] = [size_category(manifest["accounting"]["rows_out"])]
    header["tags"] = ["curate"]
    data_files = [{"split": s, "path": f"data/{s}-*.parquet"} for s in manifest["splits"]]
    header["configs"] = [{"config_name": "default", "data_files": data_files}]
    return header


def _table(rows: list[list[Any]], head: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_card(manifest: dict[str, Any], recipe_text: str) -> str:
    acc = manifest["accounting"]
    header = yaml.safe_dump(card_header(manifest), sort_keys=False, allow_unicode=True).strip()
    sources = _table(
        [[i["path"], i["format"], i["meta"].get("license", "not given"), i["meta"].get("origin", ""), i["rows"],
          f"`{i['sha256'][:16]}…`" if i["sha256"] else ""] for i in manifest["inputs"]],  # fmt: skip
        ["file", "format", "licence", "origin", "rows read", "sha256"],
    )
    funnel = _table(
        [[s["index"], s["name"], s["rows_in"], s["rows_out"], s["rows_rejected"],
          ", ".join(f"`{k}` {v}" for k, v in s["reasons"].items()) or "", f"{s['seconds']:.2f}s"]
         for s in manifest["steps"]],  # fmt: skip
        ["#", "step", "rows in", "kept", "rejected", "reasons", "time"],
    )
    splits = _table([[name, rows] for name, rows in manifest["splits"].items()], ["split", "rows"])
    check = "holds" if acc["ok"] else "FAILED"
    return f"""---
{header}
---

# {manifest['name']}

Built by curate {manifest['curate_version']} from the recipe `{manifest['recipe_file']}`
(sha256 `{manifest['recipe_hash']}`).

## Splits

{splits}

## Sources

{sources}

## Processing funnel

Every row read is accounted for: {acc['rows_read']:,} rows read = {acc['curated_read']:,} curated +
{acc['rejected_read']:,} rejected (the check {check}). Rejected rows are in `rejects/`, each with
the step (`_step`) and the reason (`_reason`) that removed it.

{funnel}

## Recipe

```yaml
{recipe_text.rstrip()}
```

## Reproduce

```bash
{manifest['command'] or 'curate run ' + manifest['recipe_file']}
```

Tool versions: {', '.join(f'{k} {v}' for k, v in manifest['versions'].items())}.
"""


def write_card(out: Path, manifest: dict[str, Any], recipe_text: str) -> None:
    write_text_atomic(Path(out) / "README.md", render_card(manifest, recipe_text))
