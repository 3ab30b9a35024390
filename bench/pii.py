"""PII step: span precision/recall per kind and per phone mode on shared/eval/pii with no hints at all, and
throughput in MB/s of text.

    python bench/pii.py [--mb 50] [--eval ../shared/eval/pii] [--fit]

Accuracy: `pii.jsonl` (presidio's unit-test texts) is scored per record on its `scope_labels` only: gold spans are
those with that `label_src`, predictions those of the mapped kind; a gold span is found when a predicted span
overlaps it, a predicted span is right when it overlaps a gold span. "No hints" means no region column, no language
column and no recipe `regions`: what the step knows is the text. The records are split in two halves by a seeded
hash of their text: `--fit` chooses the context-word window of the lenient phone mode on the first half (best F1),
and every figure is reported on the second half (and, for reference, on all records). `phone_examples.jsonl`
(libphonenumber's example numbers) is scored per format, with the record's region as the country hint and without,
and says whether a weak-checksum national ID (Canadian SIN, US SSN, Aadhaar) ever takes a phone number of the row's
own country. Sentences written here in the style of presidio-research's generator (Faker's phone numbers of 20
locales in 16 templates; Faker is in the bench extra) are scored per phone mode with no hints.

Speed: the step (default config: every built-in kind, mask) in batches of 50,000 rows as the engine sends them, per
phone mode, on the sample data/ texts repeated to --mb MB (prose with a little PII: the common case), on the eval
texts (every row is PII: the worst case, where libphonenumber's parsing dominates) and on both mixed; the baseline
in the same run is the same detectors run in Python on every row, without the polars prefilter.
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

from curate.core.hashing import seeded_hashes
from curate.pii import phones
from curate.pii.ids import SPECS
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
PHONE_LABELS = ("PHONE_NUMBER", "PH_MOBILE_NUMBER", "TR_PHONE_NUMBER")
GOALS = {"email": (0.97, 0.95), "credit_card": (0.98, 0.95), "iban": (0.98, 0.95), "ip": (0.97, 0.95)}
PHONE_GOAL = (0.9, 0.9)  # recall, precision in the lenient mode
SPLIT_SEED = 14
WINDOWS = [(before, after) for before in (16, 24, 32, 40, 48, 64) for after in (0, 8, 16, 24)]


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

    def f1(self) -> float:
        r, p = self.recall(), self.precision()
        return 2 * r * p / (r + p) if r + p else 0.0


def tag(frame: pl.DataFrame, **config) -> list[list[dict]]:
    step = Pii.from_dict({"action": "tag", "fields": ["text"], **config})
    return step.process(frame).kept["text_pii"].to_list()


def halves(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """(fit, report): split by a seeded hash of the text, so a text and its copies fall in the same half."""
    hashes = seeded_hashes([r["text"] for r in records], SPLIT_SEED)
    fit = [r for r, h in zip(records, hashes) if int(h) % 2 == 0]
    return fit, [r for r, h in zip(records, hashes) if int(h) % 2 == 1]


def score_presidio(records: list[dict], **config) -> tuple[dict[str, Score], dict[str, int]]:
    """Scores per kind, and per phone label as `phone:<label>`; `lang: True` gives each record its language."""
    columns = {"text": [r["text"] for r in records]}
    if config.pop("lang", False):
        columns["lang"] = [r["lang"] for r in records]
        config["language_column"] = "lang"
    tags = tag(pl.DataFrame(columns), **config)
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
            if kind == "phone":
                scores[f"phone:{label}"].add(gold, pred)
    return scores, uncovered


def fit_window(records: list[dict]) -> tuple[int, int, float, float]:
    """The context window (characters before, after) with the best lenient-mode phone F1 on `records`, the
    defaults unless another is strictly better; and the lowest and highest F1 over the windows tried."""
    default = (phones.CONTEXT_BEFORE, phones.CONTEXT_AFTER)
    f1s = {}
    for before, after in [default, *WINDOWS]:
        phones.CONTEXT_BEFORE, phones.CONTEXT_AFTER = before, after
        f1s[(before, after)] = score_presidio(records, phones="lenient")[0]["phone"].f1()
    phones.CONTEXT_BEFORE, phones.CONTEXT_AFTER = default
    best = max(f1s, key=lambda w: (f1s[w], w == default))
    return best[0], best[1], min(f1s.values()), max(f1s.values())


def national_variants(step: int = 10) -> pl.DataFrame:
    """Valid national numbers of every region, written the national way: libphonenumber's example mobile and
    fixed-line numbers with their last three digits varied (every `step`-th value), kept when still valid."""
    import phonenumbers

    texts, regions = [], []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            nsn = phonenumbers.national_significant_number(example)
            for tail in range(0, 1000, step):
                number = phonenumbers.parse(nsn[:-3] + f"{tail:03d}", region)
                if phonenumbers.is_valid_number_for_region(number, region):
                    texts.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
                    regions.append(region)
    return pl.DataFrame({"text": texts, "country": regions}).unique(maintain_order=True)


def weak_id_conflicts() -> tuple[int, int, int]:
    """Of the national numbers (`national_variants`), how many a weak-checksum ID also matches, and how many of
    those came out as that ID with the number's own country as the hint (goal: none)."""
    frame = national_variants()
    weak = sorted(s.kind for s in SPECS if s.weak)
    alone = tag(frame.select("text"), kinds=weak)
    contested = [i for i, found in enumerate(alone) if found]
    hinted = tag(frame[contested], region_column="country")
    taken = sum(any(t["kind"] in weak for t in found) for found in hinted)
    return frame.height, len(contested), taken


