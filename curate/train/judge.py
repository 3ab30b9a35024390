"""LLM-as-a-judge for `curate eval --judge`: an LLM rates each output for adequacy, fluency and language.

The judge runs on the paraphrase step's backends (an OpenAI-compatible endpoint with concurrency, retries and the
on-disk answer cache, or a local chat model). Each request shows the output with the reference in the target
language, or with the source when there is no reference (cross-lingual judging), and the rubric of the output's
language. The answer is JSON; its score is the mean of adequacy and fluency (1 to 5), or 1 when the output is not
in the target language. Every answer is kept with its verdict or its parsing error (`judge.jsonl`), since judges
are known to overrate weak outputs and to answer out of format.
"""

from __future__ import annotations

import json
import re
import zlib
from collections import defaultdict
from typing import Any

import numpy as np

from curate.augment.llm import ChatRequest, GenParams, make_backend
from curate.core.languages import language_name
from curate.core.progress import Reporter
from curate.models.prompts import template_for

FORMAT = '{"adequacy": <1-5>, "fluency": <1-5>, "right_language": <true or false>, "justification": "<one sentence>"}'
DEFAULT_RUBRIC = ""
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def compared_with(against: str, reference: str | None) -> tuple[bool, bool]:
    """(show the source, show the reference): `auto` shows the reference when there is one, else the source."""
    has_reference = bool(reference and reference.strip())
    if against == "auto":
        return not has_reference, has_reference
    if against == "both":
        return True, has_reference
    return against == "source" or not has_reference, against == "reference" and has_reference


def judge_prompt(row: dict[str, Any], against: str, rubrics: dict[str, str]) -> tuple[str, str]:
    """The request for one output, and what it was judged against (`reference`, `source` or `source+reference`)."""
    language = language_name(row["lang"]) if row["lang"] not in ("", "und") else "the target language"
    source, reference = compared_with(against, row.get("reference"))
    parts = [f"You are a careful evaluator of text written in {language}."]
    if source:
        parts.append(f"Source text:\n{row['input']}")
    if reference:
        parts.append(f"Reference in {language}:\n{row['reference']}")
    basis = " and ".join(w for w, shown in (("source", source), ("reference", reference)) if shown)
    parts.append(f"Output to rate (it should be in {language}):\n{row['output']}")
    rubric = template_for(rubrics, row["lang"]) if rubrics else DEFAULT_RUBRIC
    parts.append(
        f"Rate the output:\n- adequacy (1-5): does it convey the meaning of the {basis}? 5: all of it, 1: none of it\n"
        f"- fluency (1-5): is it natural, correct {language}? 5: as a native speaker writes, 1: unreadable\n"
        f"- right_language: is it written in {language}?" + (f"\n{rubric.strip()}" if rubric.strip() else "")
    )
    parts.append(f"Answer with one JSON object and nothing else:\n{FORMAT}")
    return "\n\n".join(parts), basis.replace(" and ", "+")


def _grade(verdict: dict[str, Any], key: str) -> int:
    value = verdict.get(key)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 5 or value != int(value):
        raise ValueError(f"{key} must be a whole number from 1 to 5 (got {value!r})")
    return int(value)


def _yes(verdict: dict[str, Any]) -> bool:
    value = verdict.get("right_language")
    if isinstance(value, str) and value.strip().lower() in ("yes", "true", "no", "false"):
        return value.strip().lower() in ("yes", "true")
    if not isinstance(value, bool):
        raise ValueError(f"right_language must be true or false (got {value!r})")
    return value


def parse_verdict(answer: str | None) -> dict[str, Any]:
    """The judge's JSON as `{adequacy, fluency, right_language, justification, score}`; ValueError says why not."""
    if not answer or not answer.strip():
        raise ValueError("empty answer")
    found = _OBJECT.search(answer)
    if found is None:
        raise ValueError("no JSON object in the answer")
    try:
        verdict = json.loads(found.group(0))
    except ValueError:
        raise ValueError("the answer's JSON does not parse") from None
    if not isinstance(verdict, dict):
        raise ValueError("the answer's JSON is not an object")
    adequacy, fluency, right = _grade(verdict, "adequacy"), _grade(verdict, "fluency"), _yes(verdict)
    score = (adequacy + fluency) / 2 if right else 1.0
    return {
        "adequacy": adequacy,
        "fluency": fluency,
        "right_language": right,
        "justification": str(verdict.get("justification") or ""),
        "score": score,
    }


