"""Translation with a Transformers seq2seq model (Marian/opus-mt, NLLB, M2M100, mBART) on CTranslate2 or Transformers.

The tokenizer is always the model's own Transformers tokenizer (text <-> tokens); the decoding runs on CTranslate2
(the converted, cached copy: see `curate.augment.ct2`) or on Transformers `generate` (the reference, and the
baseline of `bench/backtranslate.py`). Both engines get the same length-sorted batches.

Languages: multilingual models need to be told the target language. NLLB, M2M100 and mBART-50 take it as the first
target token (CTranslate2 `target_prefix`, Transformers `forced_bos_token_id`) and the source language as a
source token (`tokenizer.src_lang`); multilingual opus-mt models take a `>>xxx<<` token at the start of the source.
Languages are given as ISO 639 codes (`yid`, `en`) and matched to the model's own codes (`yid_Hebr`, `__yi__`,
`>>yid<<`, `en_XX`), or given in the model's own spelling.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from curate.augment import ct2
from curate.core.errors import CurateError, MissingDependencyError
from curate.core.languages import iso639_3, likely_script
from curate.models.hf import load_tokenizer, quiet_libraries, resolve_device
from curate.models.locate import model_folder

Engine = Literal["ctranslate2", "transformers"]


@dataclass(frozen=True)
class Decoding:
    """How to decode: beam search (`beam_size`, `n` best) or sampling (`sampling_topk` > 1 or
    `sampling_temperature` != 1: `n` independent samples, beam 1)."""

    beam_size: int = 4
    n: int = 1
    sampling_topk: int = 1
    sampling_temperature: float = 1.0
    max_length: int = 256
    batch_size: int = 32
    min_length: int = 0  # the benchmark forces equal output lengths with min_length == max_length

    @property
    def sampling(self) -> bool:
        return self.sampling_topk != 1


_CODE = re.compile(r"^(?:__|>>)?([a-z]{2,3})(?:[_-]([A-Za-z]{2,4}))?(?:__|<<)?$")


def model_language_codes(tokenizer: Any) -> list[str]:
    """The language tokens a multilingual tokenizer knows (`>>yid<<`, `__yi__`, `yid_Hebr`, `en_XX`)."""
    codes: list[str] = list(getattr(tokenizer, "supported_language_codes", None) or [])
    mapping = getattr(tokenizer, "lang_code_to_token", None)
    if isinstance(mapping, dict):
        codes += list(mapping.values())
    mapping = getattr(tokenizer, "lang_token_to_id", None)
    if isinstance(mapping, dict):
        codes += list(mapping)
    with contextlib.suppress(AttributeError, NotImplementedError):  # NLLB, mBART-50: language codes as added tokens
        codes += [t for t in tokenizer.get_added_vocab() if _CODE.match(t)]
    for attr in ("additional_special_tokens", "extra_special_tokens"):
        try:
            special = getattr(tokenizer, attr, None) or []
        except AttributeError:
            special = []
        codes += [t for t in special if isinstance(t, str) and _CODE.match(t)]
    unk = getattr(tokenizer, "unk_token_id", None)
    real = [c for c in dict.fromkeys(codes) if _CODE.match(c) and tokenizer.convert_tokens_to_ids(c) not in (None, unk)]
    return real


def match_language_code(lang: str, codes: Sequence[str]) -> str | None:
    """The model's token for an ISO 639 code: same language (ISO 639-3), then the language's usual script
    (NLLB's `zho_Hans` vs `zho_Hant`), then the first. A code already in the model's spelling is taken as is."""
    if lang in codes:
        return lang
    for spelled in (f">>{lang}<<", f"__{lang}__"):
        if spelled in codes:
            return spelled
    wanted = iso639_3(lang)
    if wanted is None:
        return None
    same = []
    for code in codes:
        m = _CODE.match(code)
        if m and iso639_3(m.group(1)) == wanted:
            same.append((code, m.group(2)))
    if not same:
        return None
    script = likely_script(lang)
    for code, tail in same:
        if tail and script and tail.lower() == script.lower():
            return code
    return same[0][0]


# the model ----------------------------------------------------------------------------------------------------------
class Seq2SeqModel:
    """A seq2seq translation model with its tokenizer, decoding on CTranslate2 or Transformers."""

    def __init__(
        self,
        name: str,
        *,
        base: Path | None = None,
        engine: Engine = "ctranslate2",
        device: str = "auto",
        compute_type: str = "auto",
        threads: int = 0,
        workers: int = 0,
        cache_dir: str | Path | None = None,
    ):
        """`threads`: CPU threads in all (0: every core); `workers`: CTranslate2 batches decoded in parallel (0: up
        to 4; give 1 when sampling, so that samples come out the same on every run)."""
        try:
            import transformers  # noqa: F401
        except ImportError:
            raise MissingDependencyError("translation", "transformers", "synth") from None
        self.name, self.engine = name, engine
        self.path = model_folder(name, base)
        self.tokenizer = load_tokenizer(self.path)
        self.family = _family(self.path, self.tokenizer)
        self.codes = model_language_codes(self.tokenizer)
        self.max_positions = _max_positions(self.path)
        self.tokens_out = 0  # tokens generated so far (the benchmark checks that engines decode equal lengths)
        if engine == "ctranslate2":
            try:
                import ctranslate2  # noqa: F401
            except ImportError:
                raise MissingDependencyError("backtranslate on CTranslate2", "ctranslate2", "synth") from None
            self.device = resolve_device(device, "ctranslate2")
            self.compute_type = ct2.pick_compute_type(compute_type, self.device)
            converted = ct2.convert(self.path, self.compute_type, cache_dir)
            self.workers = ct2.thread_plan(threads, workers)[0] if self.device == "cpu" else max(1, workers)
            self.translator = ct2.load_translator(converted, self.device, self.compute_type, threads, self.workers)
        else:
            from transformers import AutoModelForSeq2SeqLM

            self.device = resolve_device(device)
            self.compute_type, self.workers = "float32", 1
            quiet_libraries()
            self.model = AutoModelForSeq2SeqLM.from_pretrained(self.path).to(self.device).eval()

    # languages ------------------------------------------------------------------------------------------------------
    def language_token(self, lang: str | None, role: str) -> str | None:
        """The model's token for `lang`, or None for a single-pair model; an error if the model is multilingual and
        does not know the language (or none was given)."""
        if not self.codes:
            return None
        if lang is None:
            raise CurateError(
                f"model {self.name!r} is multilingual: give the {role} language (one of {_sample(self.codes)})"
            )
        code = match_language_code(lang, self.codes)
        if code is None:
            raise CurateError(
                f"model {self.name!r} has no language token for {role} language {lang!r}; "
                f"it knows {_sample(self.codes)}"
            )
        return code

    def _source_tokens(self, texts: Sequence[str], source_lang: str | None, target_lang: str | None) -> list[list[str]]:
        tok = self.tokenizer
        prefix = ""
        if self.family == "marian" and self.codes:  # multilingual opus-mt: >>xxx<< opens the source
            prefix = self.language_token(target_lang, "target") + " "
        elif self.family in ("m2m_100", "nllb", "mbart") and self.codes:
            tok.src_lang = _bare(self.language_token(source_lang, "source"), self.family)
        encoded = tok([prefix + t for t in texts], truncation=True, max_length=_max_input(tok))["input_ids"]
        return [tok.convert_ids_to_tokens(ids) for ids in encoded]

    def _target_prefix(self, target_lang: str | None) -> str | None:
        if self.family in ("m2m_100", "nllb", "mbart") and self.codes:
            return self.language_token(target_lang, "target")
        return None

    # translating ----------------------------------------------------------------------------------------------------
    def translate(
        self, texts: Sequence[str], decoding: Decoding, source_lang: str | None = None, target_lang: str | None = None
    ) -> list[list[str]]:
        """`decoding.n` translations of every text, in input order."""
        if not texts:
            return []
        sources = self._source_tokens(texts, source_lang, target_lang)
        prefix = self._target_prefix(target_lang)
        if self.engine == "ctranslate2" and self.workers > 1:
            # one call: CTranslate2 sorts by length, cuts batches of `batch_size` and decodes `workers` at once
            return self._ct2_batch(sources, prefix, decoding, max_batch_size=decoding.batch_size)
        batches = ct2.length_sorted_batches([len(s) for s in sources], decoding.batch_size)
        run = self._ct2_batch if self.engine == "ctranslate2" else self._hf_batch
        results = [run([sources[i] for i in batch], prefix, decoding) for batch in batches]
        return ct2.in_order(batches, results, len(texts))

    def _ct2_batch(
        self, sources: list[list[str]], prefix: str | None, d: Decoding, max_batch_size: int = 0
    ) -> list[list[str]]:
        options = dict(
            max_decoding_length=self._cap(d.max_length),
            min_decoding_length=max(1, d.min_length),
            max_batch_size=max_batch_size,
            batch_type="examples",
            return_scores=False,
        )
        if prefix:
            options["target_prefix"] = [[prefix]] * len(sources)
        if d.sampling:
            options.update(
                beam_size=1,
                num_hypotheses=d.n,
                sampling_topk=d.sampling_topk,
                sampling_temperature=d.sampling_temperature,
            )
        else:
            options.update(beam_size=max(d.beam_size, d.n), num_hypotheses=d.n)
        results = self.translator.translate_batch(sources, **options)
        skip = 1 if prefix else 0
        self.tokens_out += sum(len(h) - skip for r in results for h in r.hypotheses)
        return [[self._detokenize(h[skip:]) for h in r.hypotheses] for r in results]

    def _cap(self, length: int) -> int:
        """Decoding cannot go past the model's position table (a sampled translation may never end)."""
        return min(length, self.max_positions - 2) if self.max_positions else length

    def _detokenize(self, tokens: list[str]) -> str:
        ids = self.tokenizer.convert_tokens_to_ids(tokens)
        return self.tokenizer.decode(ids, skip_special_tokens=True).strip()

    def _hf_batch(self, sources: list[list[str]], prefix: str | None, d: Decoding) -> list[list[str]]:
        import torch

        tok = self.tokenizer
        ids = [tok.convert_tokens_to_ids(s) for s in sources]
        width = max(len(i) for i in ids)
        pad = tok.pad_token_id
        input_ids = torch.tensor([i + [pad] * (width - len(i)) for i in ids], device=self.device)
        mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i in ids], device=self.device)
        options: dict[str, Any] = dict(max_new_tokens=self._cap(d.max_length), num_return_sequences=d.n)
        if d.min_length:
            options["min_new_tokens"] = d.min_length
        if prefix:
            options["forced_bos_token_id"] = tok.convert_tokens_to_ids(prefix)
        if d.sampling:
            options.update(do_sample=True, num_beams=1, top_k=d.sampling_topk, temperature=d.sampling_temperature)
        else:
            options.update(do_sample=False, num_beams=max(d.beam_size, d.n))
        with torch.inference_mode():
            out = self.model.generate(input_ids=input_ids, attention_mask=mask, **options)
        start = 2 if prefix else 1  # the decoder start token, then the forced language token
        generated = out[:, start:]
        self.tokens_out += int(((generated != pad) & (generated != tok.eos_token_id)).sum())
        texts = [t.strip() for t in tok.batch_decode(out[:, start:], skip_special_tokens=True)]
        return [texts[i * d.n : (i + 1) * d.n] for i in range(len(sources))]


