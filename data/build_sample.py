#!/usr/bin/env python3
"""Build the small, real, multilingual sample data shipped in ``data/``.

Usage (from the repository root)::

    python data/build_sample.py                # reads ../shared/eval, writes data/
    python data/build_sample.py --eval DIR     # another copy of the eval data

Standard library only (Python 3.11).  Fully deterministic: one
``random.Random(13)`` drives every choice, in a fixed order, so re-running the
script reproduces the files byte for byte.

Outputs (relative to this script's folder):

* ``pairs/en-{fr,es,de,sw,gd,yi}.jsonl`` - Tatoeba English-X sentence pairs
  ``{src, tgt, src_lang, tgt_lang, id}`` with realistic mess planted in them.
* ``wiki/paragraphs.csv`` - 50 XQuAD Wikipedia paragraphs in each of 12
  languages (``id,lang,title,text``) plus 2 exact and 2 near duplicates.
* ``MESS.md`` - a table of every planted defect (file, 1-based line, kind).

If ``ftfy`` happens to be importable the mojibake rows are additionally checked
to round-trip through ``ftfy.fix_text``; the output never depends on whether it
is installed (the rows are chosen with a stdlib-only rule).
"""
from __future__ import annotations

import argparse
import csv
import io
import ipaddress
import json
import random
import re
import unicodedata
from pathlib import Path

SEED = 13
HERE = Path(__file__).resolve().parent
DEFAULT_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"

# (output name, eval file code, how many pairs to keep; None = all)
PAIR_SPECS = [
    ("en-fr", "fra", None),
    ("en-es", "spa", None),
    ("en-de", "deu", None),
    ("en-sw", "swa", 120),
    ("en-gd", "gla", 60),
    ("en-yi", "yid", 25),
]
FIELDS = ("src", "tgt", "src_lang", "tgt_lang", "id")

XQUAD_PER_LANG = 50
XQUAD_FORCED_GROUP = "xquad:64"  # its paragraphs contain newlines; keep one such group

# Fabricated, format-valid PII test values (documentation ranges / well-known
# test numbers; none belongs to a real person).
PII_PLAN = [
    # (file, subtype, value, template)
    ("en-fr", "email", "jane.doe@example.org", "{src} You can reach me at {v}."),
    ("en-fr", "phone", "+33 6 12 34 56 78", "Call me at {v} tomorrow. {src}"),
    ("en-fr", "ipv4", "203.0.113.7", "{src} The server address is {v}."),
    ("en-es", "email", "maria.garcia@example.net", "Write to {v} if you have questions. {src}"),
    ("en-es", "phone", "(415) 555-0132", "{src} My number is {v}."),
    ("en-es", "credit_card", "4111 1111 1111 1111", "{src} My card number is {v}."),
    ("en-de", "iban", "DE89 3704 0044 0532 0130 00", "{src} Please transfer the deposit to IBAN {v}."),
    ("en-de", "email", "j.smith+invoices@example.com", "Send the invoice to {v}. {src}"),
    ("en-de", "ipv4", "192.0.2.146", "{src} It logged in from {v} last night."),
    ("en-sw", "phone", "+44 20 7946 0958", "Call me at {v} tomorrow. {src}"),
    ("en-gd", "iban", "GB82 WEST 1234 5698 7654 32", "{src} My IBAN is {v}."),
    ("en-yi", "credit_card", "5555-5555-5555-4444", "{src} Charge it to card {v}."),
]

EXACT_DUPS = {"en-fr": 4, "en-es": 3, "en-de": 3, "en-sw": 2, "en-gd": 2, "en-yi": 1}
NEAR_DUPS = {"en-fr": 3, "en-es": 3, "en-de": 3, "en-sw": 2, "en-gd": 2, "en-yi": 2}
NEAR_VARIANTS = ["case", "punct", "whitespace", "word", "two_words"]
# (file, codec) - codec is the wrong decoder applied to the UTF-8 bytes
MOJIBAKE_PLAN = [
    ("en-fr", "cp1252"), ("en-fr", "cp1252"), ("en-fr", "cp1252"),
    ("en-es", "cp1252"), ("en-es", "cp1252"), ("en-es", "latin-1"),
    ("en-de", "cp1252"), ("en-de", "cp1252"),
    ("en-gd", "cp1252"),
    ("en-yi", "latin-1"),
]