def score_phone_examples(path: Path) -> dict[str, Score]:
    """Scores per format, with the record's region as the country hint and with no hint in each mode."""
    records = [json.loads(line) for line in path.open(encoding="utf-8")]
    frame = pl.DataFrame({"text": [r["text"] for r in records], "country": [r["region"] for r in records]})
    hinted = tag(frame, region_column="country", phones="strict")
    plain = {mode: tag(frame.select("text"), phones=mode) for mode in phones.MODES}
    scores: dict[str, Score] = defaultdict(Score)
    for i, record in enumerate(records):
        gold = [(s["start"], s["end"]) for s in record["spans"]]
        scores[f"{record['format']} | country hint"].add(
            gold, [(t["start"], t["end"]) for t in hinted[i] if t["kind"] == "phone"]
        )
        for mode in phones.MODES:
            scores[f"{record['format']} | no hint, {mode}"].add(
                gold, [(t["start"], t["end"]) for t in plain[mode][i] if t["kind"] == "phone"]
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


def throughput(values: pl.Series, mode: str, batch_rows: int = 50_000) -> tuple[float, float, float]:
    """MB of text, wall seconds and CPU seconds (this process, all threads) for the step (default config, the given
    phone mode) over `values` in engine-sized batches. CPU time is the steadier figure on a shared machine."""
    step = Pii.from_dict({"fields": ["text"], "phones": mode})
    step.setup()
    step.process(pl.DataFrame({"text": values.head(2000)}))  # load phonenumbers' and CLDR's data outside the timing
    megabytes = values.str.len_bytes().sum() / 1e6
    started, cpu = time.perf_counter(), time.process_time()
    for offset in range(0, values.len(), batch_rows):
        step.process(pl.DataFrame({"text": values.slice(offset, batch_rows)}))
    return megabytes, time.perf_counter() - started, time.process_time() - cpu


def python_only(values: pl.Series) -> tuple[float, float, float]:
    """Baseline: every detector's Python `find` on every row, no polars prefilter, phones in strict mode."""
    step = Pii.from_dict({"fields": ["text"], "phones": "strict"})
    hints = Hints()
    detectors = step.scanner.detectors
    texts = values.to_list()
    started, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        for d in detectors:
            list(d.find(text, hints))
    return values.str.len_bytes().sum() / 1e6, time.perf_counter() - started, time.process_time() - cpu


def fmt(x: float) -> str:
    return "  -  " if math.isnan(x) else f"{x:.3f}"


def verdict(score: Score, goal: tuple[float, float] | None) -> str:
    if goal is None:
        return ""
    ok = score.recall() >= goal[0] and score.precision() >= goal[1]
    return f"R>={goal[0]} P>={goal[1]}: {'met' if ok else 'MISSED'}"


def print_kinds(title: str, scores: dict[str, Score]) -> None:
    print(f"### {title}\n")
    print("| kind | gold spans | predicted | recall | precision | goal |")
    print("|---|---|---|---|---|---|")
    for kind in sorted((k for k in scores if not k.startswith("phone")), key=lambda k: (k not in GOALS, k)):
        s = scores[kind]
        print(
            f"| {kind} | {s.gold} | {s.pred} | {fmt(s.recall())} | {fmt(s.precision())} | "
            f"{verdict(s, GOALS.get(kind))} |"
        )
    print()


def print_phone_modes(title: str, records: list[dict]) -> None:
    print(f"### {title}\n")
    print("| phone mode | hints | records | gold | predicted | recall | precision | goal |")
    print("|---|---|---|---|---|---|---|---|")
    for mode in phones.MODES:
        for lang in (False, True):
            s = score_presidio(records, phones=mode, lang=lang)[0]
            for key in ["phone", *(f"phone:{label}" for label in PHONE_LABELS)]:
                score = s[key]
                name = "all phone labels" if key == "phone" else key.split(":", 1)[1]
                goal = PHONE_GOAL if mode == "lenient" and key == "phone" and not lang else None
                print(
                    f"| {mode} | {'language' if lang else 'none'} | {name} | {score.gold} | {score.pred} | "
                    f"{fmt(score.recall())} | {fmt(score.precision())} | {verdict(score, goal)} |"
                )
    print()


# Sentences in the style of presidio-research's generator (Faker values in templates), written here, not fitted:
# each template holds one phone number; some have a context word, some only a name or an address beside it.
FAKER_TEMPLATES = (
    "My phone number is {phone}",
    "You can reach me at {phone}.",
    "Please call {phone} after 5pm",
    "Tel: {phone}",
    "{name}'s number: {phone}",
    "Contact {name} at {phone} or by email",
    "{name}, {phone}, {address}",
    "Phone {phone}",
    "I live at {address} and my cell is {phone}",
    "Call me on {phone}",
    "{name} ({phone})",
    "ph {phone}",
    "The office number {phone} is open on weekdays",
    "For more information call {phone}.",
    "{phone} is my mobile",
    "Text {name} on {phone} tomorrow",
)
FAKER_LOCALES = (
    "en_US",
    "en_GB",
    "fr_FR",
    "de_DE",
    "es_ES",
    "it_IT",
    "nl_NL",
    "pt_BR",
    "pl_PL",
    "sv_SE",
    "tr_TR",
    "ja_JP",
    "en_AU",
    "en_IN",
    "lt_LT",
    "fr_CH",
    "cs_CZ",
    "da_DK",
    "fi_FI",
    "ru_RU",
)


def faker_sentences(per_locale: int = 30) -> list[tuple[str, str, tuple[int, int]]]:
    """(locale, sentence, the phone number's span): Faker's phone numbers (many in no assigned range) of 20 locales."""
    import random

    from faker import Faker

    rng = random.Random(SPLIT_SEED)
    out = []
    for locale in FAKER_LOCALES:
        fake = Faker(locale)
        fake.seed_instance(SPLIT_SEED)
        for _ in range(per_locale):
            phone = fake.phone_number()
            text = rng.choice(FAKER_TEMPLATES).format(
                phone=phone, name=fake.name(), address=fake.address().replace("\n", ", ")
            )
            start = text.index(phone)
            out.append((locale, text, (start, start + len(phone))))
    return out


def print_faker_phones() -> None:
    try:
        sentences = faker_sentences()
    except ImportError:
        print("(Faker is not installed: pip install 'curate[bench]' for presidio-research-style sentences)\n")
        return
    print(
        f"## presidio-research-style sentences: {len(sentences)} Faker phone numbers of {len(FAKER_LOCALES)} "
        "locales in templates, no hints\n"
    )
    print("| phone mode | locale | numbers | recall | precision |")
    print("|---|---|---|---|---|")
    for mode in phones.MODES:
        tags = tag(pl.DataFrame({"text": [text for _, text, _ in sentences]}), phones=mode)
        per_locale: dict[str, Score] = defaultdict(Score)
        for (locale, _, span), found in zip(sentences, tags):
            pred = [(t["start"], t["end"]) for t in found if t["kind"] == "phone"]
            per_locale[locale].add([span], pred)
            per_locale["all"].add([span], pred)
        worst = min((s.recall(), name) for name, s in per_locale.items())
        for name in ("all", worst[1]):
            s = per_locale[name]
            label = name if name == "all" else f"lowest: {name}"
            print(f"| {mode} | {label} | {s.gold} | {fmt(s.recall())} | {fmt(s.precision())} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=ROOT.parent / "shared" / "eval" / "pii")
    parser.add_argument("--mb", type=float, default=50.0, help="megabytes of text for the speed test")
    parser.add_argument("--fit", action="store_true", help="fit the lenient context window on the first half")
    args = parser.parse_args()

    records = [json.loads(line) for line in (args.eval / "pii.jsonl").open(encoding="utf-8")]
    fit, report = halves(records)
    print(f"## {args.eval / 'pii.jsonl'}: {len(records)} records, {len(fit)} to fit and {len(report)} to report on\n")
    if args.fit:
        before, after, low, high = fit_window(fit)
        print(
            f"Fitted on the first half: context window {before} characters before, {after} after (defaults in "
            f"curate/pii/phones.py: {phones.CONTEXT_BEFORE}, {phones.CONTEXT_AFTER}); lenient phone F1 over the "
            f"{len(WINDOWS)} windows tried: {low:.3f} to {high:.3f}\n"
        )
        phones.CONTEXT_BEFORE, phones.CONTEXT_AFTER = before, after
    print(
        "Span recall / precision (overlap-matched, in-scope records only). Phones per mode: `strict` (+numbers "
        "and the hinted regions), `text` (also regions the text points at), `lenient` (also phone-shaped numbers "
        "near a context word or in a region's own national format). Hints `none`: the text alone; `language`: "
        "the record's language as `text_lang`.\n"
    )
    print_phone_modes("Phones, reported half", report)
    print_phone_modes("Phones, all records (reference)", records)
    scores, uncovered = score_presidio(report)
    print_kinds("Other kinds, reported half, no hints (default: lenient)", scores)
    print_kinds("Other kinds, all records, no hints (reference)", score_presidio(records)[0])
    print(f"Not covered (no curate kind): {', '.join(f'{k} ({v})' for k, v in sorted(uncovered.items()))}\n")

    examples = score_phone_examples(args.eval / "phone_examples.jsonl")
    print(f"## {args.eval / 'phone_examples.jsonl'}: phone recall / precision per format and hint\n")
    print("| format and hint | numbers | recall | precision |")
    print("|---|---|---|---|")
    for name in sorted(examples):
        s = examples[name]
        print(f"| {name} | {s.gold} | {fmt(s.recall())} | {fmt(s.precision())} |")
    print_faker_phones()
    numbers, contested, taken = weak_id_conflicts()
    print(
        f"\nWeak-checksum IDs against phones: of {numbers:,} valid national numbers of every region (libphonenumber's "
        f"example numbers, last three digits varied), {contested:,} also pass a Canadian SIN's, US SSN's or "
        f"Aadhaar's pattern and check; with their own country as the hint, {taken} came out as that ID instead "
        "of a phone (goal: 0).\n"
    )

    quick, dense = quickstart_texts(), eval_texts(args.eval)
    runs = [
        ("sample data/ (prose, planted PII)", repeated(quick, args.mb)),
        ("eval texts (every row PII, 17 B/row)", repeated(dense, args.mb / 25)),
        ("eval + sample data/ mixed", repeated(quick + dense, args.mb / 5)),
    ]
    print("## Speed: default config (all built-in kinds, mask), batches of 50,000 rows, one process\n")
    print("CPU time (this process, all threads) is the steadier figure on a machine shared with other work; the")
    print("baseline runs the same detectors in Python on every row (no polars prefilter, phones strict), on 5,000")
    print("rows of the corpus, in the same run.\n")
    print(
        "| corpus | phone mode | MB of text | rows | wall s | MB/s (wall) | CPU s | MB/s (CPU) | rows/s (CPU) "
        "| baseline MB/s (CPU) | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, values in runs:
        base_mb, _, base_cpu = python_only(values.head(5000))
        base = base_mb / base_cpu
        for mode in phones.MODES:
            mb, wall, cpu = throughput(values, mode)
            print(
                f"| {name} | {mode} | {mb:.1f} | {values.len():,} | {wall:.2f} | {mb / wall:.1f} | {cpu:.2f} | "
                f"{mb / cpu:.1f} | {values.len() / cpu:,.0f} | {base:.2f} | {mb / cpu / base:.1f}x |"
            )


if __name__ == "__main__":
    main()
