"""Which encoding a text file is in when nobody wrote it down, and the records of a file that are in another.

A file's encoding is read from its first bytes (`SAMPLE_BYTES`), most certain evidence first: a byte-order mark;
UTF-16/32, whose NUL bytes give them away; UTF-8, which legacy text is almost never by chance (a line of Cyrillic,
Greek or Japanese in a legacy encoding that happens to be valid UTF-8 is vanishingly rare); else chardet's
statistical detection (byte-pair models per language and encoding), the better of the maintained detectors on
`bench/encoding.py`. Where chardet scores several encodings nearly alike and they decode the sample differently
(`cœur` in ISO-8859-15 is `c½ur` in windows-1252), charset-normalizer's measure of mess (symbols inside words,
odd capitals, mixed scripts) picks among them: the two detectors look at different evidence.

In `auto` mode a record is then decoded with the file's encoding, unless it is valid UTF-8 while the file is not
(part of a file converted, or appended to, later), lies in a run of records in another legacy encoding (two files
concatenated: `_runs_in_other_encodings`), or is not valid in the file's encoding (a file that mixes two): such a
record is decoded on its own, by the candidates in `fallback_candidates`'s order; a record no candidate decodes, or
that is damaged UTF-8 (mostly valid, with a few stray bytes), is `unparseable`, its `_detail` naming the candidates
tried.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_BYTES = 200_000  # what chardet examines by default: its models converge well before
DAMAGED = 3  # valid UTF-8 characters per stray byte that make a record damaged UTF-8 (bench/encoding.py --fit)
NEAR_TIE = 0.9  # chardet candidates within this share of its best confidence are near-ties (bench/encoding.py --fit)
WEAK = 0.05  # chardet's best confidence under which it had too little to go on: charset-normalizer's answer contends
WINDOW = 16_384  # bytes of a file's non-ASCII records judged together when looking for runs in another encoding
MIN_WINDOW = 1_024  # ... and the least: a small file is cut in four windows of at least this
SIMILAR = 0.9  # cosine of two windows' byte histograms above which the second is taken to be in the first's encoding
UTF8 = "utf-8"
WIDE = ("utf-16", "utf-32")
STATEFUL = ("iso2022", "hz", "utf-7")

# Byte-order marks, longest first (a UTF-32-LE mark starts like a UTF-16-LE one). The plain `utf-16`/`utf-32`
# codecs read the mark and the byte order from it.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Encodings whose bytes a wider one reads (nearly) the same way, adding what the narrow one lacks: vendor extensions
# (cp932's NEC and IBM rows, GBK and GB18030, Unified Hangul), the C1 range the Windows code pages fill with
# punctuation. A record a file's narrow encoding can't read is most likely in its wider sibling. These are the
# decoders the WHATWG Encoding Standard gives these labels.
WIDER = {
    "ascii": "utf-8",
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "big5": "big5hkscs",
    "cp950": "big5hkscs",
    "euc_jp": "euc_jis_2004",
}


def codec_name(encoding: str) -> str:
    """Python's own name for an encoding (`windows-1251` -> `cp1251`, `latin-1` -> `iso8859-1`)."""
    return codecs.lookup(encoding).name


def is_wide(encoding: str) -> bool:
    """UTF-16/32: not ASCII-compatible, so records can't be found in the raw bytes before decoding."""
    return codec_name(encoding).startswith(WIDE)


@dataclass(frozen=True)
class FileEncoding:
    """What a file is read with: a codec name, how it was found, and whether records in other encodings get the
    per-record fallback."""

    name: str
    how: str
    fallback: bool = False


def bom_encoding(head: bytes) -> str | None:
    return next((name for mark, name in BOMS if head.startswith(mark)), None)


def _complete_lines(sample: bytes, truncated: bool) -> bytes:
    """The sample without a last line the cut may have split in the middle of a character."""
    cut = sample.rfind(b"\n")
    return sample[: cut + 1] if truncated and cut > 0 else sample