NAME_SWAPS = [("Tom", "Tim"), ("Mary", "Maria"), ("John", "Jon")]
WORD_SWAPS = {
    "the": "a", "is": "was", "was": "is", "this": "that", "that": "this",
    "very": "really", "big": "large", "small": "little", "can": "could",
    "will": "would", "always": "often", "he": "she", "she": "he", "his": "her",
    "my": "our", "your": "their", "good": "nice", "here": "there",
}


# --------------------------------------------------------------------------- helpers

def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "")
    s = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


def check_pii_values() -> None:
    for _, kind, value, _ in PII_PLAN:
        if kind == "credit_card":
            assert luhn_ok(value), value
        elif kind == "iban":
            assert iban_ok(value), value
        elif kind == "ipv4":
            ipaddress.IPv4Address(value)
        elif kind == "email":
            assert re.fullmatch(r"[\w.+-]+@example\.(org|com|net)", value), value


# C1 controls and the Unicode line/paragraph separators are legal raw in JSON,
# but str.splitlines() splits on U+0085/U+2028/U+2029; write them escaped so a
# line is always one record whatever line splitter a reader uses.
_ESCAPE_RE = re.compile("[\u0080-\u009f\u2028\u2029]")


def dumps(rec: dict) -> str:
    s = json.dumps(rec, ensure_ascii=False)
    return _ESCAPE_RE.sub(lambda m: "\\u%04x" % ord(m.group()), s)


