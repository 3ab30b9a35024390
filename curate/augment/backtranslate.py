"""Back-translation and round trips on a batch: pick the rows, translate them (grouped by language pair, sorted by
length), validate the candidates, and return the batch with its synthetic rows (see `curate.augment.synth`).

Back-translation (Sennrich et al., 2016) translates one column into another language and puts the result in place
of a column, e.g. French summaries -> synthetic English texts for new (English, French) pairs. A round trip
translates a column into a pivot language and back, giving paraphrases in the column's own language.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Literal

import polars as pl
from pydantic import Field, model_validator

from curate.augment.synth import (
    Generated,
    SynthConfig,
    assemble,
    origin,
    row_seeds,
    selection,
)
from curate.augment.translate import Decoding, Seq2SeqModel, set_seed
from curate.langid.codes import iso639_3
from curate.augment.validate import Detector
from curate.stages.base import StepResult


class TranslationConfig(SynthConfig):
    """Decoding settings of the translation steps."""

    engine: Literal["ctranslate2", "transformers"] = Field(
        "ctranslate2", description="ctranslate2: the model converted once and cached (fast); transformers: "
        "`generate` (the reference)",
    )  # fmt: skip
    beam_size: int = Field(4, ge=1, le=64, description="beam width; with `n` > 1 the n best hypotheses are kept")
    sampling_topk: int = Field(1, ge=0, description="sample from the k most likely tokens (1: no sampling, beam "
                               "search; 0: the whole vocabulary) for diverse back-translations")  # fmt: skip
    sampling_temperature: float = Field(1.0, gt=0, description="temperature of the sampling")
    max_length: int = Field(256, ge=1, description="at most this many tokens per translation")

    @model_validator(mode="after")
    def _sampling(self) -> TranslationConfig:
        if self.sampling_topk == 1 and self.sampling_temperature != 1.0:
            raise ValueError("sampling_temperature needs sampling: set sampling_topk (0 for the whole vocabulary, or "
                             "k > 1)")  # fmt: skip
        return self

    def decoding(self, n: int | None = None) -> Decoding:
        return Decoding(beam_size=self.beam_size, n=n or self.n, sampling_topk=self.sampling_topk,
                        sampling_temperature=self.sampling_temperature, max_length=self.max_length,
                        batch_size=self.batch_size)  # fmt: skip

    def plain_decoding(self) -> Decoding:
        """Beam search, one best: for the way back of round trips and for round-trip validation."""
        return Decoding(beam_size=self.beam_size, n=1, max_length=self.max_length, batch_size=self.batch_size)

    def decoding_params(self) -> dict:
        return {"beam_size": self.beam_size, "sampling_topk": self.sampling_topk, "engine": self.engine,
                "sampling_temperature": self.sampling_temperature, "max_length": self.max_length,
                "compute_type": self.compute_type}  # fmt: skip


def row_languages(batch: pl.DataFrame, rows: list[int], fixed: str | None, column: str) -> list[str | None]:
    """Each row's language: the fixed one, else the row's `column` (e.g. `target_lang`), else unknown."""
    if fixed:
        return [fixed] * len(rows)
    if column in batch.columns:
        return batch[column].cast(pl.String)[rows].to_list()
    return [None] * len(rows)


def translate_grouped(model: Seq2SeqModel, texts: Sequence[str], sources: Sequence[str | None],
                      targets: Sequence[str | None], decoding: Decoding) -> list[list[str]]:  # fmt: skip
    """Translations of every text, one model call per (source, target) language pair."""
    out: list[list[str]] = [[] for _ in texts]
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(sources, targets)):
        groups.setdefault(key, []).append(i)
    for (source, target), rows in groups.items():
        results = model.translate([texts[i] for i in rows], decoding, source, target)
        for i, result in zip(rows, results):
            out[i] = result
    return out


def backtranslate(batch: pl.DataFrame, config, model: Seq2SeqModel, reverse: Seq2SeqModel | None,
                  detector: Detector | None, seed: int, salt: str = "") -> StepResult:  # fmt: skip
    """`config` is the backtranslate step's config (field, into, source_lang, target_lang, ...); `salt` (the step's
    place in the recipe) goes into the synthetic ids."""
    c = config
    rows = selection(batch, c, c.field, seed, "backtranslate").arg_true().to_list()
    stats = Counter({"synthetic:rows_selected": len(rows)})
    generated = Generated()
    if rows:
        texts = batch[c.field].cast(pl.String)[rows].to_list()
        sources = row_languages(batch, rows, c.source_lang, f"{c.field}_lang")
        ids = batch["_id"][rows].to_list()
        set_seed(row_seeds(ids[:1], [0], seed)[0])
        translations = translate_grouped(model, texts, sources, [c.target_lang] * len(rows), c.decoding())
        references: list[str | None] = [None] * len(rows)
        if c.compare_with_existing and c.into != c.field and c.into in batch.columns:
            references = batch[c.into].cast(pl.String)[rows].to_list()
        tag = origin("backtranslate", c.model, {**c.decoding_params(), "source_lang": c.source_lang,
                                                "target_lang": c.target_lang, "field": c.field, "into": c.into})  # fmt: skip
        for k, row in enumerate(rows):
            for v, text in enumerate(translations[k]):
                generated.add(row, v, text, texts[k], c.target_lang, tag, references[k])
        if reverse is not None:
            position = {row: k for k, row in enumerate(rows)}
            flat_sources = [sources[position[p]] for p in generated.parent]
            back = translate_grouped(reverse, [t or "" for t in generated.output], [c.target_lang] * len(flat_sources),
                                     flat_sources, c.plain_decoding())  # fmt: skip
            generated.roundtrip = [b[0] if b else None for b in back]
    return assemble(batch, generated, c.into, c.validation, detector, stats, salt)


def roundtrip(batch: pl.DataFrame, config, models: Callable[[str, str], tuple[Seq2SeqModel, Seq2SeqModel, str]],
              detector: Detector | None, seed: int, salt: str = "") -> StepResult:  # fmt: skip
    """`models(lang, pivot)` gives the (forward, back) models for rows in `lang` and the name of the pair."""
    c = config
    rows = selection(batch, c, c.field, seed, "roundtrip").arg_true().to_list()
    langs = row_languages(batch, rows, c.lang, f"{c.field}_lang")
    known = [k for k, lang in enumerate(langs) if lang is not None]
    stats = Counter({"synthetic:rows_selected": len(known), "synthetic:rows_without_language": len(rows) - len(known)})
    generated = Generated()
    texts = batch[c.field].cast(pl.String).to_list()
    ids = batch["_id"].to_list()
    if known:
        set_seed(row_seeds([ids[rows[known[0]]]], [0], seed)[0])
    for pivot in c.pivots:
        for lang in sorted({langs[k] for k in known}):
            forward, back, name = models(lang, pivot)
            members = [rows[k] for k in known if langs[k] == lang]
            inputs = [texts[r] for r in members]
            there = forward.translate(inputs, c.decoding(), lang, pivot)
            flat = [(r, v, t) for r, hyps in zip(members, there) for v, t in enumerate(hyps)]
            returned = back.translate([t for _, _, t in flat], c.plain_decoding(), pivot, lang)
            tag = origin("roundtrip", name, {**c.decoding_params(), "pivot": pivot, "lang": lang, "field": c.field})
            for (r, v, _), result in zip(flat, returned):
                generated.add(r, v, result[0] if result else None, texts[r], lang, tag, texts[r])
    return assemble(batch, generated, c.field, c.validation, detector, stats, salt)


def same_code(a: str, b: str) -> bool:
    return a == b or (iso639_3(a) is not None and iso639_3(a) == iso639_3(b))
