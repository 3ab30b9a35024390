"""`pii`: find personal data (emails, phones, cards, IBANs, IPs, URLs, national IDs, crypto addresses, and names
and addresses with an optional NER model) and tag, mask, pseudonymize it, or drop the row.

Fast path: polars runs one cheap regex per kind over the whole batch to find the few rows that may hold PII; only
those rows are validated in Python (checksums, `ipaddress`, libphonenumber). Offsets in `{field}_pii` are Python
character offsets into the field as this step writes it. Counts per kind go to the manifest; values never do.

By default every text column is scanned: the sources' string columns, the strings inside their struct and list
columns, and text a step added (the text before a review correction); not the tags steps add (`text_lang`,
`dup_cluster`) nor curate's own `_` columns. The engine
also `scrub`s, with this step's config, the rejects of the steps that ran before it, so that no value this step
removes leaves the run through rejects/.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache

import polars as pl
from pydantic import Field, field_validator, model_validator

from curate.core.errors import CurateError
from curate.core.markdown import table
from curate.core.rows import DETAIL, RAW_BYTES, REASON
from curate.pii import BUILTIN, BY_KIND, GROUPS, Hints, Scanner, Span
from curate.pii.actions import Action, replacer, rewrite
from curate.pii.ner import NerBackend, NerConfig, load_backend
from curate.pii.phones import PHONE_PREFILTER, PhoneMode, detector, is_phone_column
from curate.pii.regions import language_code, region_code, regions_of_country, regions_of_language, text_regions
from curate.pii.scan import resolve
from curate.stages.base import BatchStep, CardSection, StepConfig, StepResult
from curate.stages.registry import register

REJECT_TEXT = ("_raw", "_detail")  # curate's own columns that can hold a record's text: scanned in rejects
TAG_DTYPE = pl.List(pl.Struct({"kind": pl.String, "start": pl.Int64, "end": pl.Int64}))
_ALL_KINDS = ", ".join([d.kind for d in BUILTIN] + list(GROUPS))


def tag_column(values: pl.Series, rows: list[int], tags: list[list[Span]]) -> pl.Series:
    """`{field}_pii`: the spans given for `rows`, an empty list elsewhere, null where the text is null (built from
    flat columns and a join, not a Python object per row)."""
    flat = [(row, s.kind, s.start, s.end) for row, spans in zip(rows, tags) for s in spans]
    frame = pl.DataFrame({"v": values}).with_row_index("_i")
    if flat:
        columns = list(zip(*flat))
        found = (
            pl.DataFrame(
                {"_i": columns[0], "kind": columns[1], "start": columns[2], "end": columns[3]},
                schema={"_i": pl.UInt32, "kind": pl.String, "start": pl.Int64, "end": pl.Int64},
            )
            .group_by("_i", maintain_order=True)
            .agg(pl.struct("kind", "start", "end").alias("t"))
        )
        frame = frame.join(found, on="_i", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=TAG_DTYPE).alias("t"))
    empty = pl.lit([], dtype=TAG_DTYPE)
    return frame.select(pl.when(pl.col("v").is_null()).then(None).otherwise(pl.coalesce("t", empty)).alias("t"))["t"]


def _holds_text(dtype: pl.DataType) -> bool:
    """A struct or list type with strings somewhere inside."""
    if isinstance(dtype, pl.Struct):
        return any(f.dtype == pl.String or _holds_text(f.dtype) for f in dtype.fields)
    if isinstance(dtype, (pl.List, pl.Array)):
        return dtype.inner == pl.String or _holds_text(dtype.inner)
    return False


def map_strings(values: pl.Series, change: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """`values` with `change` applied to every string in it, at any depth of structs and lists, as batch calls on
    the flattened strings (a struct field at a time, a list's items exploded)."""
    dtype = values.dtype
    if dtype == pl.String:
        return change(values)
    if isinstance(dtype, pl.Struct):
        fields = [map_strings(values.struct.field(f.name), change).alias(f.name) for f in dtype.fields]
        rebuilt = pl.DataFrame(fields).select(pl.struct(pl.all()).alias(values.name)).to_series()
        return pl.select(pl.when(values.is_null()).then(None).otherwise(rebuilt).alias(values.name)).to_series()
    if isinstance(dtype, pl.List) and _holds_text(dtype):
        frame = pl.DataFrame({"v": values}).with_row_index("_i")
        items = frame.filter(pl.col("v").list.len() > 0).explode("v")
        items = items.with_columns(map_strings(items["v"], change).alias("v"))
        lists = items.group_by("_i", maintain_order=True).agg(pl.col("v").alias("new"))
        joined = frame.join(lists, on="_i", how="left", maintain_order="left")
        return joined.select(pl.coalesce("new", "v").alias(values.name)).to_series()
    return values


def _expand(names: list[str]) -> list[str]:
    """Kind names with groups (`national_id`) replaced by their members, in order, without repeats."""
    out: list[str] = []
    for name in names:
        out.extend(GROUPS.get(name, [name]))
    return list(dict.fromkeys(out))


class PiiConfig(StepConfig):
    fields: list[str] | None = Field(
        None,
        min_length=1,
        description="text columns to scan (default: every string column the rows have, and the strings inside "
        "struct and list columns, except curate's `_` columns and the tags earlier steps added, such as `text_lang`)",
    )
    kinds: list[str] | None = Field(
        None,
        min_length=1,
        description=f"kinds to find (default: all built-in ones, plus the NER kinds when `ner` is set): {_ALL_KINDS}",
    )
    action: Action = Field(
        "mask",
        description="what to do with PII: `tag` (only list it in `{field}_pii`), `mask` (`<EMAIL>`...), "
        "`pseudonymize` (`<EMAIL_3f2a...>`, a keyed hash: the same value gives the same token), "
        "`drop` (reject the row as `pii:<kind>`)",
    )
    actions: dict[str, Action] = Field(
        default_factory=dict, description="per-kind actions that override `action`, e.g. {phone: tag, iban: drop}"
    )
    region_column: str | None = Field(
        None, description="column with each row's country (ISO 3166-1 alpha-2 such as FR, or a locale such as fr_CA)"
    )
    language_column: str | None = Field(
        None,
        description="column with each row's language (ISO 639-1/639-3), used for phone regions when there is no "
        "country; default `{field}_lang`, else `text_lang`, when the rows have it",
    )
    regions: list[str] = Field(
        default_factory=list,
        description="regions (ISO 3166-1 alpha-2) of the corpus, tried in order after each row's own for phone "
        "numbers written the national way, e.g. [GB, FR]",
    )
    phones: PhoneMode = Field(
        "lenient",
        description="phone numbers: `strict` (+numbers, and national ones valid in the row's regions from "
        "`region_column`, the language or `regions`), `text` (also regions the text points at: +numbers' country "
        "codes, country names, domains, script), `lenient` (also phone-shaped numbers near a word such as tel, "
        "appelez, 電話, written with + and a country code's length, or exactly the way a region writes its national "
        "numbers)",
    )
    pseudonymize_key_env: str = Field(
        "CURATE_PII_KEY", description="environment variable holding the secret key for `pseudonymize`"
    )
    ner: NerConfig | None = Field(
        None,
        description="names and addresses with a local NER model: {backend: spacy|gliner, model: ..., labels: "
        "{model label: kind}}; needs `pip install 'curate[pii-ner]'`",
    )
    redact_rejects: bool = Field(
        True,
        description="mask every PII span in the rows this step rejects and in the rejects of the steps before it, so "
        "rejects/ holds no PII either (false: the actions apply to them, as to kept rows)",
    )

    @field_validator("regions")
    @classmethod
    def _regions(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if region_code(v) is None]
        if unknown:
            raise ValueError(f"unknown region {unknown[0]!r}: give ISO 3166-1 alpha-2 codes such as US, FR, DE, IN")
        return [region_code(v) for v in values]

    @model_validator(mode="after")
    def _known_kinds(self) -> PiiConfig:
        ner_kinds = self.ner.kinds() if self.ner else []
        allowed = [d.kind for d in BUILTIN] + list(GROUPS) + ner_kinds
        for name in (self.kinds or []) + list(self.actions):
            if name not in allowed:
                hint = (
                    " (names and addresses need `ner: {backend: spacy|gliner, model: ...}`)"
                    if name in ("person", "address", "name")
                    else ""
                )
                raise ValueError(f"unknown PII kind {name!r}{hint}; allowed: {', '.join(allowed)}")
        chosen = set(self.kind_list())
        for name in self.actions:
            if not set(_expand([name])) & chosen:
                raise ValueError(f"`actions` names {name!r}, which is not among the kinds searched")
        return self

    def kind_list(self) -> list[str]:
        """The kinds searched, groups expanded, in the order that settles overlaps."""
        ner_kinds = self.ner.kinds() if self.ner else []
        wanted = set(_expand(self.kinds)) if self.kinds else {d.kind for d in BUILTIN} | set(ner_kinds)
        return [d.kind for d in BUILTIN if d.kind in wanted] + [k for k in ner_kinds if k in wanted]

    def action_of(self) -> dict[str, str]:
        out = {kind: self.action for kind in self.kind_list()}
        for name, action in self.actions.items():  # a group first, then single kinds override it
            if name in GROUPS:
                out.update({k: action for k in GROUPS[name] if k in out})
        out.update({k: a for k, a in self.actions.items() if k not in GROUPS})
        return out


@register("pii")
class Pii(BatchStep):
    """Find PII (emails, phones, cards, IBANs, IPs, URLs, national IDs, crypto, names): mask, pseudonymize, tag or drop.

    `{field}_pii` lists `{kind, start, end}` (character offsets into the field as written by this step); the
    manifest gets counts per kind (`pii:<kind>`), never values.
    """

    Config = PiiConfig
    config: PiiConfig
    version = "2"
    scrubs_rejects = True
    note_if_absent = "No PII step ran: personal data may remain."

    @classmethod
    def card_sections(cls, steps: list[dict]) -> list[CardSection]:
        """Personal data found per kind, over every pii step: counts only."""
        counts: Counter = Counter()
        for step in steps:
            counts.update({k: v for k, v in step["stats"].items() if k.startswith("pii:")})
        if not counts:
            return []
        rows = [[f"`{k.removeprefix('pii:')}`", f"{v:,}"] for k, v in sorted(counts.items())]
        text = "Personal data found (counts per kind only; no value is recorded anywhere).\n\n" + table(
            rows, ["kind", "found"]
        )
        return [CardSection("Personal data", text, steps[0]["index"], "findings")]

    def __init__(self, config: PiiConfig, context=None):
        super().__init__(config, context)
        self.kinds = config.kind_list()
        self.actions = config.action_of()
        phone = detector(config.phones)
        self.scanner = Scanner([phone if k == "phone" else BY_KIND[k] for k in self.kinds if k in BY_KIND])
        self.ner_rank = {k: 1e6 + i for i, k in enumerate(self.kinds) if k not in BY_KIND}  # after every pattern
        self._secret: bytes | None = None
        self._ner: NerBackend | None = None
        self._ready = False

    def requires(self) -> list[str]:
        c = self.config
        return list(c.fields or []) + [col for col in (c.region_column, c.language_column) if col]

    def produces(self) -> list[str]:
        return [f"{f}_pii" for f in (self.config.fields or ["text"])]

    def setup(self) -> None:
        if self._ready:
            return
        if "pseudonymize" in self.actions.values():
            env = self.config.pseudonymize_key_env
            key = os.environ.get(env, "")
            if not key:
                kinds = ", ".join(k for k, a in self.actions.items() if a == "pseudonymize")
                raise CurateError(
                    f"the pii step pseudonymizes {kinds} with a secret key read from the environment variable {env}, "
                    f"which is not set: export {env}=<a long random secret> (keep it out of the recipe; the same key "
                    "gives the same pseudonyms in every run)"
                )
            self._secret = key.encode()
        if self.ner_rank and self.config.ner is not None:
            self._ner = load_backend(self.config.ner)
        self._ready = True

    # -- which columns ------------------------------------------------------------------------------------------
    def _columns(self, batch: pl.DataFrame) -> list[str]:
        if self.config.fields:
            return [f for f in self.config.fields if f in batch.columns]
        return [c for c in batch.columns if not c.startswith("_") and c not in self.context.tags]

    def fields_of(self, batch: pl.DataFrame) -> list[str]:
        """The text columns to scan in this batch: `fields` when given, else every string column but curate's own
        and the tags earlier steps added (see the module doc)."""
        schema = batch.schema
        return [
            c
            for c in self._columns(batch)
            if (self.config.fields or schema[c] == pl.String) and not schema[c].is_nested()
        ]

    def nested_of(self, batch: pl.DataFrame) -> list[str]:
        """The columns among those that hold text inside structs or lists (`{"author": {"email": ...}}`)."""
        return [c for c in self._columns(batch) if _holds_text(batch.schema[c])]

    def _scrub_nested(self, frame: pl.DataFrame, rejected: bool, stats: Counter) -> pl.DataFrame:
        """Every string inside the nested columns handled as its kind's action says (`drop` masks there, and
        everything is masked in rejected rows when `redact_rejects`); no tag column: offsets need a flat text."""
        columns = self.nested_of(frame)
        if not columns or frame.height == 0:
            return frame
        actions = {k: "mask" if a == "drop" else a for k, a in self.actions.items()}
        replace_span = replacer(actions, self._secret, mask_all=rejected and self.config.redact_rejects)

        def scrub_strings(values: pl.Series) -> pl.Series:
            found = self.detect(pl.DataFrame({"v": values}), "v")
            rows = sorted(found)
            stats.update(f"pii:{s.kind}" for r in rows for s in found[r])
            texts = values.gather(rows).to_list() if rows else []
            new = [rewrite(text, found[r], replace_span)[0] for r, text in zip(rows, texts)]
            return values.scatter(rows, pl.Series(new, dtype=pl.String)) if rows else values

        return frame.with_columns(map_strings(frame[c], scrub_strings) for c in columns)

    # -- detection ----------------------------------------------------------------------------------------------
    def _hints(self, batch: pl.DataFrame, field: str) -> Callable[[int], Hints]:
        c = self.config
        lang_col = c.language_column or next(
            (name for name in (f"{field}_lang", "text_lang") if name in batch.columns), None
        )
        countries, languages = (
            batch[name].cast(pl.String).to_list() if name and name in batch.columns else None
            for name in (c.region_column, lang_col)
        )
        clues = self._clues(batch[field]) if c.phones != "strict" and "phone" in self.kinds else {}
        fallback = tuple(c.regions)
        phone_column = c.phones == "lenient" and is_phone_column(field)

        @lru_cache(maxsize=1024)
        def row_hints(country: str | None, language: str | None) -> Hints:
            regions = regions_of_country(country) or regions_of_language(language)
            return Hints(
                regions=regions, fallback=fallback, language=language_code(language), phone_column=phone_column
            )

        def of(row: int) -> Hints:
            hints = row_hints(countries[row] if countries else None, languages[row] if languages else None)
            return replace(hints, clues=clues[row]) if row in clues else hints

        return of

    @staticmethod
    def _clues(values: pl.Series) -> dict[int, tuple[str, ...]]:
        """Regions each row's text points at, for the rows that may hold a phone number (polars, whole batch)."""
        rows = values.cast(pl.String).str.contains(PHONE_PREFILTER).fill_null(False).arg_true()
        if rows.len() == 0:
            return {}
        return {r: found for r, found in zip(rows.to_list(), text_regions(values.gather(rows))) if found}

    def detect(self, batch: pl.DataFrame, field: str) -> dict[int, list[Span]]:
        """Row index -> spans in `batch[field]` (only rows with PII)."""
        values = batch[field].cast(pl.String)
        hints_of = self._hints(batch, field)
        found = self.scanner.scan(values, hints_of)
        if self._ner is not None:
            rows = values.is_not_null().arg_true().to_list()
            for row, spans in zip(rows, self._ner.find(values.gather(rows).to_list())):
                spans = [s for s in spans if s.kind in self.ner_rank]
                if spans:  # patterns rank before the model: a phone number inside a "person" is a phone number
                    rank = {**self.scanner.rank_for(hints_of(row).regions), **self.ner_rank}
                    found[row] = resolve(found.get(row, []) + spans, rank)
        return found

    def rewrite(
        self, values: pl.Series, found: dict[int, list[Span]], dropped: set[int]
    ) -> tuple[pl.Series, pl.Series]:
        """The field with masks/pseudonyms written in (every span masked in dropped rows when `redact_rejects`),
        and its `{field}_pii` column with offsets into that text."""
        keep = replacer(self.actions, self._secret)
        redact = replacer(self.actions, self._secret, mask_all=self.config.redact_rejects)
        rows = sorted(found)
        tags, new_texts, changed = [], [], []
        for row, text in zip(rows, values.gather(rows).to_list() if rows else []):
            new, spans = rewrite(text, found[row], redact if row in dropped else keep)
            tags.append(spans)
            if new != text:
                new_texts.append(new)
                changed.append(row)
        if changed:
            values = values.scatter(changed, pl.Series(new_texts, dtype=pl.String))
        return values, tag_column(values, rows, tags)

    # -- the step -----------------------------------------------------------------------------------------------
    def process(self, batch: pl.DataFrame) -> StepResult:
        self.setup()
        fields = self.fields_of(batch)
        found = {f: self.detect(batch, f) for f in fields}
        stats: Counter = Counter()
        per_row: dict[int, Counter] = {}
        for spans_of in found.values():
            for row, spans in spans_of.items():
                counts = per_row.setdefault(row, Counter())
                for s in spans:
                    counts[s.kind] += 1
                    stats[f"pii:{s.kind}"] += 1
        stats["pii_rows"] = len(per_row)
        reasons = self._reasons(per_row)
        columns = []
        for f in fields:
            text, tags = self.rewrite(batch[f].cast(pl.String), found[f], set(reasons))
            columns += [text.alias(f), tags.alias(f"{f}_pii")]
        out = batch.with_columns(columns)
        dropped = sorted(reasons)
        is_dropped = pl.int_range(pl.len(), dtype=pl.UInt32).is_in(pl.Series(dropped, dtype=pl.UInt32).implode())
        rejected = out.filter(is_dropped).with_columns(
            pl.Series(REASON, [reasons[r][0] for r in dropped], dtype=pl.String),
            pl.Series(DETAIL, [reasons[r][1] for r in dropped], dtype=pl.String),
        )
        kept = self._scrub_nested(out.filter(~is_dropped), False, stats)
        return StepResult(kept=kept, rejected=self._scrub_nested(rejected, True, stats), stats=stats)

    def scrub(self, rejects: pl.DataFrame) -> pl.DataFrame:
        """Rejects of an earlier step as this step would have left them: every text column (and the raw record,
        `_raw`, and `_detail`) with its PII masked (`redact_rejects`) or handled by the actions. No tag columns. The
        bytes of a record no encoding read (`_raw_bytes`) can't be scanned, so they are dropped."""
        self.setup()
        columns = self.fields_of(rejects) + [c for c in REJECT_TEXT if rejects.schema.get(c) == pl.String]
        every = set(range(rejects.height))
        scrubbed = rejects.with_columns(
            self.rewrite(rejects[c].cast(pl.String), self.detect(rejects, c), every)[0].alias(c)
            for c in dict.fromkeys(columns)
        )
        if RAW_BYTES in scrubbed.columns:
            scrubbed = scrubbed.with_columns(pl.lit(None, pl.Binary).alias(RAW_BYTES))
        return self._scrub_nested(scrubbed, True, Counter())

    def _reasons(self, per_row: dict[int, Counter]) -> dict[int, tuple[str, str]]:
        """Row -> (reason, detail) for the rows to drop: the first kind (in the step's order) whose action is drop;
        the detail counts every kind found in the row (never the values)."""
        drop_kinds = [k for k in self.kinds if self.actions.get(k) == "drop"]
        if not drop_kinds:
            return {}
        out = {}
        for row, counts in per_row.items():
            kind = next((k for k in drop_kinds if counts.get(k)), None)
            if kind is not None:
                detail = ", ".join(f"{k}: {counts[k]}" for k in self.kinds if counts.get(k))
                out[row] = (f"pii:{kind}", detail)
        return out