class Line:
    """One physical line of a JSONL file (a record, or raw bytes)."""

    __slots__ = ("rec", "raw", "mess")

    def __init__(self, rec: dict | None = None, raw: bytes | None = None):
        self.rec = rec
        self.raw = raw
        self.mess: list[dict] = []

    def to_bytes(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return dumps(self.rec).encode("utf-8")


def clean_record(row: dict) -> dict:
    return {k: row[k] for k in FIELDS}


def nonascii_letters_only(t: str) -> bool:
    """True when t has non-ASCII characters and all of them are letters/marks.

    Excludes curly quotes, dashes, ellipses... (ftfy would also 'fix' those,
    so the garbled text would not round-trip to the original exactly)."""
    na = [c for c in t if ord(c) > 127]
    return bool(na) and all(unicodedata.category(c)[0] in "LM" for c in na)


def mojibake_ok(t: str, codec: str) -> bool:
    if not nonascii_letters_only(t) or unicodedata.normalize("NFC", t) != t:
        return False
    try:
        t.encode("utf-8").decode(codec)  # strict: no U+FFFD in the result
    except UnicodeDecodeError:
        return False
    return True


def garble(t: str, codec: str) -> str:
    return t.encode("utf-8").decode(codec)


WORD_RE = re.compile(r"\b[A-Za-z]+\b")


def near_dup(rec: dict, variant: str) -> tuple[dict, str]:
    new = dict(rec)
    src, tgt = rec["src"], rec["tgt"]
    if variant == "case":
        new["src"] = src.lower()
        what = "src lower-cased"
    elif variant == "punct":
        if src[-1] in ".!?" and tgt[-1] in ".!?":
            new["src"], new["tgt"] = src[:-1], tgt[:-1]
            what = "final punctuation removed from src and tgt"
        else:
            new["src"], new["tgt"] = src + ".", tgt + "."
            what = "final '.' added to src and tgt"
    elif variant == "whitespace":
        new["src"] = "  " + src.replace(" ", "   ", 2) + " "
        new["tgt"] = tgt + "  "
        what = "extra leading/inner/trailing spaces in src, trailing spaces in tgt"
    else:  # word / two_words
        n = 1 if variant == "word" else 2
        changed = []
        s, t = src, tgt
        for a, b in NAME_SWAPS:
            if len(changed) < n and re.search(rf"\b{a}\b", s) and re.search(rf"\b{a}\b", t):
                s = re.sub(rf"\b{a}\b", b, s, count=1)
                t = re.sub(rf"\b{a}\b", b, t, count=1)
                changed.append(f"{a}->{b} (src and tgt)")
        for m in list(WORD_RE.finditer(s)):
            if len(changed) >= n:
                break
            w = m.group()
            rep = WORD_SWAPS.get(w.lower())
            if rep and m.start() > 0:
                s = s[: m.start()] + rep + s[m.end():]
                changed.append(f"{w}->{rep}")
                break  # offsets changed; at most one generic swap per pass
        while len(changed) < n:  # fall back to dropping a word
            words = s.split(" ")
            i = len(words) // 2
            changed.append(f"dropped '{words[i]}'")
            s = " ".join(words[:i] + words[i + 1:])
        new["src"], new["tgt"] = s, t
        what = "word change in src: " + ", ".join(changed)
    assert (new["src"], new["tgt"]) != (src, tgt)
    return new, what


# --------------------------------------------------------------------------- build

def build(eval_dir: Path, out_dir: Path) -> None:
    rng = random.Random(SEED)
    check_pii_values()

    # ---- load and subsample the pairs
    files: dict[str, list[Line]] = {}
    unused: dict[str, list[dict]] = {}
    tgt_lang_of: dict[str, str] = {}
    for name, code, n in PAIR_SPECS:
        with open(eval_dir / "parallel" / f"eng-{code}.jsonl", encoding="utf-8") as fh:
            rows = [json.loads(x) for x in fh if x.strip()]
        keep = range(len(rows)) if n is None else sorted(rng.sample(range(len(rows)), n))
        keep_set = set(keep)
        files[name] = [Line(clean_record(rows[i])) for i in keep]
        unused[name] = [clean_record(r) for i, r in enumerate(rows) if i not in keep_set]
        tgt_lang_of[name] = rows[0]["tgt_lang"]

    # ---- XQuAD paragraphs
    with open(eval_dir / "dedup" / "xquad_paragraphs.jsonl", encoding="utf-8") as fh:
        paras = [json.loads(x) for x in fh if x.strip()]
    groups = sorted({p["parallel_group"] for p in paras}, key=lambda g: int(g.split(":")[1]))
    others = [g for g in groups if g != XQUAD_FORCED_GROUP]
    chosen = set(rng.sample(others, XQUAD_PER_LANG - 1)) | {XQUAD_FORCED_GROUP}
    langs = sorted({p["lang"] for p in paras})
    wiki = []
    for lang in langs:
        for p in paras:
            if p["lang"] == lang and p["parallel_group"] in chosen:
                wiki.append({"id": p["id"], "lang": p["lang"], "title": p["title"],
                             "text": p["text"], "_mess": []})
    assert len(wiki) == XQUAD_PER_LANG * len(langs)

    # ---- mess in the pairs files
    originals = {name: [ln for ln in lines] for name, lines in files.items()}
    used: dict[str, set[int]] = {name: set() for name in files}
    added: dict[str, list[tuple[Line, Line | None]]] = {name: [] for name in files}

    def pick(name, pred=lambda r: True) -> Line:
        cands = [i for i, ln in enumerate(originals[name])
                 if i not in used[name] and pred(ln.rec)]
        i = rng.choice(cands)
        used[name].add(i)
        return originals[name][i]

    def mark(line, kind, subtype, detail, ref=None, **extra):
        line.mess.append({"kind": kind, "subtype": subtype, "detail": detail,
                          "ref": ref, **extra})

    # exact duplicates (added after their original)
    k = 0
    for name, cnt in EXACT_DUPS.items():
        for _ in range(cnt):
            orig = pick(name)
            rec = dict(orig.rec)
            same_id = k % 2 == 0
            if not same_id:
                rec["id"] = rec["id"] + "-dup"
            dup = Line(rec)
            mark(dup, "exact_duplicate", "same_id" if same_id else "new_id",
                 "copy of the record on line {ref}" + ("" if same_id else ", id suffixed '-dup'"),
                 ref=orig)
            added[name].append((dup, orig))
            k += 1

    # near duplicates (added after their original)
    k = 0
    for name, cnt in NEAR_DUPS.items():
        for _ in range(cnt):
            variant = NEAR_VARIANTS[k % len(NEAR_VARIANTS)]
            need_words = variant in ("word", "two_words")
            orig = pick(name, lambda r: len(r["src"].split()) >= 5 if need_words else True)
            rec, what = near_dup(orig.rec, variant)
            rec["id"] = orig.rec["id"] + "-v2"
            nd = Line(rec)
            mark(nd, "near_duplicate", variant, f"near copy of line {{ref}}: {what}", ref=orig)
            added[name].append((nd, orig))
            k += 1

    # mojibake (in place, tgt garbled)
    for name, codec in MOJIBAKE_PLAN:
        ln = pick(name, lambda r: mojibake_ok(r["tgt"], codec))
        orig_tgt = ln.rec["tgt"]
        ln.rec["tgt"] = garble(orig_tgt, codec)
        mark(ln, "mojibake", codec,
             f"tgt = tgt.encode('utf-8').decode('{codec}'); original tgt: {orig_tgt}",
             original=orig_tgt)

    # PII inserted into src (in place)
    for name, subtype, value, template in PII_PLAN:
        ln = pick(name, lambda r: r["src"].rstrip()[-1:] in ".!?")
        ln.rec["src"] = template.format(src=ln.rec["src"], v=value)
        mark(ln, "pii", subtype, f"src now contains `{value}`", value=value)

    # empty / whitespace-only src (in place)
    for name in ("en-fr", "en-de", "en-sw"):
        ln = pick(name)
        ln.rec["src"] = ""
        mark(ln, "empty_src", "empty", 'src set to ""')
    for name, ws in (("en-es", "   "), ("en-gd", "\t\t ")):
        ln = pick(name)
        ln.rec["src"] = ws
        mark(ln, "empty_src", "whitespace_only", f"src set to {json.dumps(ws)}")

    # missing / null src (in place)
    for name in ("en-fr", "en-yi"):
        ln = pick(name)
        del ln.rec["src"]
        mark(ln, "missing_src", "no_key", "the src key was removed")
    ln = pick("en-es")
    ln.rec["src"] = None
    mark(ln, "missing_src", "null", "src set to null")

    # wrong language
    for name in ("en-fr", "en-fr", "en-es", "en-sw"):
        ln = pick(name)
        ln.rec["src"], ln.rec["tgt"] = ln.rec["tgt"], ln.rec["src"]
        mark(ln, "wrong_language", "swapped",
             f"src and tgt swapped: src is {tgt_lang_of[name]}, tgt is eng")
    ln = pick("en-es")
    ln.rec["tgt"] = ln.rec["src"]
    mark(ln, "wrong_language", "untranslated", "tgt replaced by a copy of the English src")
    ln = pick("en-de")
    ln.rec["src"] = ln.rec["tgt"]
    mark(ln, "wrong_language", "src_not_english", "src replaced by the German tgt (src is deu)")
    for name, donor in (("en-gd", "en-sw"), ("en-yi", "en-gd")):
        rec = dict(rng.choice(unused[donor]))
        true_lang = rec["tgt_lang"]
        rec["tgt_lang"] = tgt_lang_of[name]
        ln = Line(rec)
        mark(ln, "wrong_language", "misfiled",
             f"added {donor} pair {rec['id']}: tgt is {true_lang} but labelled {rec['tgt_lang']}")
        added[name].append((ln, None))

    # HTML tags / entities (in place)
    ln = pick("en-fr", lambda r: len(r["src"].split()) >= 4)
    words = ln.rec["src"].split(" ")
    j = max(range(1, len(words)), key=lambda i: len(words[i].strip(".,!?")))
    w = words[j]
    core = w.rstrip(".,!?")
    words[j] = f"<b>{core}</b>{w[len(core):]}"
    ln.rec["src"] = " ".join(words)
    mark(ln, "html", "tag", f"<b>...</b> around '{core}' in src")
    ln = pick("en-es", lambda r: " and " in r["src"])
    ln.rec["src"] = ln.rec["src"].replace(" and ", " &amp; ", 1)
    mark(ln, "html", "entity", "' and ' in src replaced by ' &amp; '")
    ln = pick("en-de", lambda r: "'" in r["src"] and " " in r["tgt"])
    ln.rec["src"] = "<p>" + ln.rec["src"].replace("'", "&#39;") + "<br/></p>"
    ln.rec["tgt"] = ln.rec["tgt"].replace(" ", "&nbsp;", 1)
    mark(ln, "html", "tag_and_entity", "src wrapped in <p>...<br/></p> with ' as &#39;; first space of tgt as &nbsp;")

    # whitespace noise / control character (in place)
    ln = pick("en-fr", lambda r: r["src"].count(" ") >= 3)
    ln.rec["src"] = ln.rec["src"].replace(" ", "  ", 3)
    mark(ln, "whitespace", "double_space", "first three spaces in src doubled")
    ln = pick("en-sw", lambda r: r["tgt"].count(" ") >= 2)
    ln.rec["tgt"] = ln.rec["tgt"].replace(" ", "  ")
    mark(ln, "whitespace", "double_space", "every space in tgt doubled")
    ln = pick("en-es", lambda r: " " in r["tgt"])
    ln.rec["tgt"] = ln.rec["tgt"].replace(" ", "\t", 1)
    mark(ln, "whitespace", "tab", "first space in tgt replaced by a TAB (\\t)")
    ln = pick("en-gd", lambda r: " " in r["src"])
    ln.rec["src"] = ln.rec["src"].replace(" ", " \x07", 1)
    mark(ln, "control_char", "bel", "BEL (\\x07, JSON \\u0007) after the first space of src")

    # broken lines (in place: the record's line is corrupted)
    ln = pick("en-fr")
    s = dumps(ln.rec)
    ln.raw = s[: int(len(s) * 0.6)].encode("utf-8")
    mark(ln, "broken_json", "truncated", f"record {ln.rec['id']} cut at 60% of its length")
    ln = pick("en-es")
    ln.raw = (dumps(ln.rec) + ",").encode("utf-8")
    mark(ln, "broken_json", "trailing_garbage", f"record {ln.rec['id']} followed by a trailing ','")
    ln = pick("en-de", lambda r: "'" not in r["src"] + r["tgt"] and '"' not in r["src"] + r["tgt"])
    ln.raw = ("{" + ", ".join(f"'{k2}': '{v}'" for k2, v in ln.rec.items()) + "}").encode("utf-8")
    mark(ln, "broken_json", "single_quotes", f"record {ln.rec['id']} written with single quotes")
    ln = pick("en-sw")
    ln.raw = b"undefined"
    mark(ln, "broken_json", "bare_word", f"record {ln.rec['id']} replaced by the bare word undefined")

    # invalid UTF-8 (in place)
    ln = pick("en-de", lambda r: r["src"].count(" ") >= 2)
    s = dumps(ln.rec).encode("utf-8")
    cut = s.index(b" ", s.index(b'"src": "') + 9) + 1
    ln.raw = s[:cut] + b"\xff\xfe" + s[cut:]
    mark(ln, "invalid_utf8", "bytes_ff_fe", f"bytes \\xff\\xfe inserted into the src of {ln.rec['id']}")

    # blank line (added)
    blank = Line(raw=b"")
    mark(blank, "blank_line", "empty", "an empty line")
    added["en-es"].append((blank, None))

    # very long record (added)
    clean_fr = [ln.rec for ln in originals["en-fr"] if not ln.mess]
    start = rng.randrange(0, len(clean_fr) - 12)
    block = clean_fr[start:start + 12]
    src_block = " ".join(r["src"] for r in block)
    tgt_block = " ".join(r["tgt"] for r in block)
    reps = -(-20000 // (len(src_block) + 1))
    long_rec = {"src": " ".join([src_block] * reps), "tgt": " ".join([tgt_block] * reps),
                "src_lang": "eng", "tgt_lang": tgt_lang_of["en-fr"], "id": "long:en-fr:1"}
    long_ln = Line(long_rec)
    mark(long_ln, "long_record", "20k_chars",
         f"12 real pairs joined and repeated {reps} times: src {len(long_rec['src'])} chars, "
         f"tgt {len(long_rec['tgt'])} chars")
    added["en-fr"].append((long_ln, None))

    # ---- insert the added lines (after their original when they have one)
    for name, items in added.items():
        lines = files[name]
        for ln, after in items:
            lo = 1 if after is None else next(i for i, x in enumerate(lines) if x is after) + 1
            hi = len(lines) - 1 if ln.raw == b"" else len(lines)
            lines.insert(rng.randint(lo, max(lo, hi)), ln)

    # ---- planted CSV duplicates
    def wiki_pick(pred=lambda p: True):
        cands = [p for p in wiki if not p["_mess"] and not p.get("_copy") and pred(p)]
        return rng.choice(cands)

    spaced = lambda p: p["lang"] not in ("zh", "th") and len(p["text"].split()) > 40
    wiki_added = []
    for same_id in (True, False):
        orig = wiki_pick()
        row = {k2: orig[k2] for k2 in ("id", "lang", "title", "text")}
        if not same_id:
            row["id"] += "-dup"
        row["_mess"] = [{"kind": "exact_duplicate", "subtype": "same_id" if same_id else "new_id",
                         "detail": "copy of the paragraph on line {ref} (row {refrow})", "ref": orig}]
        orig["_copy"] = True
        wiki_added.append((row, orig))
    # near dup 1: two words dropped
    orig = wiki_pick(spaced)
    toks = orig["text"].split(" ")
    i1, i2 = len(toks) // 3, 2 * len(toks) // 3
    dropped = [toks[i1], toks[i2]]
    text = " ".join(t for i, t in enumerate(toks) if i not in (i1, i2))
    row = {"id": orig["id"] + "-v2", "lang": orig["lang"], "title": orig["title"], "text": text,
           "_mess": [{"kind": "near_duplicate", "subtype": "two_words",
                      "detail": "near copy of line {ref} (row {refrow}): words "
                                f"'{dropped[0]}' and '{dropped[1]}' dropped", "ref": orig}]}
    orig["_copy"] = True
    wiki_added.append((row, orig))
    # near dup 2: whitespace + punctuation
    orig = wiki_pick(lambda p: spaced(p) and ". " in p["text"].strip())
    text = orig["text"].strip().replace(". ", ".  ")
    text = text[:-1] if text[-1:] in ".।" else text + "."
    row = {"id": orig["id"] + "-v2", "lang": orig["lang"], "title": orig["title"], "text": text,
           "_mess": [{"kind": "near_duplicate", "subtype": "whitespace_punct",
                      "detail": "near copy of line {ref} (row {refrow}): stripped, two spaces after "
                                "each '. ', final full stop removed/added", "ref": orig}]}
    orig["_copy"] = True
    wiki_added.append((row, orig))
    for row, orig in wiki_added:
        lo = next(i for i, x in enumerate(wiki) if x is orig) + 1
        wiki.insert(rng.randint(lo, len(wiki)), row)

    # ---- write
    (out_dir / "pairs").mkdir(parents=True, exist_ok=True)
    (out_dir / "wiki").mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        with open(out_dir / "pairs" / f"{name}.jsonl", "wb") as fh:
            for ln in lines:
                fh.write(ln.to_bytes() + b"\n")

    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "lang", "title", "text"])
    line_no = 2
    for p in wiki:
        p["_line"] = line_no
        start = buf.tell()
        w.writerow([p["id"], p["lang"], p["title"], p["text"]])
        line_no += buf.getvalue()[start:].count("\n")
    with open(out_dir / "wiki" / "paragraphs.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())

    write_mess_md(out_dir, files, wiki)


# --------------------------------------------------------------------------- MESS.md

def natural_issues(files: dict[str, list[Line]]) -> list[str]:
    out = []
    for name, lines in files.items():
        seen: dict[tuple, int] = {}
        for no, ln in enumerate(lines, 1):
            if ln.mess or ln.rec is None:
                continue
            for field, other in (("src", "tgt"), ("tgt", "src")):
                key = (field, ln.rec.get(field))
                if key in seen:
                    out.append(f"| data/pairs/{name}.jsonl | {no} | same {field} as line "
                               f"{seen[key]}, different {other} (real Tatoeba data) |")
                else:
                    seen[key] = no
    return out


def write_mess_md(out_dir: Path, files: dict[str, list[Line]], wiki: list[dict]) -> None:
    rows = []
    counts: dict[str, int] = {}
    for name, lines in files.items():
        pos = {id(ln): no for no, ln in enumerate(lines, 1)}
        for no, ln in enumerate(lines, 1):
            for m in ln.mess:
                detail = m["detail"].replace("{ref}", str(pos[id(m["ref"])]) if m["ref"] else "")
                rows.append((f"data/pairs/{name}.jsonl", no, m["kind"], m["subtype"], detail))
                counts[m["kind"]] = counts.get(m["kind"], 0) + 1
    csv_rows = []
    for rowno, p in enumerate(wiki, 1):
        for m in p["_mess"]:
            ref = m["ref"]
            refrow = next(i for i, x in enumerate(wiki, 1) if x is ref)
            detail = m["detail"].replace("{ref}", str(ref["_line"])).replace("{refrow}", str(refrow))
            csv_rows.append(("data/wiki/paragraphs.csv", p["_line"], rowno, m["kind"],
                             m["subtype"], detail))

    def cell(x) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    total_lines = {name: len(lines) for name, lines in files.items()}
    md = ["# Planted mess in the sample data", "",
          "Generated by `python data/build_sample.py` (seed 13); do not edit by hand.",
          "Line numbers are 1-based physical lines (split the raw bytes on `\\n`).",
          "In-place defects replace a real record on that line; `exact_duplicate`, `near_duplicate`,",
          "`wrong_language`/`misfiled`, `blank_line` and `long_record` are extra lines added to the file.",
          "", "## Line counts", "", "| file | lines |", "|---|---|"]
    for name, n in total_lines.items():
        md.append(f"| data/pairs/{name}.jsonl | {n} |")
    n_csv = len(wiki)
    md.append(f"| data/wiki/paragraphs.csv | {n_csv} data rows + header "
              f"({wiki[-1]['_line'] + wiki[-1]['text'].count(chr(10))} physical lines; "
              f"some texts contain newlines) |")
    md += ["", "## Summary (pairs files)", "", "| kind | count |", "|---|---|"]
    for kind, c in sorted(counts.items()):
        md.append(f"| {kind} | {c} |")
    md += ["", "## Pairs files", "", "| file | line | kind | subtype | detail |", "|---|---|---|---|---|"]
    for r in rows:
        md.append("| " + " | ".join(cell(x) for x in r) + " |")
    md += ["", "## CSV",
           "", "`line` is the physical line where the row starts (header = line 1); `row` is the",
           "1-based data row as read by `csv.DictReader`.", "",
           "| file | line | row | kind | subtype | detail |", "|---|---|---|---|---|---|"]
    for r in csv_rows:
        md.append("| " + " | ".join(cell(x) for x in r) + " |")
    nat = natural_issues(files)
    md += ["", "## Natural (not planted) quirks of the source data", "",
           "Tatoeba sometimes has two translations of one sentence (or one translation of two",
           "sentences); these rows are real, not planted duplicates. Tatoeba text also uses curly",
           "quotes and apostrophes as is. Only lines without planted mess are checked here.", "",
           "| file | line | note |", "|---|---|---|"] + (nat or ["| - | - | none |"])
    (out_dir / "MESS.md").write_text("\n".join(md) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- verify

def parse_mess_md(path: Path) -> list[dict]:
    out = []
    section = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:]
        if section in ("Pairs files", "CSV") and line.startswith("| data/"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            if section == "Pairs files":
                f, ln, kind, sub, detail = cells
                out.append({"file": f, "line": int(ln), "kind": kind, "subtype": sub, "detail": detail})
            else:
                f, ln, row, kind, sub, detail = cells
                out.append({"file": f, "line": int(ln), "row": int(row), "kind": kind,
                            "subtype": sub, "detail": detail})
    return out


def verify(out_dir: Path) -> dict[str, int]:
    mess = parse_mess_md(out_dir / "MESS.md")
    by_file: dict[str, dict[int, list[dict]]] = {}
    for m in mess:
        by_file.setdefault(m["file"], {}).setdefault(m.get("row", m["line"]), []).append(m)
    try:
        import ftfy  # optional
    except ImportError:
        ftfy = None
    counts = {}
    for name, _, _ in PAIR_SPECS:
        rel = f"data/pairs/{name}.jsonl"
        raw = (out_dir / "pairs" / f"{name}.jsonl").read_bytes()
        assert raw.endswith(b"\n")
        lines = raw[:-1].split(b"\n")
        counts[rel] = len(lines)
        marks = by_file.get(rel, {})
        recs = {}
        for no, b in enumerate(lines, 1):
            kinds = {m["kind"] for m in marks.get(no, [])}
            if "invalid_utf8" in kinds:
                try:
                    b.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                raise AssertionError(f"{rel}:{no} decodes as UTF-8")
            s = b.decode("utf-8")
            if "blank_line" in kinds:
                assert s == "", (rel, no)
                continue
            if "broken_json" in kinds:
                try:
                    json.loads(s)
                except json.JSONDecodeError:
                    continue
                raise AssertionError(f"{rel}:{no} parses as JSON")
            rec = json.loads(s)
            assert isinstance(rec, dict), (rel, no)
            assert len(s.splitlines()) == 1, (rel, no)
            recs[no] = rec
            if "missing_src" in kinds:
                assert rec.get("src") is None, (rel, no)
            else:
                assert isinstance(rec["src"], str), (rel, no)
            if "empty_src" in kinds:
                assert rec["src"].strip() == "", (rel, no)
            else:
                assert rec.get("src") is None or rec["src"].strip(), (rel, no)
        for no, ms in marks.items():
            for m in ms:
                if m["kind"] in ("exact_duplicate", "near_duplicate"):
                    ref = int(re.search(r"line (\d+)", m["detail"]).group(1))
                    assert ref < no
                    a, b2 = recs[no], recs[ref]
                    same = (a["src"], a["tgt"]) == (b2["src"], b2["tgt"])
                    assert same == (m["kind"] == "exact_duplicate"), (rel, no)
                if m["kind"] == "mojibake" and ftfy is not None:
                    orig = m["detail"].split("original tgt: ", 1)[1].replace("\\|", "|")
                    assert ftfy.fix_text(recs[no]["tgt"]) == orig, (rel, no)
                if m["kind"] == "pii":
                    val = re.search(r"`(.+)`", m["detail"]).group(1)
                    assert val in recs[no]["src"], (rel, no)
                if m["kind"] == "long_record":
                    assert len(recs[no]["src"]) >= 20000, (rel, no)
                if m["kind"] == "control_char":
                    assert "\x07" in recs[no]["src"], (rel, no)
    rel = "data/wiki/paragraphs.csv"
    with open(out_dir / "wiki" / "paragraphs.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    counts[rel] = len(rows)
    assert all(list(r) == ["id", "lang", "title", "text"] for r in rows)
    for rowno, ms in by_file.get(rel, {}).items():
        for m in ms:
            ref = int(re.search(r"row (\d+)", m["detail"]).group(1))
            same = rows[rowno - 1]["text"] == rows[ref - 1]["text"]
            assert same == (m["kind"] == "exact_duplicate"), (rowno, m)
    return counts


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", type=Path, default=DEFAULT_EVAL,
                    help="the shared eval data folder (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: %(default)s)")
    args = ap.parse_args(argv)
    build(args.eval, args.out)
    for f, n in verify(args.out).items():
        print(f"{n:6d}  {f}")


if __name__ == "__main__":
    main()