def _utf8(data: bytes) -> str | None:
    return _strict(data, UTF8)


def mostly_utf8(sample: bytes) -> bool:
    """Most lines with non-ASCII bytes are valid UTF-8: a UTF-8 file with a few damaged or foreign lines. Legacy
    text is valid UTF-8 by chance on a line or two at most."""
    foreign = [line for line in sample.split(b"\n") if not line.isascii()]
    valid = sum(_utf8(line) is not None for line in foreign)
    return valid * 2 > len(foreign)


def unicode_without_bom(sample: bytes) -> str | None:
    """UTF-32 or UTF-16 without a byte-order mark: the ones that decode the sample to text (no unassigned,
    private-use or control characters), and of those the one whose text keeps to the fewest blocks of 128 code
    points (Khmer read in the wrong byte order is a scatter of Yi, Hangul and CJK). Valid UTF-32 is rare by chance
    (every four bytes must be under 0x110000), so it is tried first."""
    import unicodedata

    found = []
    for name in ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be"):
        try:
            text = codecs.getincrementaldecoder(name)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        if text and all(ch in "\t\n\r" or unicodedata.category(ch) not in ("Cc", "Cn", "Co", "Cs") for ch in text):
            found.append((len({ord(ch) >> 7 for ch in text}), name))
        if found and name == "utf-32-be":
            break
    return min(found)[1] if found else None


def detect(sample: bytes, truncated: bool = False) -> FileEncoding:
    """The encoding of a file from its first bytes (`truncated`: the file goes on after them)."""
    if mark := bom_encoding(sample):
        return FileEncoding(mark, "byte-order mark")
    if b"\x00" in sample and (wide := unicode_without_bom(sample)):  # NUL bytes: UTF-16/32, or binary data
        return FileEncoding(wide, "UTF-16/32 without BOM")
    sample = _complete_lines(sample, truncated)
    if sample.isascii():
        found = _chardet_ranking(sample) if b"\x1b" in sample or b"~{" in sample else []
        if found and found[0][0].startswith(STATEFUL):  # ISO-2022 and HZ are 7-bit, their escapes give them away
            return FileEncoding(narrowest(found[0][0], sample), "escape sequences")
        return FileEncoding(UTF8, "ASCII")
    if _utf8(sample) is not None or mostly_utf8(sample):
        return FileEncoding(UTF8, "UTF-8")
    evidence = legacy_lines(sample)
    ranked = _chardet_ranking(evidence)
    if not ranked:
        wide = unicode_without_bom(sample)
        return FileEncoding(wide, "UTF-16/32 without BOM") if wide else FileEncoding(UTF8, "no encoding fits")
    name, confidence = best_decoding(evidence, ranked)
    return FileEncoding(narrowest(name, evidence), f"chardet, confidence {confidence:.2f}")


def legacy_lines(data: bytes) -> bytes:
    """The evidence for a legacy encoding: the sample as it is (with the charset a web page declares, which chardet
    reads, and trusts where that encoding decodes the page), or only its lines that are neither ASCII nor UTF-8 when
    some lines are UTF-8 (those are read as UTF-8 anyway, and would only blur it)."""
    lines = [line for line in data.split(b"\n") if not line.isascii()]
    legacy = [line for line in lines if _utf8(line) is None]
    return data if len(legacy) == len(lines) else b"\n".join(legacy)


