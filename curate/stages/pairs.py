"""`pairs`: keep the translation pairs whose two sides translate each other; drop (or tag) the broken ones.

A single-text filter cannot see that a French "summary" is a copy of its English article, a Swahili sentence is in
English, a number changed on the way, or the target translates another sentence. This step judges both sides
together, with one exact reason per broken pair, tried in this order:

| reason | when |
|---|---|
| `pairs:copy` | the target is the source, up to case, punctuation and spacing, or nearly (chrF >= `max_copy_chrf`) |
| `pairs:untranslated` | language ID of the target gives the source's language |
| `pairs:wrong_language` | language ID of the target gives a language other than the declared one (and other than the one the detectors usually take this pair's targets for), and a detector knows the declared one |
| `pairs:numbers` | numbers (of any script and locale), URLs or e-mail addresses differ between the sides |
| `pairs:truncated` | the source ends a sentence, the target stops short of one, and is shorter than usual |
| `pairs:concatenated` | one side holds more sentences than the other and is longer than usual |
| `pairs:length_ratio` | the length ratio is an outlier for its language pair |
| `pairs:entities` | the source names someone the target does not, and the target names someone else |
| `pairs:punctuation` | one side asks a question and the other states something |
| `pairs:misaligned` | the pair looks like the translation of another sentence (`curate.pairs.misalign`) |

What "usual" means is learned per language pair from the data (Chinese and Burmese are not English-length; Burmese
asks with a particle, not a question mark): `fit` keeps, per pair, the median and spread of the length ratio and of
the word-alignment score, how often targets end without a mark, keep a question mark, keep the names, and which
language the detectors usually find, and it trains the word alignment (`curate.pairs.align`) and the misalignment
classifier on a bounded sample. Language ID is the `langid` step's own (several detectors, script rules), with each
row's declared target language as prior knowledge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from curate.core.hashing import seeded_hashes
from curate.core.languages import (
    UND,
    family,
    language_name,
    macrolanguages,
    normalize_label,
    resolve_language,
    same_language,
)
from curate.core.rows import DETAIL, REASON, first_reason, partition
from curate.pairs import align, checks, misalign
from curate.stages.base import GlobalStep, StepConfig, StepResult
from curate.stages.registry import register

REASONS = [
    "pairs:copy",
    "pairs:untranslated",
    "pairs:wrong_language",
    "pairs:numbers",
    "pairs:truncated",
    "pairs:concatenated",
    "pairs:length_ratio",
    "pairs:entities",
    "pairs:punctuation",
    "pairs:misaligned",
]
CHECKS = [r.split(":")[1] for r in REASONS]
MAD_TO_SD = 1.4826  # the median absolute deviation of a normal distribution is 0.6745 of its standard deviation
POOLED = "*"  # the statistics of all language pairs together, for pairs with few rows
LANGID_SAMPLE = 2000  # targets per language pair identified in `fit` to learn which language they usually get
NAME_SEEN = 3  # a name's habit (kept or translated) is learned from this many rows or more


class PairsConfig(StepConfig):
    source: str = Field("text", description="column of the source side")
    target: str = Field("target", description="column of the target side; adds `{target}_pair_*` scores")
    source_lang: str | None = Field(
        None, description="column with each row's source language (any ISO 639 code); or `source_language`"
    )
    target_lang: str | None = Field(
        None, description="column with each row's declared target language; or `target_language`"
    )
    source_language: str | None = Field(None, description="the source language of every row (e.g. `en`)")
    target_language: str | None = Field(None, description="the target language of every row (e.g. `sw`)")
    action: Literal["drop", "tag"] = Field(
        "drop",
        description="`drop`: reject broken pairs with the first reason (scores in `_detail`); `tag`: keep "
        "every row and write the reasons that fire to `{target}_pair_flags`",
    )
    checks: list[str] = Field(
        default_factory=lambda: list(CHECKS), description="the checks to run (all by default): " + ", ".join(CHECKS)
    )
    max_copy_chrf: float = Field(
        90.0, ge=0, le=100, description="chrF of the target against the source from which it is a (near) copy"
    )
    max_length_z: float = Field(
        3.5,
        gt=0,
        description="`length_ratio`: |robust z| of log(target / source characters) within the language "
        "pair above this (Iglewicz and Hoaglin's 3.5 for outliers by the modified z-score)",
    )
    unusual_z: float = Field(
        1.0,
        gt=0,
        description="`truncated` and `concatenated` also need the length this many robust standard "
        "deviations off the pair's median, in their direction",
    )
    min_misaligned: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="`misaligned`: the probability that the pair is the translation of another "
        "sentence, given its measures and how many of the corpus's pairs look misaligned, at least this (0.5: more "
        "likely misaligned than not)",
    )
    min_support: float = Field(
        0.5,
        ge=0,
        le=1,
        description="`untranslated`/`wrong_language` need language ID's support (the weakest "
        "confidence among the detectors that know the language found) at least this",
    )
    max_train_pairs: int = Field(
        50_000,
        ge=100,
        description="rows per language pair the alignment and classifier learn from (a seeded "
        "sample; rows outside it are scored as unseen pairs)",
    )
    min_pair_rows: int = Field(
        30, ge=2, description="language pairs with fewer rows take the statistics of all pairs together"
    )

    @field_validator("checks")
    @classmethod
    def _known_checks(cls, names: list[str]) -> list[str]:
        bad = [n for n in names if n not in CHECKS]
        if bad:
            raise ValueError(f"unknown checks {bad}; known: {', '.join(CHECKS)}")
        return names

    @field_validator("source_language", "target_language")
    @classmethod
    def _language(cls, name: str | None) -> str | None:
        return None if name is None else resolve_language(name)

    @model_validator(mode="after")
    def _languages_given_once(self) -> PairsConfig:
        for column, fixed in (("source_lang", "source_language"), ("target_lang", "target_language")):
            if getattr(self, column) and getattr(self, fixed):
                raise ValueError(f"give {column} (a column) or {fixed} (one language), not both")
        return self


@dataclass
class PairsState:
    """What `fit` learned: per language pair (`lp`) its statistics; the alignment tables; the classifier's weights;
    the `_id`s of pairs whose target another source has and explains better."""

    stats: pl.DataFrame
    forward: pl.DataFrame  # lp, e, f, t
    backward: pl.DataFrame
    weights: list[float]
    misaligned_share: float
    slipped: pl.DataFrame  # _id
    names: pl.DataFrame  # lp, name, kept


@register("pairs")
class Pairs(GlobalStep):
    """Check translation pairs: copies, untranslated or wrong-language targets, lost numbers, truncations,
    concatenations, odd length ratios, names, questions, and misalignments."""

    Config = PairsConfig
    config: PairsConfig
    version = "1"
    state_type = PairsState

    def __init__(self, config, context=None):
        super().__init__(config, context)
        self._identifier = None

    def requires(self) -> list[str]:
        c = self.config
        return [c.source, c.target] + [x for x in (c.source_lang, c.target_lang) if x]

    def produces(self) -> list[str]:
        t = self.config.target
        cols = [f"{t}_pair_misaligned", f"{t}_pair_length_z", f"{t}_pair_lang"]
        return cols + ([f"{t}_pair_flags"] if self.config.action == "tag" else [])

    def fit_columns(self) -> list[str]:
        return ["_id", *self.requires()]

    def setup(self) -> None:
        if self._identifier is None and {"untranslated", "wrong_language"} & set(self.config.checks):
            from curate.langid.detectors import DEFAULT_DETECTORS, load_detector
            from curate.langid.identify import LanguageIdentifier

            self._identifier = LanguageIdentifier([load_detector(name) for name in DEFAULT_DETECTORS])

    def _pairs(self, frame: pl.DataFrame) -> pl.DataFrame:
        """(src, tgt, src_lang, tgt_lang, lp): the two sides, their languages as ISO 639-3 (`und` when unknown)
        and the language pair's key."""
        c = self.config
        out = {"src": frame[c.source].cast(pl.String), "tgt": frame[c.target].cast(pl.String)}
        for name, column, fixed in (
            ("src_lang", c.source_lang, c.source_language),
            ("tgt_lang", c.target_lang, c.target_language),
        ):
            if column and column in frame.columns:
                values = frame[column].cast(pl.String)
                codes = {v: normalize_label(v)[0] for v in values.drop_nulls().unique().to_list()}
                out[name] = values.replace_strict(codes, default=UND, return_dtype=pl.String)
            else:
                out[name] = pl.Series([fixed or UND] * frame.height, dtype=pl.String)
        return pl.DataFrame(out).with_columns(lp=pl.format("{}-{}", "src_lang", "tgt_lang"))

    # fit --------------------------------------------------------------------------------------------------------
    def fit(self, frames: Iterator[pl.DataFrame]) -> PairsState:
        """One pass keeps every row's length ratio (numbers only) and, per language pair, a seeded sample of at most
        `max_train_pairs` rows (the smallest hashes of `_id`); then everything is learned from those."""
        self.setup()
        ratios, sample = [], None
        for frame in frames:
            rows = pl.concat([frame.select(pl.col("_id").cast(pl.String)), self._pairs(frame)], how="horizontal")
            rows = rows.filter(pl.col("src").str.contains(r"\S") & pl.col("tgt").str.contains(r"\S"))
            rows = rows.with_columns(
                key=pl.Series(seeded_hashes(rows["_id"].to_list(), self.context.seed, rows.height), dtype=pl.UInt64)
            )
            ratios.append(rows.select("lp", log_ratio=_log_ratio()))
            sample = rows if sample is None else pl.concat([sample, rows])
            sample = sample.sort("key").group_by("lp", maintain_order=True).head(self.config.max_train_pairs)
            sample = sample.select(rows.columns)
        if sample is None or sample.height == 0:
            return _empty_state()
        sample = sample.sort("lp", "key")
        lengths = _spread(pl.concat(ratios), "log_ratio", "len", self.config.min_pair_rows)
        learned, forward, backward = [], [], []
        for (lp,), part in sample.partition_by("lp", as_dict=True, maintain_order=True).items():
            found = self._learn_pair(lp, part, lengths)
            learned.append(found["rows"])
            forward.append(found["forward"])
            backward.append(found["backward"])
        rows = pl.concat(learned)
        aligned = rows.filter(~pl.col("rotated"))
        stats = lengths.join(
            _spread(aligned.select("lp", "align"), "align", "align", self.config.min_pair_rows), on="lp", how="left"
        )
        stats = stats.join(self._rates(aligned), on="lp", how="left").join(
            self._usual_languages(sample), on="lp", how="left"
        )
        names = self._name_table(aligned)
        rows = rows.join(
            stats.select("lp", "align_median", "align_spread", "unterminated", "questions_kept"), on="lp", how="left"
        ).with_columns(
            align_z=(pl.col("align") - pl.col("align_median")) / pl.col("align_spread"),
            kept_names_missing=self._usually_kept(rows, names),
            chrf=pl.lit(None, pl.Float64),
        )
        # the classifier learns, and the share of misaligned pairs is counted, on the pairs the other checks leave
        trainable = rows.filter(~self.caught_before())
        weights = misalign.fit_logistic(
            trainable.select(misalign.FEATURES).fill_null(0.0).to_numpy(),
            trainable["rotated"].cast(pl.Float64).to_numpy(),
        ).tolist()
        share = misalign.misaligned_share(
            misalign.rotated_probability(trainable.filter(~pl.col("rotated")), weights),
            misalign.rotated_probability(trainable.filter(pl.col("rotated")), weights),
        )
        real = rows.filter(~pl.col("rotated"))
        real = real.with_columns(p=misalign.rotated_probability(real, weights))
        groups = real.join(sample.select("_id", "lp", "src", "tgt"), on=["_id", "lp"]).select(
            "_id",
            "p",
            target_key=pl.format("{}\u0001{}", "lp", _normalized(pl.col("tgt"))),
            source_key=_normalized(pl.col("src")),
        )
        return PairsState(
            stats=stats.sort("lp"),
            forward=pl.concat(forward),
            backward=pl.concat(backward),
            weights=[round(w, 8) for w in weights],
            misaligned_share=round(share, 8),
            slipped=misalign.slipped(groups).to_frame().sort("_id"),
            names=names,
        )

    def _learn_pair(self, lp: str, part: pl.DataFrame, lengths: pl.DataFrame) -> dict[str, pl.DataFrame]:
        """One language pair: its rows and their rotations (misaligned by construction), the alignment trained on
        both, and every row's measures."""
        turn = misalign.rotation(part.height, self.context.seed)
        columns = ["_id", "src", "tgt", "src_lang", "tgt_lang", "lp"]
        rotated = part.with_columns(tgt=part["tgt"].gather(turn))
        both = pl.concat(
            [
                part.select(columns).with_columns(rotated=pl.lit(False)),
                rotated.select(columns).with_columns(rotated=pl.lit(True)),
            ]
        )
        src, tgt = align.token_lists(both["src"]), align.token_lists(both["tgt"])
        forward, backward = align.train(src, tgt), align.train(tgt, src)
        measures = self._measures(both, lengths, align.both_ways(src, tgt, forward, backward))
        return {
            "rows": measures.with_columns(both.select("_id", "rotated")),
            "forward": forward.with_columns(lp=pl.lit(lp)),
            "backward": backward.with_columns(lp=pl.lit(lp)),
        }

    @staticmethod
    def _name_table(rows: pl.DataFrame) -> pl.DataFrame:
        """(lp, name, kept): per language pair, each name the sources mention at least `NAME_SEEN` times and the share
        of those rows whose target keeps it. Person names are kept; many place names are translated (United States,
        États-Unis): only a name the pair usually keeps is missed when it is missing."""
        names = rows.select("lp", "src_names", "names_missing").explode("src_names").drop_nulls("src_names")
        names = names.with_columns(kept=~pl.col("names_missing").list.contains(pl.col("src_names")))
        table = names.group_by("lp", pl.col("src_names").alias("name")).agg(seen=pl.len(), kept=pl.col("kept").mean())
        return table.filter(pl.col("seen") >= NAME_SEEN).select("lp", "name", "kept").sort("lp", "name")

    @staticmethod
    def _rates(rows: pl.DataFrame) -> pl.DataFrame:
        """Per language pair: how often a source that ends a sentence has a target that does not, and a source
        question stays a question. A check is only made where its evidence is usual for the pair."""
        asked = pl.col("src_kind") == "question"
        return rows.group_by("lp").agg(
            unterminated=(pl.col("src_ends") & ~pl.col("tgt_ends")).mean(),
            questions_kept=(pl.col("tgt_kind") == "question").filter(asked).mean(),
        )

    def _usual_languages(self, sample: pl.DataFrame) -> pl.DataFrame:
        """Per language pair, the language the detectors most often give its targets (with the declared one as
        prior): Kirundi that they take for Kinyarwanda is Kirundi's usual reading, not a wrong language."""
        if self._identifier is None:
            return pl.DataFrame(schema={"lp": pl.String, "usual": pl.String})
        head = sample.group_by("lp", maintain_order=True).head(LANGID_SAMPLE)
        tags, _ = self._identifier.identify(head["tgt"], head["tgt_lang"].replace(UND, None))
        found = head.select("lp").with_columns(tags["lang"].replace(macrolanguages()).alias("usual"))
        return found.group_by("lp").agg(pl.col("usual").drop_nulls().mode().sort().first())

    def fit_stats(self, state: PairsState) -> dict[str, int]:
        return {
            "pairs:language_pairs": state.stats.filter(pl.col("lp") != POOLED).height,
            "pairs:alignment_entries": state.forward.height,
            "pairs:slipped_alignments": state.slipped.height,
        }

    # measures ---------------------------------------------------------------------------------------------------
    def _measures(self, pairs: pl.DataFrame, lengths: pl.DataFrame, alignment: pl.Series) -> pl.DataFrame:
        """Every measure of every pair that needs no language ID and no classifier, in row order."""
        src, tgt = pl.col("src"), pl.col("tgt")
        length = pairs.select("lp").join(lengths, on="lp", how="left")
        length = _fill_from(length, lengths.filter(pl.col("lp") == POOLED))
        raw = pairs.select(src_names=checks.names(src), tgt_names=checks.names(tgt))
        names = pl.DataFrame(
            {"src_names": checks.name_skeletons(raw["src_names"]), "tgt_names": checks.name_skeletons(raw["tgt_names"])}
        )
        measures = pairs.select(
            "lp",
            "src_lang",
            "tgt_lang",
            present=src.str.contains(r"\S").fill_null(False) & tgt.str.contains(r"\S").fill_null(False),
            length_z=(_log_ratio() - length["len_median"]) / length["len_spread"],
            copy=(_normalized(src) == _normalized(tgt)) & src.str.contains(r"\p{L}{2}"),
            numbers=checks.numbers_differ(src, tgt) | checks.addresses_differ(src, tgt),
            src_ends=checks.ends_sentence(src),
            tgt_ends=checks.ends_sentence(tgt),
            src_sentences=checks.sentence_count(src),
            tgt_sentences=checks.sentence_count(tgt),
            src_kind=checks.kind_of_sentence(src),
            tgt_kind=checks.kind_of_sentence(tgt),
        ).with_columns(names, align=alignment)
        missing = self._names_missing(pairs, names)
        return measures.with_columns(
            names_missing=missing,
            abs_length_z=pl.col("length_z").abs(),
            question_mismatch=(
                (pl.col("src_kind") == "question").fill_null(False)
                != (pl.col("tgt_kind") == "question").fill_null(False)
            ).cast(pl.Float64),
            sentences_mismatch=(pl.col("src_sentences") != pl.col("tgt_sentences")).cast(pl.Float64),
            cognates=checks.cognate_overlap(pairs["src"], pairs["tgt"]),
        )

    @staticmethod
    def _names_missing(pairs: pl.DataFrame, names: pl.DataFrame) -> pl.Series:
        """The source's names (capitalised words inside a sentence, as consonant skeletons) that start no word of
        the target, transliterated to ASCII."""
        idx = (names["src_names"].list.len() > 0).arg_true()
        every = pl.DataFrame({"row": pl.int_range(pairs.height, dtype=pl.UInt32, eager=True)})
        if not len(idx):
            return every.select(names_missing=pl.lit([], dtype=pl.List(pl.String))).to_series()
        skeletons = checks.transliterated_skeletons(pairs["tgt"].gather(idx))
        found = pl.DataFrame({"row": idx, "n": names["src_names"].gather(idx), "t": skeletons}).select(
            "row", names_missing=pl.col("n").list.set_difference(pl.col("t"))
        )
        joined = every.join(found, on="row", how="left", maintain_order="left")
        return joined["names_missing"].fill_null([])

    def measure(self, pairs: pl.DataFrame, state: PairsState) -> pl.DataFrame:
        """Every measure of a batch, with the classifier's probability and language ID, in row order."""
        lengths = state.stats.select("lp", "len_median", "len_spread")
        alignment = self._alignment(pairs, state)
        measures = self._measures(pairs, lengths, alignment)
        stats = measures.select("lp").join(state.stats, on="lp", how="left")
        stats = _fill_from(stats, state.stats.filter(pl.col("lp") == POOLED))
        measures = measures.with_columns(
            align_z=(pl.col("align") - stats["align_median"]) / stats["align_spread"],
            unterminated=stats["unterminated"],
            questions_kept=stats["questions_kept"],
            usual=stats["usual"],
            kept_names_missing=self._usually_kept(measures, state.names),
        )
        rotated = misalign.rotated_probability(measures, state.weights)
        measures = measures.with_columns(
            p=misalign.posterior(rotated, state.misaligned_share),
            rotated=pl.Series(rotated, dtype=pl.Float64),
            chrf=pl.Series(self._copy_chrf(pairs, measures), dtype=pl.Float64),
        )
        detected, support = self._languages(pairs)
        return measures.with_columns(detected=detected, support=support)

    @staticmethod
    def _usually_kept(measures: pl.DataFrame, names: pl.DataFrame) -> pl.Series:
        """Per row, how many of its missing names its language pair usually keeps."""
        missing = measures.select("lp", "names_missing").with_row_index("row").explode("names_missing")
        usual = missing.join(names, left_on=["lp", "names_missing"], right_on=["lp", "name"], how="left")
        counts = usual.group_by("row").agg((pl.col("kept").fill_null(0.0) >= 0.5).sum().alias("n"))
        every = pl.DataFrame({"row": pl.int_range(measures.height, dtype=pl.UInt32, eager=True)})
        return every.join(counts, on="row", how="left", maintain_order="left")["n"].fill_null(0).cast(pl.UInt32)

    def _alignment(self, pairs: pl.DataFrame, state: PairsState) -> pl.Series:
        parts = []
        indexed = pairs.with_row_index("row")
        for (lp,), part in indexed.partition_by("lp", as_dict=True, maintain_order=True).items():
            src, tgt = align.token_lists(part["src"]), align.token_lists(part["tgt"])
            forward = state.forward.filter(pl.col("lp") == lp).drop("lp")
            backward = state.backward.filter(pl.col("lp") == lp).drop("lp")
            parts.append(part.select("row").with_columns(align=align.both_ways(src, tgt, forward, backward)))
        return pl.concat(parts).sort("row")["align"] if parts else pl.Series("align", [], dtype=pl.Float64)

    def _copy_chrf(self, pairs: pl.DataFrame, measures: pl.DataFrame) -> list[float | None]:
        """chrF of the target against the source, where it could be a near copy (not an exact one)."""
        from curate.augment.validate import chrf_scores

        out: list[float | None] = [None] * pairs.height
        if "copy" not in self.config.checks:
            return out
        # a near copy shares most of its words with the source: only those pairs are scored
        idx = (~measures["copy"] & (measures["cognates"] >= 0.5)).arg_true().to_list()
        values = chrf_scores(pairs["tgt"].gather(idx).to_list(), pairs["src"].gather(idx).to_list()) if idx else []
        for i, v in zip(idx, values):
            out[i] = v
        return out

    def _languages(self, pairs: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
        """The target's language by the langid step's decision, with its declared language as prior knowledge."""
        if self._identifier is None:
            return pl.Series([None] * pairs.height, dtype=pl.String), pl.Series([None] * pairs.height, dtype=pl.Float64)
        tags, _ = self._identifier.identify(pairs["tgt"], pairs["tgt_lang"].replace(UND, None))
        return tags["lang"], tags["support"]

    # decisions --------------------------------------------------------------------------------------------------
    def structural_rules(self) -> dict[str, pl.Expr]:
        """The checks that need neither language ID nor the misalignment classifier."""
        c = self.config
        longer, shorter = pl.col("length_z") > c.unusual_z, pl.col("length_z") < -c.unusual_z
        usual = {name: pl.col(name).fill_null(0.0) for name in ("unterminated", "questions_kept")}
        return {
            "copy": pl.col("copy") | (pl.col("chrf") >= c.max_copy_chrf),
            "numbers": pl.col("numbers"),
            "truncated": pl.col("src_ends") & ~pl.col("tgt_ends") & (usual["unterminated"] < 0.5) & shorter,
            "concatenated": ((pl.col("tgt_sentences") > pl.col("src_sentences")) & longer)
            | ((pl.col("src_sentences") > pl.col("tgt_sentences")) & shorter),
            "length_ratio": pl.col("length_z").abs() > c.max_length_z,
            "entities": (pl.col("kept_names_missing") > 0) & (pl.col("tgt_names").list.len() > 0),
            "punctuation": pl.col("src_kind").is_not_null()
            & pl.col("tgt_kind").is_not_null()
            & (pl.col("question_mismatch") > 0)
            & (usual["questions_kept"] >= 0.5),
        }

    def caught_before(self) -> pl.Expr:
        """A pair one of the structural checks (that run) already catches."""
        rules = self.structural_rules()
        return pl.any_horizontal(
            [rules[n].fill_null(False) for n in rules if n in self.config.checks] or [pl.lit(False)]
        )

    def rules(self, m: pl.DataFrame, slipped: pl.Series) -> list[tuple[pl.Expr, str]]:
        c = self.config
        known = self._known_languages()
        as_source = _same(m["detected"], m["src_lang"])
        as_declared = _same(m["detected"], m["tgt_lang"]) | _same(m["detected"], m["usual"])
        declared_is_source = _same(m["src_lang"], m["tgt_lang"])
        sure = pl.col("support") >= c.min_support
        rules: dict[str, pl.Expr] = {
            **self.structural_rules(),
            "untranslated": pl.lit(as_source) & ~pl.lit(declared_is_source) & sure,
            "wrong_language": ~pl.lit(as_declared)
            & pl.col("tgt_lang").is_in(known)
            & sure
            & pl.col("detected").is_in(self._languages_known_twice()),
            # a slipped alignment (its target also belongs to another source) needs only to look more like a
            # rotated pair than a real one
            "misaligned": (pl.col("p") >= c.min_misaligned) | (pl.lit(slipped) & (pl.col("rotated") >= 0.5)),
        }
        # a row without both sides (a paragraph beside the pairs) is no pair: nothing to judge
        return [
            (rules[name].fill_null(False) & pl.col("present"), f"pairs:{name}") for name in CHECKS if name in c.checks
        ]

    def _known_languages(self) -> list[str]:
        if self._identifier is None:
            return []
        return sorted(family(self._identifier.known["code"].unique().to_list()))

    def _languages_known_twice(self) -> list[str]:
        """Languages at least two detectors know: a target is only said to be in another language when more than one
        detector could have recognised that language (one alone mistakes short texts in a language none knows)."""
        if self._identifier is None:
            return []
        known = self._identifier.known
        twice = known.group_by("family").agg(pl.col("detector").n_unique()).filter(pl.col("detector") >= 2)
        return sorted(set(known.join(twice.select("family"), on="family")["code"].to_list()) | set(twice["family"]))

    # apply ------------------------------------------------------------------------------------------------------
    def apply(self, batch: pl.DataFrame, state: PairsState) -> StepResult:
        self.setup()
        c, t = self.config, self.config.target
        measures = self.measure(self._pairs(batch), state)
        slipped = (
            batch["_id"].cast(pl.String).is_in(state.slipped["_id"].implode())
            if "_id" in batch.columns
            else pl.Series([False] * batch.height)
        )
        rules = self.rules(measures, slipped)
        reasons = measures.select(first_reason(*rules).alias(REASON)).to_series()
        counts = measures.select("lp").with_columns(reason=reasons).group_by("lp", "reason").len()
        stats = Counter(
            {f"pairs:{lp}:{reason.split(':')[-1] if reason else 'kept'}": n for lp, reason, n in counts.iter_rows()}
        )
        out = batch.with_columns(
            measures["p"].round(4).alias(f"{t}_pair_misaligned"),
            measures["length_z"].round(4).alias(f"{t}_pair_length_z"),
            measures["detected"].alias(f"{t}_pair_lang"),
        )
        if c.action == "tag":
            flags = pl.concat_list([pl.when(cond).then(pl.lit(reason)) for cond, reason in rules]).list.drop_nulls()
            tagged = out.with_columns(measures.select(flags.alias(f"{t}_pair_flags")).to_series())
            return StepResult(
                kept=tagged, rejected=tagged.clear().with_columns(pl.lit(None, pl.String).alias(REASON)), stats=stats
            )
        detail = measures.select(
            pl.format(
                "misaligned {}, length z {}, target language {}",
                pl.col("p").round(3),
                pl.col("length_z").round(2),
                pl.col("detected").fill_null("?"),
            )
        )
        result = StepResult(*partition(out.with_columns(reasons.alias(REASON), detail.to_series().alias(DETAIL))))
        result.kept = result.kept.drop(DETAIL)
        result.stats.update(stats)
        return result

    # outputs ----------------------------------------------------------------------------------------------------
    @classmethod
    def card_section(cls, params: dict[str, Any], stats: dict[str, int]) -> str | None:
        per: dict[str, Counter] = {}
        for key, n in stats.items():
            parts = key.split(":")
            if len(parts) == 3 and parts[0] == "pairs" and "-" in parts[1]:
                per.setdefault(parts[1], Counter())[parts[2]] += n
        if not per:
            return None
        rows = ["| language pair | kept | " + " | ".join(CHECKS) + " |", "|---|---|" + "---|" * len(CHECKS)]
        for lp, counts in sorted(per.items()):
            a, _, b = lp.partition("-")
            rows.append(
                f"| {language_name(a)} -> {language_name(b)} (`{lp}`) | {counts['kept']:,} | "
                + " | ".join(f"{counts[n]:,}" for n in CHECKS)
                + " |"
            )
        return (
            "Translation pairs checked by the `pairs` step, per language pair: rows kept and rows rejected per "
            "reason.\n\n" + "\n".join(rows)
        )


def _same(a: pl.Series, b: pl.Series) -> pl.Series:
    """Row by row: two codes of one language (a macrolanguage and its members match), over the unique pairs."""
    frame = pl.DataFrame({"a": a.cast(pl.String), "b": b.cast(pl.String)})
    pairs = frame.unique().drop_nulls().filter((pl.col("a") != UND) & (pl.col("b") != UND))
    known = {(x, y): same_language(x, y) for x, y in pairs.iter_rows()}
    keys = frame.select(pl.concat_str("a", "b", separator="\u0001")).to_series()
    table = {f"{x}\u0001{y}": v for (x, y), v in known.items()}
    return keys.replace_strict(table, default=False, return_dtype=pl.Boolean).fill_null(False)


def _log_ratio() -> pl.Expr:
    return (checks.letters(pl.col("tgt")).clip(1).log() - checks.letters(pl.col("src")).clip(1).log()).cast(pl.Float64)


def _normalized(column: pl.Expr) -> pl.Expr:
    from curate.augment.validate import normalized

    return normalized(column)


def _spread(values: pl.DataFrame, column: str, prefix: str, min_rows: int) -> pl.DataFrame:
    """Per language pair (and all pairs together, as `*`): rows, median and robust spread (the median absolute
    deviation scaled to a standard deviation) of `column`. Pairs with fewer than `min_rows` rows take the pooled
    figures."""
    col = pl.col(column)
    aggregates = [
        pl.len().alias("rows"),
        col.median().alias("median"),
        ((col - col.median()).abs().median() * MAD_TO_SD).clip(1e-6).alias("spread"),
    ]
    per = values.group_by("lp").agg(aggregates)
    pooled = values.select(aggregates).with_columns(lp=pl.lit(POOLED)).select(per.columns)
    table = pl.concat([per, pooled])
    small = pl.col("rows") < min_rows
    median, spread = pooled["median"][0], pooled["spread"][0]
    return table.select(
        "lp",
        pl.when(small).then(pl.lit(median)).otherwise(pl.col("median")).alias(f"{prefix}_median"),
        pl.when(small).then(pl.lit(spread)).otherwise(pl.col("spread")).alias(f"{prefix}_spread"),
    )


def _fill_from(stats: pl.DataFrame, pooled: pl.DataFrame) -> pl.DataFrame:
    """Rows of language pairs the fit did not see take the pooled statistics."""
    if pooled.height == 0:
        return stats
    row = pooled.row(0, named=True)
    return stats.with_columns([pl.col(k).fill_null(v) for k, v in row.items() if k != "lp" and v is not None])


def _empty_state() -> PairsState:
    table = pl.DataFrame(schema={**align.TABLE, "lp": pl.String})
    stats = pl.DataFrame(
        schema={
            "lp": pl.String,
            "len_median": pl.Float64,
            "len_spread": pl.Float64,
            "align_median": pl.Float64,
            "align_spread": pl.Float64,
            "unterminated": pl.Float64,
            "questions_kept": pl.Float64,
            "usual": pl.String,
        }
    )
    return PairsState(
        stats=stats,
        forward=table,
        backward=table,
        weights=[0.0] * (len(misalign.FEATURES) + 1),
        misaligned_share=0.005,
        slipped=pl.DataFrame(schema={"_id": pl.String}),
        names=pl.DataFrame(schema={"lp": pl.String, "name": pl.String, "kept": pl.Float64}),
    )
