"""PII step: span precision/recall per kind on shared/eval/pii, and throughput in MB/s of text.

    python bench/pii.py [--mb 50] [--eval ../shared/eval/pii]

Accuracy: `pii.jsonl` (presidio's unit-test texts) is scored per record on its `scope_labels` only: gold spans are
those with that `label_src`, predictions those of the mapped kind; a gold span is found when a predicted span
overlaps it, a predicted span is right when it overlaps a gold span. The row's `lang` is the language hint.
`phone_examples.jsonl` (libphonenumber's example numbers) is scored per format, with the record's region as the
country hint, and for E164/INTERNATIONAL also without any hint.

Speed: the step (default config: every built-in kind, mask) in batches of 50,000 rows as the engine sends them, on
the sample data/ texts repeated to --mb MB (prose with a little PII: the common case), on the eval texts (every row
is PII: the worst case, where libphonenumber's parsing dominates) and on both mixed; the baseline in the same run is
the same detectors run in Python on every row, without the polars prefilter.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.pii.scan import Hints
from curate.stages.pii import Pii

# presidio label_src -> curate kind; labels without a kind here are not scored (reported as not covered).
LABELS = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "PH_MOBILE_NUMBER": "phone",
    "TR_PHONE_NUMBER": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "IP_ADDRESS": "ip",
    "URL": "url",
    "CRYPTO": "crypto",
    "US_SSN": "us_ssn",
    "UK_NINO": "uk_nino",
    "ES_NIF": "es_dni",
    "ES_NIE": "es_nie",
    "IT_FISCAL_CODE": "it_fiscal_code",
    "DE_TAX_ID": "de_tax_id",
    "PL_PESEL": "pl_pesel",
    "FI_PERSONAL_IDENTITY_CODE": "fi_hetu",
    "SE_PERSONNUMMER": "se_personnummer",
    "TR_NATIONAL_ID": "tr_tckimlik",
    "KR_RRN": "kr_rrn",
    "ZA_ID_NUMBER": "za_id",
    "CA_SIN": "ca_sin",
}
GOALS = {"email": (0.97, 0.95), "credit_card": (0.97, 0.95), "iban": (0.97, 0.95), "ip": (0.97, 0.95)}


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


class Score:
    def __init__(self) -> None:
        self.gold = self.found = self.pred = self.right = 0

    def add(self, gold: list[tuple[int, int]], pred: list[tuple[int, int]]) -> None:
        self.gold += len(gold)
        self.pred += len(pred)
        self.found += sum(any(overlaps(g, p) for p in pred) for g in gold)
        self.right += sum(any(overlaps(p, g) for g in gold) for p in pred)

    def recall(self) -> float:
        return self.found / self.gold if self.gold else float("nan")

    def precision(self) -> float:
        return self.right / self.pred if self.pred else float("nan")


def tag(frame: pl.DataFrame, **config) -> list[list[dict]]:
    step = Pii.from_dict({"action": "tag", "fields": ["text"], **config})
    return step.process(frame).kept["text_pii"].to_list()


def score_presidio(path: Path) -> tuple[dict[str, Score], dict[str, int]]:
    records = [json.loads(line) for line in path.open(encoding="utf-8")]
    frame = pl.DataFrame({"text": [r["text"] for r in records], "lang": [r["lang"] for r in records]})
    tags = tag(frame, language_column="lang")
    scores: dict[str, Score] = defaultdict(Score)
    uncovered: dict[str, int] = defaultdict(int)
    for record, found in zip(records, tags):
        for label in record["scope_labels"]:
            kind = LABELS.get(label)
            if kind is None:
                uncovered[label] += 1
                continue
            gold = [(s["start"], s["end"]) for s in record["spans"] if s.get("label_src") == label]
            pred = [(t["start"], t["end"]) for t in found if t["kind"] == kind]
            scores[kind].add(gold, pred)
    return scores, uncovered


def score_phones(path: Path) -> dict[str, Score]:
    records = [json.loads(line) for line in path.open(encoding="utf-8")]
    frame = pl.DataFrame({"text": [r["text"] for r in records], "country": [r["region"] for r in records]})
    hinted = tag(frame, region_column="country")
    plain = tag(frame, default_region=None)
    scores: dict[str, Score] = defaultdict(Score)
    for record, with_hint, without in zip(records, hinted, plain):
        gold = [(s["start"], s["end"]) for s in record["spans"]]
        scores[f"{record['format']} (country hint)"].add(
            gold, [(t["start"], t["end"]) for t in with_hint if t["kind"] == "phone"]
        )
        if record["format"] != "NATIONAL":
            scores[f"{record['format']} (no hint)"].add(
                gold, [(t["start"], t["end"]) for t in without if t["kind"] == "phone"]
            )
    return scores


def eval_texts(eval_dir: Path) -> list[str]:
    texts: list[str] = []
    for name in ("pii.jsonl", "phone_examples.jsonl"):
        texts += [json.loads(line)["text"] for line in (eval_dir / name).open(encoding="utf-8")]
    return texts


def quickstart_texts() -> list[str]:
    """Every text of the sample data (sentence pairs and Wikipedia paragraphs, with the planted PII)."""
    texts: list[str] = []
    for path in sorted((ROOT / "data" / "pairs").glob("*.jsonl")):
        for line in path.open(encoding="utf-8", errors="replace"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                texts += [v for v in (record.get("src"), record.get("tgt")) if isinstance(v, str)]
    return texts + [t for t in pl.read_csv(ROOT / "data" / "wiki" / "paragraphs.csv")["text"].to_list() if t]


def repeated(texts: list[str], megabytes: float) -> pl.Series:
    size = sum(len(t.encode()) for t in texts)
    return pl.Series("text", texts * max(1, round(megabytes * 1e6 / size)))


def throughput(values: pl.Series, batch_rows: int = 50_000) -> tuple[float, float, float]:
    """MB of text, wall seconds and CPU seconds (this process, all threads) for the step (default config) over
    `values` in engine-sized batches. CPU time is the steadier figure on a machine shared with other work."""
    step = Pii.from_dict({"fields": ["text"]})
    step.setup()
    step.process(pl.DataFrame({"text": values.head(2000)}))  # load phonenumbers' metadata outside the timing
    megabytes = values.str.len_bytes().sum() / 1e6
    started, cpu = time.perf_counter(), time.process_time()
    for offset in range(0, values.len(), batch_rows):
        step.process(pl.DataFrame({"text": values.slice(offset, batch_rows)}))
    return megabytes, time.perf_counter() - started, time.process_time() - cpu


def python_only(values: pl.Series) -> tuple[float, float, float]:
    """Baseline: every detector's Python `find` on every row, no polars prefilter."""
    step = Pii.from_dict({"fields": ["text"]})
    hints = Hints(fallback=("US",))
    detectors = step.scanner.detectors
    texts = values.to_list()
    started, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        for d in detectors:
            list(d.find(text, hints))
    return values.str.len_bytes().sum() / 1e6, time.perf_counter() - started, time.process_time() - cpu