# Encodings that read some of their standard's own bytes otherwise: cp932 maps six code points of JIS X 0208 apart
# (〜 ‖ − ¢ £ ¬; browsers map them as Shift_JIS does), JIS X 0213's Shift_JIS reads a lone 0x5c as ¥ (a JSON
# escape!), cp949 does not compose EUC-KR's eight-byte Hangul syllables (KS X 1001's way to write the syllables
# outside its 2,350). (GBK and cp950 read GB2312's and Big5's bytes as browsers do, and as the texts of those
# regions mean them: they stay.)
STANDARD = {
    "cp932": "shift_jis",
    "shift_jis_2004": "shift_jis",
    "shift_jisx0213": "shift_jis",
    "cp949": "euc_kr",
    "euc_jis_2004": "euc_jp",
    "euc_jisx0213": "euc_jp",
    "iso2022_jp_2": "iso2022_jp",
    "iso2022_jp_2004": "iso2022_jp",
    "iso2022_jp_3": "iso2022_jp",
    "iso2022_jp_ext": "iso2022_jp",
}


def narrowest(name: str, data: bytes) -> str:
    """The standard rather than its vendor's code page or later edition (`STANDARD`) when it reads `data`: the file
    shows no sign of what they add. Records that need it fall back to it (`WIDER`, or chardet on the record)."""
    standard = STANDARD.get(name)
    return standard if standard and _decoded(data, standard) is not None else name


def _chardet_ranking(data: bytes) -> list[tuple[str, float]]:
    """chardet's candidates, best first, as codec names; empty for binary data. Without UTF-16/32: those are found
    before (`unicode_without_bom`), and a record of an ASCII-compatible file is not in them."""
    import chardet

    ranked = chardet.detect_all(data, compat_names=False)
    out = []
    for found in ranked:
        if found["encoding"] is None:
            continue
        try:
            name = codec_name(found["encoding"])
        except LookupError:
            continue
        if not name.startswith(WIDE):
            out.append((UTF8 if name == "ascii" else name, found["confidence"]))
    return out


def best_decoding(data: bytes, ranked: list[tuple[str, float]]) -> tuple[str, float]:
    """chardet's best candidate, unless near-ties decode `data` differently: then the one whose decoding of the lines
    where they differ is least messy to charset-normalizer (chardet's order breaks a tie). When chardet had too
    little to go on (a short record), charset-normalizer's own answer contends too."""
    top = ranked[0][1]
    contenders = [(name, confidence) for name, confidence in ranked if confidence >= top * NEAR_TIE]
    if top < WEAK and (other := _charset_normalizer_answer(data)):
        contenders.append((other, top))
    texts: dict[str, tuple[str, float]] = {}  # decoding -> the first candidate that gives it
    for name, confidence in contenders:
        text = _decoded(data, name)
        if text is not None:
            texts.setdefault(text, (name, confidence))
    if len(texts) <= 1:
        return next(iter(texts.values()), ranked[0])
    scores = [mess(lines) for lines in _differing_lines(list(texts))]
    return list(texts.values())[min(range(len(scores)), key=scores.__getitem__)]


def mess(text: str) -> float:
    """charset-normalizer's measure of how unlike text a decoding is (0: clean)."""
    from charset_normalizer.md import mess_ratio

    return mess_ratio(text, 1.0)


def _charset_normalizer_answer(data: bytes) -> str | None:
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    try:
        return codec_name(best.encoding) if best is not None else None
    except LookupError:
        return None


def _differing_lines(texts: list[str], limit: int = 32_768) -> list[str]:
    """For each decoding, its lines where the decodings differ (up to `limit` characters): the evidence between them."""
    split = [t.split("\n") for t in texts]
    rows = [i for i, lines in enumerate(zip(*split)) if len(set(lines)) > 1]
    out = []
    for lines in split:
        chosen, size = [], 0
        for i in rows:
            if size > limit:
                break
            chosen.append(lines[i])
            size += len(lines[i])
        out.append("\n".join(chosen))
    return out


_C1 = re.compile("[\x80-\x9f]")


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _decoded(data: bytes, encoding: str) -> str | None:
    """`data` as text in `encoding`, or None when it is not valid there, or decodes to C1 control characters (what
    ISO-8859 makes of the punctuation windows code pages put at 0x80-0x9f: not text)."""
    text = _strict(data, encoding)
    return None if text is None or _C1.search(text) else text