def _family(path: Path, tokenizer: Any) -> str:
    import json

    model_type = ""
    config = path / "config.json"
    if config.is_file():
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type", "") or ""
    name = type(tokenizer).__name__.lower()
    if "nllb" in name:
        return "nllb"
    if "m2m" in name or model_type == "m2m_100":
        return "m2m_100"
    if "mbart" in name or model_type == "mbart":
        return "mbart"
    if "marian" in name or model_type == "marian":
        return "marian"
    return model_type or name


def _max_positions(path: Path) -> int | None:
    import json

    config = path / "config.json"
    if not config.is_file():
        return None
    value = json.loads(config.read_text(encoding="utf-8")).get("max_position_embeddings")
    return int(value) if isinstance(value, int) and value > 2 else None


def _bare(code: str, family: str) -> str:
    """The spelling `tokenizer.src_lang` wants: M2M100 takes `yi` for the token `__yi__`."""
    return code.strip("_") if family == "m2m_100" else code


def _max_input(tokenizer: Any) -> int:
    limit = getattr(tokenizer, "model_max_length", 512) or 512
    return min(int(limit), 1024)


def _sample(codes: Sequence[str], k: int = 12) -> str:
    shown = ", ".join(codes[:k])
    return shown + (f", ... ({len(codes)} in all)" if len(codes) > k else "")


_LOADED: dict[tuple, Seq2SeqModel] = {}


def load_seq2seq(
    name: str,
    *,
    base: Path | None = None,
    engine: Engine = "ctranslate2",
    device: str = "auto",
    compute_type: str = "auto",
    threads: int = 0,
    workers: int = 0,
    cache_dir: str | Path | None = None,
) -> Seq2SeqModel:
    """A model loaded once per process (steps of one recipe that name the same model share it)."""
    path = model_folder(name, base)
    key = (str(path.resolve()), ct2.fingerprint(path), engine, device, compute_type, threads, workers, str(cache_dir))
    if key not in _LOADED:
        _LOADED[key] = Seq2SeqModel(
            name,
            base=base,
            engine=engine,
            device=device,
            compute_type=compute_type,
            threads=threads,
            workers=workers,
            cache_dir=cache_dir,
        )
    return _LOADED[key]


def set_seed(seed: int) -> None:
    """Seed both engines' samplers (CTranslate2's is process-wide)."""
    seed %= 2**31
    try:
        import ctranslate2

        ctranslate2.set_random_seed(seed)
    except ImportError:
        pass
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass
