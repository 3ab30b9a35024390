"""Back-translation and round trips on a batch: translate the chosen rows (grouped by language pair, sorted by
length) into candidates for synthetic rows (`Generated`; the step validates them: see `curate.augment.synth`).

Back-translation (Sennrich et al., 2016) translates one column into another language and puts the result in place
of a column, e.g. French summaries -> synthetic English texts for new (English, French) pairs. A round trip
translates a column into a pivot language and back, giving paraphrases in the column's own language.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import polars as pl

from curate.augment.synth import Generated, origin, row_seeds
from curate.augment.translate import Decoding, Seq2SeqModel, set_seed
from curate.core.languages import iso639_3

ModelsFor = Callable[[str, str], tuple[Seq2SeqModel, Seq2SeqModel, str]]  # (lang, pivot) -> forward, back, name


def row_languages(batch: pl.DataFrame, rows: list[int], fixed: str | None, column: str) -> list[str | None]:
    """Each row's language: the fixed one, else the row's `column` (e.g. `target_lang`), else unknown."""
    if fixed:
        return [fixed] * len(rows)
    if column in batch.columns:
        return batch[column].cast(pl.String)[rows].to_list()
    return [None] * len(rows)


def translate_grouped(
    model: Seq2SeqModel,
    texts: Sequence[str],
    sources: Sequence[str | None],
    targets: Sequence[str | None],
    decoding: Decoding,
) -> list[list[str]]:
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


def backtranslate(
    batch: pl.DataFrame, rows: list[int], config, model: Seq2SeqModel, reverse: Seq2SeqModel | None, seed: int
) -> tuple[Generated, Counter]:
    """Translations of `rows` (indices into `batch`), with their way back through `reverse` when given. `config` is
    the backtranslate step's config (field, into, source_lang, target_lang, decoding...)."""
    c = config
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
        tag = origin(
            "backtranslate",
            c.model,
            {
                **c.decoding_params(),
                "source_lang": c.source_lang,
                "target_lang": c.target_lang,
                "field": c.field,
                "into": c.into,
            },
        )
        for k, row in enumerate(rows):
            for v, text in enumerate(translations[k]):
                generated.add(row, v, text, texts[k], c.target_lang, tag, references[k])
        if reverse is not None:
            position = {row: k for k, row in enumerate(rows)}
            flat_sources = [sources[position[p]] for p in generated.parent]
            back = translate_grouped(
                reverse,
                [t or "" for t in generated.output],
                [c.target_lang] * len(flat_sources),
                flat_sources,
                c.plain_decoding(),
            )
            generated.roundtrip = [b[0] if b else None for b in back]
    return generated, stats


def roundtrip(batch: pl.DataFrame, rows: list[int], config, models: ModelsFor, seed: int) -> tuple[Generated, Counter]:
    """Round trips of `rows` (indices into `batch`) through each pivot; `models(lang, pivot)` gives the (forward,
    back) models for rows in `lang` and the name of the pair. `config` is the roundtrip step's config."""
    c = config
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
    return generated, stats


def same_code(a: str, b: str) -> bool:
    return a == b or (iso639_3(a) is not None and iso639_3(a) == iso639_3(b))