@dataclass
class Decoded:
    """A batch of records as text (None where no encoding read it, with the reason in `problems`); `stats` counts
    the records decoded on their own per encoding (`fallback:<name>`) and those none read (`undecodable`)."""

    texts: list[str | None]
    problems: list[str | None]
    stats: Counter = field(default_factory=Counter)


def utf8_evidence(raw: bytes) -> tuple[int, int]:
    """(characters of two or more bytes that are valid UTF-8, stray bytes that are not) in a record."""
    text = raw.decode(UTF8, "surrogateescape")
    stray = sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
    return sum(1 for ch in text if ch >= "\x80") - stray, stray


def damaged_utf8(raw: bytes) -> bool:
    """Mostly valid UTF-8 with a few stray bytes (a cut or a damaged byte): not a record in a legacy encoding, whose
    non-ASCII bytes form valid UTF-8 only by chance and rarely (cp1251 `Ві` reads as UTF-8 `ó`)."""
    valid, stray = utf8_evidence(raw)
    return stray > 0 and valid >= DAMAGED * stray


class RecordDecoder:
    """Decodes the records of one file: with its encoding, and in `auto` mode the records in another encoding on
    their own."""

    def __init__(self, encoding: FileEncoding):
        self.encoding = encoding
        self.name = encoding.name

    @property
    def passthrough(self) -> bool:
        """Records are UTF-8 as read: the file is read as strict UTF-8, or decoded from UTF-16/32 while read."""
        return self.name == UTF8 and not self.encoding.fallback or is_wide(self.name)

    def as_read(self, raws: list[bytes]) -> bool:
        """Are these records UTF-8 as they are (the file is read as UTF-8, and they all are: checked in one call)?"""
        return self.passthrough or self.name == UTF8 and _utf8(b"\n".join(raws)) is not None

    @property
    def ascii_safe(self) -> bool:
        """Every byte below 0x80 is the ASCII character (not so in the stateful 7-bit ISO-2022 and HZ encodings)."""
        return not self.name.startswith(STATEFUL)

    def decode(self, raws: list[bytes]) -> Decoded:
        if self.encoding.fallback:
            texts = [_decoded(raw, self.name) for raw in raws]
        else:  # the encoding the recipe names, as it is (ISO-8859's C1 controls too)
            texts = [_strict(raw, self.name) for raw in raws]
        problems: list[str | None] = [None] * len(raws)
        used = [self.name] * len(raws)
        if self.encoding.fallback and self.name != UTF8:
            for i, raw in enumerate(raws):  # valid UTF-8 in a file that is not: part of it was converted later
                if not raw.isascii() and (text := _utf8(raw)) is not None and text != texts[i]:
                    texts[i], used[i] = text, UTF8
            _runs_in_other_encodings(raws, texts, used, self.name)
        stats = Counter(f"fallback:{name}" for name in used if name != self.name)
        bad = [i for i, text in enumerate(texts) if text is None]
        if bad and not self.encoding.fallback:
            for i in bad:
                problems[i] = (
                    self._invalid(raws[i], [self.name]) + " (`encoding: auto` decodes such records on their own)"
                )
        elif bad:
            pool = _pool_encoding([raws[i] for i in bad])
            for i in bad:
                texts[i], by, problems[i] = self._on_its_own(raws[i], pool)
                if by is not None:
                    stats[f"fallback:{by}"] += 1
        stats["undecodable"] += sum(p is not None for p in problems)
        return Decoded(texts, problems, +stats)

    def _on_its_own(self, raw: bytes, pool: str | None) -> tuple[str | None, str | None, str | None]:
        """(text, encoding, None), or (None, None, why) for a record the file's encoding can't read."""
        if damaged_utf8(raw):
            return None, None, self._invalid(raw, [UTF8]) + ": damaged UTF-8 (most of the record is valid UTF-8)"
        tried = [self.name]
        for name in fallback_candidates(raw, self.name, pool):
            if name in tried:
                continue
            tried.append(name)
            text = _decoded(raw, name)
            if text is not None:
                return text, name, None
        return None, None, self._invalid(raw, tried)

    @staticmethod
    def _invalid(raw: bytes, tried: list[str]) -> str:
        first = tried[0]
        try:
            raw.decode(first)
            where = ""
        except UnicodeDecodeError as exc:
            where = f" (byte 0x{raw[exc.start]:02x} at {exc.start})"
        except LookupError:
            where = ""
        if len(tried) == 1:
            return f"bytes not valid in {first}{where}"
        return f"bytes not valid in any encoding tried: {', '.join(tried)}{where}"


