"""`curate report OUT`: one self-contained HTML page with the run's plots (also written as PNG files)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curate.core.errors import CurateError, MissingDependencyError
from curate.core.text import char_count
from curate.io.writers import write_bytes_atomic, write_text_atomic
from curate.outputs.manifest import load_manifest
from curate.outputs.summary import accounting_line


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("`curate report`", "matplotlib", "report") from None
    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def funnel_segments(step: dict[str, Any]) -> dict[str, int]:
    """A step's rows split four ways that add up: rows in (kept or rejected) and rows it added (kept or rejected),
    so that a bar's input part is exactly as long as its input."""
    added, added_rejected = step.get("rows_added", 0), step.get("added_rejected", 0)
    return {
        "kept": step["rows_out"] - (added - added_rejected),
        "rejected": step["rows_rejected"] - added_rejected,
        "added, kept": added - added_rejected,
        "added, rejected": added_rejected,
    }


FUNNEL_STYLE = {
    "kept": ("#4c78a8", None),
    "rejected": ("#e45756", None),
    "added, kept": ("#9ecae9", "//"),
    "added, rejected": ("#ff9d98", "//"),
}


def funnel_label(step: dict[str, Any]) -> str:
    """The counts written beside a bar: small rejections are invisible on a linear axis, their number is not."""
    made = f" + {step['rows_added']:,} added" if step.get("rows_added") else ""
    return f"{step['rows_in']:,} in{made}: {step['rows_out']:,} kept, {step['rows_rejected']:,} rejected"


def plot_funnel(plt, m: dict[str, Any]):
    steps = m["steps"][::-1]
    names = [f"{s['index']}. {s['name']}" for s in steps]
    segments = [funnel_segments(s) for s in steps]
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(steps) + 1.6))
    left = [0] * len(steps)
    for kind, (color, hatch) in FUNNEL_STYLE.items():
        widths = [seg[kind] for seg in segments]
        if any(widths):
            ax.barh(
                names, widths, left=left, color=color, hatch=hatch, edgecolor="white" if hatch else color, label=kind
            )
            left = [a + b for a, b in zip(left, widths)]
    for y, step in enumerate(steps):
        ax.text(left[y], y, "  " + funnel_label(step), va="center", fontsize="small")
    ax.set_xlim(0, max(left + [1]) * 1.6)  # room for the counts
    ax.set_xlabel("rows")
    ax.set_title("Rows kept and rejected per step")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.5 / (0.5 * len(steps) + 1.6)), ncol=4, frameon=False)
    return fig


def plot_languages(plt, m: dict[str, Any]):
    before, after = m.get("languages_before") or {}, m.get("languages") or {}
    if not before and not after:
        return None
    langs = sorted(set(before) | set(after), key=lambda k: -max(before.get(k, 0), after.get(k, 0)))[:30]
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(langs) + 2), 4))
    xs = range(len(langs))
    ax.bar([x - 0.2 for x in xs], [before.get(k, 0) for k in langs], width=0.4, label="before", color="#9ecae9")
    ax.bar([x + 0.2 for x in xs], [after.get(k, 0) for k in langs], width=0.4, label="after", color="#4c78a8")
    ax.set_xticks(list(xs), langs, rotation=60)
    ax.set_yscale("log")
    ax.set_ylabel("rows (log scale)")
    ax.set_title("Languages before and after curation")
    ax.legend()
    return fig


def text_lengths(data_files: list[Path]) -> tuple[str, dict[str, np.ndarray]]:
    """Characters per text of the original rows (a copy repeats a length), per language (`text_lang`) or else per
    source file; every group, the largest first."""
    frames, by = [], "text_lang"
    for f in data_files:
        columns = pl.read_parquet_schema(f)
        by = "text_lang" if "text_lang" in columns else "_source"
        original = pl.col("_repeat") == 0 if "_repeat" in columns else pl.lit(True)
        frames.append(
            pl.read_parquet(f, columns=["text", by, *(["_repeat"] if "_repeat" in columns else [])])
            .filter(original & pl.col("text").is_not_null())
            .select(char_count("text").alias("chars"), pl.col(by).cast(pl.String).fill_null("none").alias("group"))
        )
    if not frames:
        return by, {}
    lengths = pl.concat(frames)
    order = lengths["group"].value_counts().sort(["count", "group"], descending=[True, False])["group"].to_list()
    return by, {g: lengths.filter(pl.col("group") == g)["chars"].to_numpy() for g in order}


