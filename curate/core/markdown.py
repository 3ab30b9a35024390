"""Markdown for the dataset card and the sections steps write about themselves."""

from __future__ import annotations

from typing import Any


def table(rows: list[list[Any]], head: list[str]) -> str:
    """A markdown table; `|` and line breaks in cells are escaped so a value can't break the table."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def figures_table(steps: list[dict[str, Any]]) -> str:
    """The figures of several steps (their manifest entries: stats and reasons), one column per step."""
    columns = [{**s["stats"], **{f"rejected: {k}": v for k, v in s["reasons"].items()}} for s in steps]
    keys = list(dict.fromkeys(k for c in columns for k in c))
    rows = [[f"`{k}`", *(f"{c[k]:,}" if isinstance(c.get(k), int) else c.get(k, "") for c in columns)] for k in keys]
    return table(rows, ["figure", *(f"step {s['index']}" for s in steps)])