def _runs_in_other_encodings(raws: list[bytes], texts: list[str | None], used: list[str], name: str) -> None:
    """Finds runs of records in another legacy encoding than the file's `name` (two files concatenated), and reads
    them with it (in place). The records with non-ASCII bytes, in order, are cut in windows; a window whose bytes
    look like the window before it (`SIMILAR` histograms of its bytes) is in the file's encoding when the two windows
    before it were judged to be (most windows of large files: the shortcut keeps reading fast; the histograms of
    smaller windows are too noisy to trust); any other window chardet judges (`_judged`). Where the encoding
    changes, each record of the windows on both sides is judged between the encodings around it (`_likeliest`): a
    window may hold the end of one file and the start of the next."""
    evidence = [i for i, raw in enumerate(raws) if used[i] == name and not raw.isascii()]
    windows, decisions = [], []
    previous, settled = None, 0  # the histogram of the window before; how many windows in a row are the file's
    for window in _windows(evidence, raws):
        data = b"\n".join(raws[i] for i in window)
        histogram = _byte_histogram(data)
        if settled >= 2 and len(data) >= WINDOW and _cosine(histogram, previous) >= SIMILAR:
            judged = [(window, name, True)]
        else:
            judged = _judged(window, raws, name)
        windows += [part for part, _, _ in judged]
        decisions += [decision for _, decision, _ in judged]
        previous, settled = histogram, settled + 1 if judged == [(window, name, True)] else 0
    for k, window in enumerate(windows):
        around = list(dict.fromkeys([decisions[k], *decisions[max(k - 1, 0) : k + 2]]))
        if around == [name]:
            continue
        for i in window:
            readings = {n: text for n in dict.fromkeys([*around, name]) if (text := _decoded(raws[i], n)) is not None}
            if not readings or set(readings.values()) == {texts[i]}:
                continue
            default = decisions[k] if decisions[k] in readings else next(iter(readings))
            chosen = _likeliest(raws[i], list(readings), default) if len(set(readings.values())) > 1 else default
            texts[i], used[i] = readings[chosen], chosen