def rows_to_judge(eval_set: Any, outputs: list[str], limit: int | None) -> list[dict[str, Any]]:
    """The first `limit` rows of each language of a set, with their output."""
    ex = eval_set.examples
    seen: dict[str, int] = defaultdict(int)
    rows = []
    for i, (row_id, lang, text, ref) in enumerate(
        zip(ex.frame["_id"].to_list(), ex.langs.tolist(), ex.inputs, ex.targets)
    ):
        if limit is not None and seen[lang] >= limit:
            continue
        seen[lang] += 1
        rows.append(
            {"set": eval_set.name, "_id": row_id, "lang": lang, "input": text, "reference": ref, "output": outputs[i]}
        )
    return rows


def _seed(*parts: str) -> int:
    return zlib.crc32("\x00".join(parts).encode("utf-8"))


def run_judge(
    judge: Any, sets: list[Any], models: dict[str, dict[str, Any]], split: str, reporter: Reporter
) -> list[dict[str, Any]]:
    """Ask the judge about every (model, set, row) and return the records of judge.jsonl, in that order."""
    pending = []
    for model, results in models.items():
        for s in sets:
            if results[s.name].outputs is None:
                continue
            for row in rows_to_judge(s, results[s.name].outputs, judge.max_rows_per_language):
                prompt, basis = judge_prompt(row, judge.against, judge.rubrics)
                system = [{"role": "system", "content": judge.system}] if judge.system else []
                messages = [*system, {"role": "user", "content": prompt}]
                pending.append(
                    (
                        {"split": split, "model": model, **row, "against": basis},
                        ChatRequest(messages, _seed(s.name, str(row["_id"]), model)),
                    )
                )
    reporter.info(f"judging {len(pending):,} outputs with {judge.model} ({judge.backend})")
    backend = make_backend(judge)
    try:
        params = GenParams(temperature=judge.temperature, top_p=1.0, max_new_tokens=judge.max_new_tokens)
        answers = backend.complete([request for _, request in pending], params)
    finally:
        getattr(backend, "close", lambda: None)()
    records = [_record(row, answer) for (row, _), answer in zip(pending, answers)]
    errors = sum(r["error"] is not None for r in records)
    if errors:
        reporter.warn(f"the judge gave no usable score for {errors:,} of {len(records):,} outputs (see judge.jsonl)")
    return records


def _record(row: dict[str, Any], answer: Any) -> dict[str, Any]:
    record = {**row, "answer": answer.text, "cached": answer.cached, "error": answer.error}
    empty = {"adequacy": None, "fluency": None, "right_language": None, "justification": None, "score": None}
    if answer.error is not None:
        return {**record, **empty}
    try:
        return {**record, **parse_verdict(answer.text)}
    except ValueError as exc:
        return {**record, **empty, "error": str(exc)}


def set_means(records: list[dict[str, Any]], models: dict[str, dict[str, Any]]) -> None:
    """Each language's mean judge score into the results (`judge`), and the macro average into the overall row."""
    scores: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in records:
        if r["score"] is not None:
            scores[(r["model"], r["set"], r["lang"])].append(r["score"])
    for model, results in models.items():
        for name, result in results.items():
            means = []
            for language in result.languages:
                found = scores.get((model, name, language.lang))
                language.judge = round(float(np.mean(found)), 3) if found else None
                if language.judge is not None:
                    means.append(language.judge)
            result.overall.judge = round(float(np.mean(means)), 3) if means else None


def summary(judge: Any, records: list[dict[str, Any]]) -> dict[str, Any]:
    """What the card says about the judge (never its key or URL)."""
    kinds = sorted({r["against"] for r in records})
    return {
        "model": judge.model,
        "backend": judge.backend,
        "against": ", ".join(kinds) or judge.against,
        "scored": sum(r["score"] is not None for r in records),
        "errors": sum(r["score"] is None for r in records),
    }
