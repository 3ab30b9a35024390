"""`curate report OUT`: one self-contained HTML page with the run's plots (also written as PNG files)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import CurateError, MissingDependencyError
from curate.io.writers import write_bytes_atomic, write_text_atomic
from curate.manifest import load_manifest
from curate.summary import accounting_line
from curate.text import char_count

TOP_GROUPS = 10


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


def plot_funnel(plt, m: dict[str, Any]):
    steps = m["steps"]
    names = [f"{s['index']}. {s['name']}" for s in steps][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(steps) + 1.2))
    ax.barh(names, [s["rows_out"] for s in steps][::-1], color="#4c78a8", label="kept")
    ax.barh(names, [s["rows_rejected"] for s in steps][::-1], left=[s["rows_out"] for s in steps][::-1],
            color="#e45756", label="rejected")  # fmt: skip
    ax.set_xlabel("rows")
    ax.set_title("Rows kept and rejected per step")
    ax.legend(loc="lower right")
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


def plot_lengths(plt, data_files: list[Path]):
    if not data_files:
        return None
    frames = []
    for f in data_files:
        columns = pl.read_parquet_schema(f)
        group = "text_lang" if "text_lang" in columns else "_source"
        frames.append(pl.read_parquet(f, columns=["text", group]).select(
            char_count("text").alias("chars"), pl.col(group).cast(pl.String).alias("group")))  # fmt: skip
    lengths = pl.concat(frames)
    top = lengths["group"].value_counts(sort=True).head(TOP_GROUPS)["group"].to_list()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    upper = max(int(lengths["chars"].max() or 1), 2)
    bins = [1.2**i for i in range(0, 200) if 1.2**i <= upper * 1.2]
    for group in top:
        ax.hist(lengths.filter(pl.col("group") == group)["chars"].to_numpy(), bins=bins, histtype="step", label=group)
    ax.set_xscale("log")
    ax.set_xlabel("characters (log scale)")
    ax.set_ylabel("rows")
    ax.set_title(f"Text length per {'language' if 'text_lang' in columns else 'source'} (top {len(top)})")
    ax.legend(fontsize="small", ncol=2)
    return fig


def plot_reasons(plt, m: dict[str, Any]):
    reasons = [(f"{s['name']}: {r}", n) for s in m["steps"] for r, n in s["reasons"].items()]
    if not reasons:
        return None
    reasons.sort(key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(reasons) + 1.2))
    ax.barh([r for r, _ in reasons], [n for _, n in reasons], color="#e45756")
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
        "funnel": plot_funnel(plt, m), "languages": plot_languages(plt, m), "lengths": plot_lengths(plt, data_files),
        "reasons": plot_reasons(plt, m),
    }  # fmt: skip
    blocks = []
    for name, fig in figures.items():
        if fig is None:
            continue
        png = _png(fig)
        plt.close(fig)
        write_bytes_atomic(Path(out) / "report" / f"{name}.png", png)
        blocks.append(f'<figure><img alt="{name}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                      f"<figcaption>{name}</figcaption></figure>")  # fmt: skip
    acc = m["accounting"]
    rows = "".join(f"<tr><td>{s['index']}</td><td>{html.escape(s['name'])}</td><td>{s['rows_in']:,}</td>"
                   f"<td>{s['rows_out']:,}</td><td>{s['rows_rejected']:,}</td></tr>" for s in m["steps"])  # fmt: skip
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>curate report: {html.escape(m['name'])}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}
figure{{margin:2em 0}}img{{max-width:100%}}.ok{{color:#2a7}}.bad{{color:#c33}}</style></head>
<body><h1>{html.escape(m['name'])}</h1>
<p>Recipe <code>{html.escape(m['recipe_file'])}</code> (sha256 <code>{m['recipe_hash'][:16]}</code>), finished
{m['finished_at']}. Accounting: <b class="{'ok' if acc['ok'] else 'bad'}">{html.escape(accounting_line(acc))}</b>.</p>
<table><tr><th>#</th><th>step</th><th>rows in</th><th>kept</th><th>rejected</th></tr>{rows}</table>
{''.join(blocks)}
</body></html>
"""
    path = Path(out) / "report.html"
    write_text_atomic(path, page)
    return path