def _windows(evidence: list[int], raws: list[bytes]) -> list[list[int]]:
    """Consecutive groups of records of at least the window's size in bytes."""
    total = sum(len(raws[i]) for i in evidence)
    size = min(WINDOW, max(MIN_WINDOW, total // 4))
    windows, current, filled = [], [], 0
    for i in evidence:
        current.append(i)
        filled += len(raws[i])
        if filled >= size:
            windows.append(current)
            current, filled = [], 0
    if current:
        windows.append(current)
    return windows


def _byte_histogram(data: bytes):
    import numpy as np

    return np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)[128:].astype(float)


def _cosine(a, b) -> float:
    import numpy as np

    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else 0.0


def _judged(window: list[int], raws: list[bytes], name: str) -> list[tuple[list[int], str, bool]]:
    """(records, encoding, sure) for a window: chardet's encoding, unless the file's `name` decodes it the same way
    or is a near-tie of it there (a window is less evidence than the file's sample: only a clear preference
    overrules it). A window chardet is unsure of (under `WEAK`) may be the end of one file and the start of the
    next: its halves are judged apart."""
    data = b"\n".join(raws[i] for i in window)
    ranked = _chardet_ranking(data)
    if not ranked:
        return [(window, name, False)]
    if ranked[0][1] < WEAK and len(window) > 1:
        half = len(window) // 2
        return _judged(window[:half], raws, name) + _judged(window[half:], raws, name)
    other, confidence = best_decoding(data, ranked)
    theirs = _decoded(data, other)
    if theirs is None or theirs == _decoded(data, name) or dict(ranked).get(name, 0.0) >= NEAR_TIE * confidence:
        return [(window, name, ranked[0][1] >= WEAK)]
    return [(window, other, ranked[0][1] >= WEAK)]


def _likeliest(raw: bytes, names: list[str], default: str) -> str:
    """Which of a few encodings chardet finds likeliest for one record, with only those to choose from (its
    byte-pair models tell KOI8-R from windows-1251 in a sentence, where a measure of mess sees two clean
    decodings); `default` when it can't tell."""
    import warnings

    import chardet

    known = {_chardet_name(n): n for n in names}
    known.pop(None, None)
    if not known:
        return default
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ranked = chardet.detect_all(raw, compat_names=False, include_encodings=list(known))
    scores = {known[found]: r["confidence"] for r in ranked if (found := _chardet_name(r["encoding"] or "")) in known}
    best = max(names, key=lambda n: scores.get(n, 0.0))
    return default if scores.get(best, 0.0) <= scores.get(default, 0.0) else best


def _chardet_name(name: str) -> str | None:
    """chardet's name for an encoding, or for the edition it models in its place (EUC-JP by EUC-JIS-2004...)."""
    from chardet.registry import lookup_encoding

    editions = [edition for edition, standard in STANDARD.items() if standard == name]
    return next((found for n in [name, *editions] if (found := lookup_encoding(n))), None)


def _pool_encoding(raws: list[bytes]) -> str | None:
    """The encoding of the records a file's encoding can't read, judged together: records of one file that are in
    another encoding mostly share it, and together they are more evidence than any one of them."""
    pool = b"\n".join(raw for raw in raws if not damaged_utf8(raw))[:SAMPLE_BYTES]
    if not pool or pool.isascii():
        return None
    ranked = _chardet_ranking(pool)
    return best_decoding(pool, ranked)[0] if ranked else None


def fallback_candidates(raw: bytes, file_encoding: str, pool: str | None) -> Iterator[str]:
    """Encodings to try on a record the file's encoding can't read, likeliest first: the wider sibling of the file's
    encoding (a vendor extension), UTF-8, the encoding of the file's other such records, then what chardet makes of
    the record alone."""
    if file_encoding in WIDER:
        yield WIDER[file_encoding]
    yield UTF8
    if pool is not None:
        yield pool
    ranked = _chardet_ranking(raw)
    if ranked:
        yield best_decoding(raw, ranked)[0]
        yield from (name for name, _ in ranked[1:4])


def resolve_encoding(path: Path, declared: str | None) -> FileEncoding:
    """What a file is read with. A codec named in the recipe: that codec. `auto`: the detected encoding, and records
    in another encoding decoded on their own. Not given: UTF-8 as always when the file is UTF-8 (records that are
    not are `unparseable`), else what `auto` does: a legacy file is read, not rejected line by line."""
    from dataclasses import replace

    from curate.io.compressed import open_input

    if declared not in (None, "auto"):
        return FileEncoding(codec_name(declared), "declared")
    with open_input(path) as handle:
        sample = handle.read(SAMPLE_BYTES + 1)
    found = detect(sample[:SAMPLE_BYTES], truncated=len(sample) > SAMPLE_BYTES)
    if declared is None and found.name == UTF8:
        return found
    return replace(found, fallback=not is_wide(found.name))