def plot_lengths(plt, data_files: list[Path]):
    """One box per language, each on its own rows (a large language does not flatten the others), log x axis from
    the shortest text."""
    by, groups = text_lengths(data_files)
    if not groups:
        return None
    names = list(groups)[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(names) + 1.5))
    ax.boxplot(
        [groups[g] for g in names], orientation="horizontal", widths=0.6, showfliers=True, flierprops={"markersize": 2}
    )
    ax.set_yticks(range(1, len(names) + 1), [f"{g} (n={len(groups[g]):,})" for g in names], fontsize="small")
    ax.set_xscale("log")
    low = max(min(int(v.min()) for v in groups.values()), 1)
    high = max(int(v.max()) for v in groups.values())
    ax.set_xlim(low / 1.3, max(high, low + 1) * 1.3)
    ax.set_xlabel("characters (log scale)")
    ax.set_title(f"Text length per {'language' if by == 'text_lang' else 'source'} ({len(names)}; copies not counted)")
    return fig


def reason_labels(m: dict[str, Any]) -> list[tuple[str, int]]:
    """Drop reasons with their step, once: `langid:unexpected` already names its step, `read: unparseable` does not;
    two steps of the same name are told apart by their number."""
    names = [s["name"] for s in m["steps"]]
    out = []
    for s in m["steps"]:
        step = f"{s['index']}. {s['name']}" if names.count(s["name"]) > 1 else s["name"]
        for reason, n in s["reasons"].items():
            named = reason.startswith(f"{s['name']}:")
            out.append((reason if named and step == s["name"] else f"{step}: {reason}", n))
    return out


def plot_reasons(plt, m: dict[str, Any]):
    reasons = sorted(reason_labels(m), key=lambda kv: kv[1])
    if not reasons:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(reasons) + 1.2))
    bars = ax.barh([r for r, _ in reasons], [n for _, n in reasons], color="#e45756")
    ax.bar_label(bars, labels=[f"{n:,}" for _, n in reasons], padding=3, fontsize="small")
    ax.set_xlim(0, max(n for _, n in reasons) * 1.15)
    ax.set_xlabel("rows")
    ax.set_title("Drop reasons")
    return fig


def build_report(out: Path) -> Path:
    """Write OUT/report.html and OUT/report/*.png; return the HTML path."""
    m = load_manifest(out)
    if m is None:
        raise CurateError(f"{out}: no manifest.json here; is it the output folder of a finished `curate run`?")
    plt = _pyplot()
    data_files = [Path(out) / o["path"] for o in m["outputs"] if o["path"].startswith("data/")]
    figures = {
        "funnel": plot_funnel(plt, m),
        "languages": plot_languages(plt, m),
        "lengths": plot_lengths(plt, data_files),
        "reasons": plot_reasons(plt, m),
    }
    blocks = []
    for name, fig in figures.items():
        if fig is None:
            continue
        png = _png(fig)
        plt.close(fig)
        write_bytes_atomic(Path(out) / "report" / f"{name}.png", png)
        blocks.append(
            f'<figure><img alt="{name}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
            f"<figcaption>{name}</figcaption></figure>"
        )
    acc = m["accounting"]
    rows = "".join(
        f"<tr><td>{s['index']}</td><td>{html.escape(s['name'])}</td><td>{s['rows_in']:,}</td>"
        f"<td>{s['rows_out']:,}</td><td>{s['rows_rejected']:,}</td></tr>"
        for s in m["steps"]
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>curate report: {html.escape(m["name"])}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}
figure{{margin:2em 0}}img{{max-width:100%}}.ok{{color:#2a7}}.bad{{color:#c33}}</style></head>
<body><h1>{html.escape(m["name"])}</h1>
<p>Recipe <code>{html.escape(m["recipe_file"])}</code> (sha256 <code>{m["recipe_hash"][:16]}</code>), finished
{m["finished_at"]}. Accounting: <b class="{"ok" if acc["ok"] else "bad"}">{html.escape(accounting_line(acc))}</b>.</p>
<table><tr><th>#</th><th>step</th><th>rows in</th><th>kept</th><th>rejected</th></tr>{rows}</table>
{"".join(blocks)}
</body></html>
"""
    path = Path(out) / "report.html"
    write_text_atomic(path, page)
    return path
