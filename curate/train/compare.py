"""The model before and after the fine-tune, side by side: per set, per language, per metric, and the difference.

The comparison is plain JSON (in `metrics.json` and `eval-SPLIT.json`); the table in the terminal, in
`eval_table.md` and in the model card is rendered from it. On a retain set, a drop of the retain metric by more than
the tolerance is flagged as catastrophic forgetting.
"""

from __future__ import annotations

from typing import Any

from curate.core.markdown import table as markdown_table
from curate.train.evaluate import ALL, EvalResult, LanguageScore

METRICS = ("loss", "chrf", "bleu", "judge")
TITLES = {"loss": "loss", "chrf": "chrF", "bleu": "BLEU", "judge": "judge"}
DIGITS = {"loss": 3, "chrf": 1, "bleu": 1, "judge": 2}
LOWER_IS_BETTER = {"loss"}
FORGETTING = "forgetting"


def is_drop(delta: float | None, metric: str, tolerance: float) -> bool:
    """A change worse than the tolerance: lower chrF/BLEU/judge, or higher loss."""
    if delta is None:
        return False
    return delta > tolerance if metric in LOWER_IS_BETTER else delta < -tolerance


def _values(score: LanguageScore | None) -> dict[str, float | None] | None:
    return None if score is None else {m: getattr(score, m) for m in METRICS}


def _delta(base: dict | None, tuned: dict) -> dict[str, float | None] | None:
    if base is None:
        return None
    return {
        m: None if base[m] is None or tuned[m] is None else round(tuned[m] - base[m], DIGITS[m] + 1) for m in METRICS
    }


def _row(
    tuned: LanguageScore, base: LanguageScore | None, retain: bool, metric: str, tolerance: float
) -> dict[str, Any]:
    before, after = _values(base), _values(tuned)
    delta = _delta(before, after)
    flagged = retain and delta is not None and is_drop(delta[metric], metric, tolerance)
    return {
        "lang": tuned.lang,
        "name": tuned.name,
        "rows": tuned.rows,
        "base": before,
        "tuned": after,
        "delta": delta,
        FORGETTING: flagged,
    }


def compare_set(
    eval_set: Any, tuned: EvalResult, base: EvalResult | None, metric: str, tolerance: float
) -> dict[str, Any]:
    """One set's rows (its languages, then the macro average), base and tuned scored on the same rows."""
    before = {s.lang: s for s in base.languages} if base is not None else {}
    retain = eval_set.kind == "retain"
    rows = [
        _row(s, before.get(s.lang) if base is not None else None, retain, metric, tolerance) for s in tuned.languages
    ]
    rows.append(_row(tuned.overall, base.overall if base is not None else None, retain, metric, tolerance))
    return {**eval_set.describe(), "rows": rows}


def compare(
    sets: list[Any],
    tuned: dict[str, EvalResult],
    base: dict[str, EvalResult] | None,
    *,
    metric: str,
    tolerance: float,
    reference: str,
) -> dict[str, Any]:
    """The comparison of every set; `reference` says what "base" is (the base model, or base + earlier adapter)."""
    compared = [compare_set(s, tuned[s.name], base[s.name] if base else None, metric, tolerance) for s in sets]
    flags = [
        {
            "set": c["name"],
            "lang": r["lang"],
            "metric": metric,
            "base": r["base"][metric],
            "tuned": r["tuned"][metric],
            "delta": r["delta"][metric],
        }
        for c in compared
        for r in c["rows"]
        if r[FORGETTING]
    ]
    present = [m for m in METRICS if any(r["tuned"][m] is not None for c in compared for r in c["rows"])]
    return {
        "reference": reference,
        "compared": base is not None,
        "metrics": present,
        "retain_metric": metric,
        "retain_tolerance": tolerance,
        "sets": compared,
        FORGETTING: flags,
    }


# ---------------------------------------------------------------------------------------------------------------
# rendering


def _number(value: float | None, digits: int, sign: bool = False) -> str:
    if value is None:
        return "—"
    if round(value, digits) == 0:
        value = 0.0  # no "-0.0"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def cell(row: dict[str, Any], metric: str) -> str:
    """`base → tuned (Δ)`, or the tuned figure alone when the base was not scored."""
    digits = DIGITS[metric]
    tuned = _number(row["tuned"][metric], digits)
    if row["base"] is None:
        return tuned
    return f"{_number(row['base'][metric], digits)} → {tuned} ({_number(row['delta'][metric], digits, sign=True)})"


def table(comparison: dict[str, Any]) -> tuple[list[str], list[list[str]], list[int]]:
    """(header, rows, index of each set's last row): one row per set and language, the macro average last."""
    metrics = comparison["metrics"]
    head = ["set", "language", "name", "rows", *[TITLES[m] for m in metrics]]
    flags = any(s["kind"] == "retain" for s in comparison["sets"]) and comparison["compared"]
    if flags:
        head.append(FORGETTING)
    rows, ends = [], []
    for s in comparison["sets"]:
        for r in s["rows"]:
            line = [s["name"], r["lang"], r["name"], str(r["rows"]), *[cell(r, m) for m in metrics]]
            if flags:
                line.append(("yes" if r[FORGETTING] else "no") if s["kind"] == "retain" else "")
            rows.append(line)
        ends.append(len(rows) - 1)
    return head, rows, ends


def markdown(comparison: dict[str, Any]) -> str:
    head, rows, _ = table(comparison)
    shown = [[f"`{c}`" if i == 1 and c != ALL else c for i, c in enumerate(row)] for row in rows]
    return markdown_table(shown, head) + "\n"


def explain(comparison: dict[str, Any]) -> str:
    """One paragraph under the table: what the figures are, what base means, what is flagged."""
    metric, tolerance = TITLES[comparison["retain_metric"]], comparison["retain_tolerance"]
    text = "Loss per target token; chrF and BLEU (sacrebleu) of generated outputs; "
    if "judge" in comparison["metrics"]:
        text += "judge: the mean LLM judge score (1-5) of the outputs it rated; "
    text += "the `all` row of each set averages its languages (macro)."
    if comparison["compared"]:
        text += f" Each cell is {comparison['reference']} → the fine-tuned model on the same rows, and the difference."
        if any(s["kind"] == "retain" for s in comparison["sets"]):
            text += (
                f" Retain sets are data the fine-tune should not forget: a drop of {metric} by more than "
                f"{tolerance:g} is flagged as catastrophic forgetting."
            )
    return text


def forgetting_lines(comparison: dict[str, Any]) -> list[str]:
    """One line per flagged retain row, for the terminal and the card."""
    metric = TITLES[comparison["retain_metric"]]
    digits = DIGITS[comparison["retain_metric"]]
    return [
        f"forgetting on {f['set']} `{f['lang']}`: {metric} {_number(f['base'], digits)} → "
        f"{_number(f['tuned'], digits)} ({_number(f['delta'], digits, sign=True)}; tolerance "
        f"{comparison['retain_tolerance']:g})"
        for f in comparison[FORGETTING]
    ]
