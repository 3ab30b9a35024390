"""The review queue as a file, for review without a server: `curate review export OUT FILE` / `import OUT FILE`.

One line (JSONL) or row (CSV) per queued row: `_id`, `why`, the fields, the metadata, the suggestions, and empty
answer columns to fill in: `decision` (accept or reject; empty = not reviewed), `corrected_<field>`, `issues`
(labels separated by `;`), `note`, `annotator`. Several reviewers: one copy of the file each (or lines repeated with
another `annotator`); their answers are resolved by majority as Argilla's are. CSV and JSONL hold the same columns;
lists are JSON lists in JSONL and `;`-joined in CSV.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.errors import CurateError
from curate.io.writers import write_bytes_atomic
from curate.review import ACCEPT, REJECT

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}


def file_format(path: Path) -> str:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise CurateError(
            f"{path}: write the review queue as .jsonl or .csv (got '{Path(path).suffix or 'no extension'}')"
        )
    return fmt


def queue_rows(queue: pl.DataFrame, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The flat rows of the file, in queue order."""
    rows = []
    for row in queue.iter_rows(named=True):
        out: dict[str, Any] = {"_id": row["_id"], "why": list(row.get("_why") or [])}
        for f in spec["fields"]:
            out[f["name"]] = row.get(f["column"])
        for m in spec["metadata"]:
            value = row.get(m["column"])
            out[m["name"]] = list(value) if isinstance(value, (list, tuple)) else value
        out["suggested_decision"] = row.get("_suggest_decision")
        out["suggested_issues"] = list(row.get("_suggest_issues") or [])
        out["decision"] = None
        for f in spec["correct"]:
            out[f"corrected_{f}"] = None
        out["issues"] = []
        out["note"] = None
        out["annotator"] = None
        rows.append(out)
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return str(value)


def export_queue(queue: pl.DataFrame, spec: dict[str, Any], path: Path) -> int:
    from curate.review import ratings

    rows = ratings.queue_rows(queue, spec) if ratings.is_ratings(spec) else queue_rows(queue, spec)
    if file_format(path) == "jsonl":
        data = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows).encode("utf-8")
    else:
        buffer = io.StringIO()
        columns = list(rows[0]) if rows else ["_id", "why", "decision", "issues", "note", "annotator"]
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _cell(v) for k, v in r.items()})
        data = buffer.getvalue().encode("utf-8")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(Path(path), data)
    return len(rows)


def _read(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line or row number, record) pairs."""
    if not Path(path).exists():
        raise CurateError(f"{path}: no such file")
    text = Path(path).read_text(encoding="utf-8-sig")
    if file_format(path) == "jsonl":
        out = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CurateError(f"{path}, line {number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise CurateError(f"{path}, line {number}: expected an object with `_id` and `decision`")
            out.append((number, record))
        return out
    reader = csv.DictReader(io.StringIO(text))
    return [(number, dict(record)) for number, record in enumerate(reader, 2)]


def _labels(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).replace(",", ";").split(";")
    return [str(i).strip() for i in items if str(i).strip()]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _parse_answer(
    record: dict[str, Any], where: str, spec: dict[str, Any], queue_ids: set[str], annotator: str | None
) -> dict[str, Any] | str | None:
    """A reviewer's answer row, an error message, or None (no decision: not reviewed)."""
    row_id = _text(record.get("_id"))
    decision = (_text(record.get("decision")) or "").strip().lower()
    if not decision:
        return None
    if row_id is None or row_id not in queue_ids:
        return f"{where}: `_id` {row_id!r} is not in the review queue"
    if decision not in (ACCEPT, REJECT):
        return f"{where}: decision {decision!r} must be `{ACCEPT}` or `{REJECT}` (or empty: not reviewed)"
    issues = _labels(record.get("issues"))
    unknown = [i for i in issues if i not in set(spec["labels"])]
    if unknown:
        return f"{where}: unknown issue label(s) {', '.join(unknown)} (allowed: {', '.join(sorted(spec['labels']))})"
    who = _text(record.get("annotator")) or annotator or "file"
    return {
        "_id": row_id,
        "annotator": who.strip(),
        "origin": "file",
        "status": "submitted",
        "decision": decision,
        "issues": issues,
        "note": _text(record.get("note")),
        **{f"corrected_{f}": _text(record.get(f"corrected_{f}")) for f in spec["correct"]},
    }


def read_answers(path: Path, spec: dict[str, Any], queue_ids: set[str], annotator: str | None) -> pl.DataFrame:
    """Answers from a filled-in queue file, checked: every `_id` must be queued, every decision accept or reject
    (every rating 1 to 5), every issue a known label. Rows left without a decision (or rating) are not answers."""
    from curate.review import ratings
    from curate.review.records import answer_schema

    parse = ratings.parse_answer if ratings.is_ratings(spec) else _parse_answer
    problems: list[str] = []
    rows = []
    for number, record in _read(path):
        where = f"{path}, {'line' if file_format(path) == 'jsonl' else 'row'} {number}"
        answer = parse(record, where, spec, queue_ids, annotator)
        if isinstance(answer, str):
            problems.append(answer)
        elif answer is not None:
            rows.append(answer)
    if problems:
        shown = "\n".join(f"  {p}" for p in problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise CurateError(f"{path}: {len(problems)} answer(s) can't be imported:\n{shown}{more}")
    schema = answer_schema(spec)
    frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    duplicated = frame.filter(pl.struct("_id", "annotator").is_duplicated())
    if duplicated.height:
        first = duplicated.row(0, named=True)
        raise CurateError(
            f"{path}: row {first['_id']} is answered twice by '{first['annotator']}'; give each "
            "reviewer's lines their own `annotator`"
        )
    return frame