def fmt(x: float) -> str:
    return "  -  " if math.isnan(x) else f"{x:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=ROOT.parent / "shared" / "eval" / "pii")
    parser.add_argument("--mb", type=float, default=50.0, help="megabytes of text for the speed test")
    args = parser.parse_args()

    scores, uncovered = score_presidio(args.eval / "pii.jsonl")
    print(f"## {args.eval / 'pii.jsonl'}: span recall / precision per kind (overlap-matched, in-scope records)\n")
    print("| kind | gold spans | predicted | recall | precision | goal |")
    print("|---|---|---|---|---|---|")
    for kind in sorted(scores, key=lambda k: (k not in GOALS, k)):
        s = scores[kind]
        goal = GOALS.get(kind)
        verdict = ""
        if goal:
            ok = s.recall() >= goal[0] and s.precision() >= goal[1]
            verdict = f"R>={goal[0]} P>={goal[1]}: {'met' if ok else 'MISSED'}"
        print(f"| {kind} | {s.gold} | {s.pred} | {fmt(s.recall())} | {fmt(s.precision())} | {verdict} |")
    print(f"\nNot covered (no curate kind): {', '.join(f'{k} ({v})' for k, v in sorted(uncovered.items()))}\n")

    phones = score_phones(args.eval / "phone_examples.jsonl")
    print(f"## {args.eval / 'phone_examples.jsonl'}: phone recall / precision per format\n")
    print("| format | numbers | recall | precision | goal |")
    print("|---|---|---|---|---|")
    for name in sorted(phones):
        s = phones[name]
        goal = 0.8 if name.startswith("NATIONAL") else 0.95
        verdict = (
            f"R>={goal}: {'met' if s.recall() >= goal else 'MISSED'}"
            if "hint)" in name and "no hint" not in name
            else ""
        )
        print(f"| {name} | {s.gold} | {fmt(s.recall())} | {fmt(s.precision())} | {verdict} |")

    quick, dense = quickstart_texts(), eval_texts(args.eval)
    runs = [
        ("sample data/ (prose, planted PII)", repeated(quick, args.mb)),
        ("eval texts (every row PII, 17 B/row)", repeated(dense, args.mb / 25)),
        ("eval + sample data/ mixed", repeated(quick + dense, args.mb / 5)),
    ]
    print("\n## Speed: default config (all built-in kinds, mask), batches of 50,000 rows, one process\n")
    print("CPU time (this process, all threads) is the steadier figure on a machine shared with other work; the")
    print(
        "baseline runs the same detectors in Python on every row (no polars prefilter), on 5,000 rows of the corpus.\n"
    )
    print(
        "| corpus | MB of text | rows | wall s | MB/s (wall) | CPU s | MB/s (CPU) | rows/s (CPU) "
        "| baseline MB/s (CPU) | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, values in runs:
        mb, wall, cpu = throughput(values)
        base_mb, _, base_cpu = python_only(values.head(5000))
        base = base_mb / base_cpu
        print(f"| {name} | {mb:.1f} | {values.len():,} | {wall:.2f} | {mb / wall:.1f} | {cpu:.2f} | {mb / cpu:.1f} | "
              f"{values.len() / cpu:,.0f} | {base:.2f} | {mb / cpu / base:.1f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
