"""The training config (`train/*.yaml`): its schema, defaults that suit LoRA, and errors that point at lines.

Like a recipe, a training config is data: it is read with `yaml.safe_load`, every section forbids unknown keys, and
mistakes are reported together as `file:line:col: where: what (allowed: ...)` with exit code 2.
"""

from __future__ import annotations

import hashlib
import string
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from curate.core.errors import CurateError

# the placeholders a prompt template may use besides the row's own columns
LANGUAGE_PLACEHOLDERS = ("input", "target_lang", "target_lang_name", "source_lang", "source_lang_name")


class TrainConfigError(CurateError):
    """The training config is invalid; raised before any model is loaded."""

    exit_code = 2

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        head = (
            "invalid training config"
            if len(self.problems) == 1
            else f"invalid training config ({len(self.problems)} problems)"
        )
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TinyModel(_Section):
    """A tiny randomly initialised model built locally (for tests and offline quick starts, not for quality)."""

    build_tiny: Literal["marian", "qwen2"] = Field(
        ..., description="architecture: `marian` (seq2seq) or `qwen2` (causal)"
    )
    path: str = Field(..., description="folder to build it in; reused when it already holds a model")
    vocab_size: int = Field(1000, ge=64, description="BPE vocabulary trained on the training data")
    d_model: int = Field(32, ge=8, description="hidden size")
    layers: int = Field(2, ge=1, description="layers (encoder and decoder each, for marian)")
    heads: int = Field(2, ge=1, description="attention heads")
    ffn_dim: int = Field(64, ge=8, description="feed-forward size")
    init_std: float = Field(
        0.1,
        gt=0,
        description="std of the random weights (larger than the usual 0.02, so a tiny "
        "model's outputs are not flat and LoRA can move them)",
    )


class Data(_Section):
    dir: str | None = Field(
        None, description="a curate output folder (default: the output of the last `curate run` here)"
    )
    train_split: str = Field("train", description="split to train on")
    eval_split: str | None = Field(
        "validation", description="split to evaluate on during and after training (null: none)"
    )
    test_split: str = Field("test", description="split `curate eval --split` uses by default")
    input_field: str = Field("text", description="column fed to the model (`{input}` in the prompt)")
    target_field: str = Field("target", description="column the model learns to produce; rows without one are skipped")
    target_lang_column: str | None = Field(
        "auto",
        description="column giving each row's target language, to group evaluation by and to sample by "
        "(`auto`: `target_lang`, else `tgt_lang`, else the fixed `target_lang`)",
    )
    target_lang: str | None = Field(None, description="target language for rows without a language column value")
    source_lang_column: str | None = Field(
        "auto", description="column giving the input's language (`auto`: `text_lang`, else `src_lang`)"
    )
    source_lang: str | None = Field(None, description="input language for rows without a language column value")
    max_train_rows: int | None = Field(None, gt=0, description="use at most this many training rows (a quick trial)")
    max_eval_rows_per_language: int | None = Field(
        200, gt=0, description="evaluate on at most this many rows per language (generation is the slow part)"
    )
    langs: list[str] | None = Field(
        None,
        description="train and evaluate on these target languages only (null: all), "
        "e.g. `[fra]`, then `[swh]` with `init_adapter` to add a language",
    )


class _DataSource(_Section):
    """What a task or a retain set may set differently from `data:` (null: as in `data:`)."""

    prompt: str | None = Field(None, description="input template (default: the config's `prompt`)")
    input_field: str | None = Field(None, description="column fed to the model (default: `data.input_field`)")
    target_field: str | None = Field(None, description="column to produce (default: `data.target_field`)")
    target_lang_column: str | None = Field(
        None, description="column of the target language (default: `data.target_lang_column`)"
    )
    target_lang: str | None = Field(
        None, description="target language of rows without one (default: `data.target_lang`)"
    )
    langs: list[str] | None = Field(
        None, description="these target languages only (default: a task's are `data.langs`, a retain set's all)"
    )

    @field_validator("prompt")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else check_template(value)

    def resolve(self, data: Data, folder: str | None) -> Data:
        """`data:` with this source's folder and the settings it changes."""
        keys = ("input_field", "target_field", "target_lang_column", "target_lang", "langs")
        changed = {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
        return data.model_copy(update={"dir": folder, **changed})


class Task(_DataSource):
    """One curated output trained on with its own prompt; tasks are mixed by `weight`."""

    name: str | None = Field(None, description="the task's name in tables (default: the folder's name)")
    data: str = Field(..., description="a curate output folder")
    weight: float = Field(
        1.0,
        gt=0,
        description="mixing weight: the task's share of the training draws is "
        "weight / sum of weights (languages are sampled by temperature within it)",
    )

    @property
    def label(self) -> str:
        return self.name or Path(self.data).name


class Retain(_DataSource):
    """Data the fine-tune must not get worse on: scored with the base and the tuned model, like the eval split."""

    name: str | None = Field(None, description="its name in tables (default: the folder's or file's name)")
    data: str | None = Field(None, description="a curate output folder (evaluated on `split`)")
    files: str | None = Field(None, description="parallel files instead: a path or glob of .jsonl/.parquet/.csv/.tsv")
    split: str | None = Field(None, description="split of `data` (default: the split being evaluated)")
    max_rows_per_language: int | None = Field(None, gt=0, description="default: `data.max_eval_rows_per_language`")

    @model_validator(mode="after")
    def _one_source(self) -> Retain:
        if (self.data is None) == (self.files is None):
            raise ValueError("give either `data` (a curate output folder) or `files` (parallel files)")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        source = Path(self.data or self.files or "retain")
        return source.stem if self.files else source.name

    def resolve(self, data: Data, folder: str | None) -> Data:
        """As for a task, but every language unless `langs` says otherwise: `data.langs` is what is trained."""
        return super().resolve(data, folder).model_copy(update={"langs": self.langs})


class Sampling(_Section):
    temperature: float = Field(
        1.0,
        ge=1.0,
        description="language sampling temperature: a language is drawn with probability ∝ n^(1/T) "
        "(1 keeps the natural shares; 5 is the mT5/XLM-R setting; large values approach uniform)",
    )
    by: str | None = Field(None, description="column to sample by (default: the target language)")


class Lora(_Section):
    r: int = Field(16, gt=0, description="rank of the update matrices")
    alpha: int = Field(32, gt=0, description="scaling: the update is multiplied by alpha / r")
    dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the LoRA input")
    target_modules: Literal["auto", "all-linear"] | list[str] = Field(
        "auto", description="`auto`: attention and MLP projections of the architecture; `all-linear`; or module names"
    )
    modules_to_save: list[str] = Field(
        default_factory=list, description="modules trained fully and saved with the adapter"
    )


class Eval(_Section):
    every_steps: int | None = Field(
        None, gt=0, description="evaluate every N optimizer steps (default: after each epoch)"
    )
    metric: Literal["loss", "chrf", "bleu"] = Field(
        "loss",
        description="metric for early stopping and the best checkpoint (chrf/bleu: macro-average over languages)",
    )
    patience: int | None = Field(
        None, gt=0, description="stop after this many evaluations without improvement (null: never)"
    )
    load_best: bool = Field(True, description="save the best evaluated weights, not the last")
    generate: bool = Field(True, description="generate outputs at the final evaluation for chrF, BLEU and samples")
    num_beams: int = Field(1, ge=1, description="beam size for generation")
    max_new_tokens: int | None = Field(None, gt=0, description="longest generation (default: max_target_length)")
    samples_per_language: int = Field(3, ge=0, description="generated samples per language in the report and card")
    batch_size: int | None = Field(None, gt=0, description="evaluation batch size (default: batch_size)")
    compare_base: bool = Field(
        True,
        description="also score the model before fine-tuning (the base, or base + "
        "`init_adapter`) on the same rows, and show both and the difference",
    )


class Judge(_Section):
    """An LLM that rates outputs (`curate eval --judge`): the paraphrase step's backends, cache and retries."""

    backend: Literal["http", "local"] = Field(
        "http", description="http: an OpenAI-compatible endpoint; local: a chat model run here"
    )
    model: str = Field(
        ..., description="http: the model name the server serves; local: a chat model's folder or hub id"
    )
    base_url: str | None = Field(None, description="http: the endpoint, e.g. http://localhost:8000/v1")
    api_key_env: str | None = Field(
        "OPENAI_API_KEY", description="http: environment variable holding the API key (never written anywhere)"
    )
    engine: Literal["transformers", "ctranslate2"] = Field(
        "transformers", description="local: decode on Transformers or CTranslate2"
    )
    chat_template: bool = Field(True, description="local: wrap the prompt in the model's chat template")
    rubrics: dict[str, str] = Field(
        default_factory=dict,
        description="extra rubric text per target language code, plus "
        "`default` (e.g. which variety or register counts as right)",
    )
    against: Literal["auto", "reference", "source", "both"] = Field(
        "auto",
        description="what the output is judged against: `auto` the reference when the row has one, else the "
        "source (cross-lingual); `source`; `reference`; or `both`",
    )
    system: str | None = Field(None, description="system message sent before each request")
    temperature: float = Field(0.0, ge=0, le=2, description="sampling temperature of the judge (0: greedy)")
    max_new_tokens: int = Field(256, ge=16, description="longest answer")
    max_rows_per_language: int | None = Field(
        50, gt=0, description="judge at most this many outputs per language and set"
    )
    base: bool = Field(True, description="also judge the base model's outputs (a judge column in the base/tuned table)")
    concurrency: int = Field(4, ge=1, le=256, description="http: requests in flight at once")
    retries: int = Field(
        4, ge=0, le=20, description="http: retries with exponential backoff (connection errors, 429, 5xx)"
    )
    backoff: float = Field(1.0, ge=0, description="http: first wait in seconds (doubles each retry, at most 30)")
    timeout: float = Field(120.0, gt=0, description="http: seconds to wait for one answer")
    cache: bool = Field(True, description="keep every answer on disk: a rerun asks nothing twice")
    cache_dir: str | None = Field(
        None,
        description="where answers are cached: `$CURATE_CACHE_DIR` or ~/.cache/curate "
        "by default (shared with `paraphrase`)",
    )

    @field_validator("api_key_env")
    @classmethod
    def _key_env(cls, value: str | None) -> str | None:
        from curate.core.credentials import check_key_env

        return None if value is None else check_key_env(value)

    @model_validator(mode="after")
    def _endpoint(self) -> Judge:
        if self.backend == "http" and not self.base_url:
            raise ValueError("backend `http` needs `base_url` (e.g. http://localhost:8000/v1)")
        return self


class TrainConfig(_Section):
    """A `curate train` config. Defaults suit LoRA on one GPU; `full: true` is a full fine-tune to compare with."""

    name: str = Field("model", description="name of the run: the default output folder and the card's title")
    base_model: str | TinyModel = Field(..., description="hub id or local folder, or `{build_tiny: ..., path: ...}`")
    task: Literal["auto", "seq2seq", "causal"] = Field("auto", description="`auto`: seq2seq for encoder-decoder models")
    data: Data = Field(default_factory=Data)
    tasks: list[Task] = Field(
        default_factory=list,
        description="several curated outputs at once, each with its own "
        "`data`, `prompt` and mixing `weight` (instead of `data.dir`)",
    )
    retain: list[Retain] = Field(
        default_factory=list,
        description="data the fine-tune must not forget: each is scored "
        "with the base and the tuned model (`data` + `split`, or `files`)",
    )
    retain_metric: Literal["chrf", "bleu", "loss"] = Field(
        "chrf", description="the metric whose drop on a retain set is flagged as forgetting"
    )
    retain_tolerance: float = Field(
        1.0,
        ge=0,
        description="a drop of more than this (chrF/BLEU points, or loss per "
        "token) on a retain set is flagged as catastrophic forgetting",
    )
    init_adapter: str | None = Field(
        None, description="continue from this earlier LoRA adapter (a `curate train` output), e.g. to add a language"
    )
    retain_earlier: bool = Field(
        True,
        description="with `init_adapter`: retain what the earlier adapter was trained "
        "on (its data, languages and retain sets)",
    )
    judge: Judge | None = Field(None, description="the LLM judge of `curate eval --judge`")
    prompt: str = Field(
        "{input}",
        description="input template: `{input}`, `{target_lang}`, `{target_lang_name}`, "
        "`{source_lang}`, `{source_lang_name}` or any column, e.g. `Translate to {target_lang_name}: {input}`",
    )
    train_on_prompt: bool = Field(
        False, description="causal: also learn to produce the prompt (default: loss on the target only)"
    )
    sampling: Sampling = Field(default_factory=Sampling)
    class_weights: str | None = Field(
        "auto",
        description="`auto`: weight the loss with OUT/weights.json of the balance step when present; a file; or null",
    )
    full: bool = Field(False, description="full fine-tune instead of LoRA")
    lora: Lora = Field(default_factory=Lora)
    freeze: list[str] = Field(
        default_factory=list, description="parameter-name globs to keep frozen, e.g. `*.embed_*`, `*layers.0.*`"
    )
    learning_rate: float | None = Field(
        None, gt=0, description="peak learning rate (default: 2e-4 for LoRA, 5e-5 for full)"
    )
    epochs: float = Field(3.0, gt=0, description="passes over the training set")
    max_steps: int | None = Field(None, gt=0, description="optimizer steps; overrides epochs")
    batch_size: int = Field(8, gt=0, description="rows per micro-batch")
    gradient_accumulation: int = Field(1, gt=0, description="micro-batches per optimizer step")
    lr_scheduler: Literal["linear", "cosine", "constant"] = Field("linear", description="decay after warm-up")
    warmup_ratio: float = Field(0.03, ge=0, lt=1, description="share of the steps spent warming up")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping")
    max_source_length: int = Field(256, gt=0, description="longest input (prompt) in tokens; longer ones are truncated")
    max_target_length: int = Field(256, gt=0, description="longest target in tokens; longer ones are truncated")
    gradient_checkpointing: bool = Field(False, description="recompute activations: less memory, slower steps")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="`auto`: bf16 on GPUs that support it, else fp32"
    )
    quantize: Literal["auto", "none", "4bit", "8bit"] = Field(
        "auto", description="load the base model quantized (QLoRA); `auto`: 4-bit with CUDA and bitsandbytes, for LoRA"
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="`auto`: CUDA when present, else MPS, else CPU"
    )
    cpu_threads: int | None = Field(
        None, gt=0, description="torch CPU threads (default: 1 for tiny models, else torch's)"
    )
    seed: int = Field(13, description="seed for initialisation, sampling and dropout")
    eval: Eval = Field(default_factory=Eval)
    save_every_steps: int | None = Field(
        None, gt=0, description="checkpoint every N steps for --resume (default: at each evaluation)"
    )
    keep_checkpoints: bool = Field(False, description="keep OUTPUT/checkpoints after a successful run")
    output_dir: str | None = Field(
        None, description="where the adapter, metrics and card go (default: out/train/<name>)"
    )
    merge: bool = Field(False, description="also write the base model with the adapter merged in (OUTPUT/merged)")
    export: Literal["none", "ct2"] | None = Field(
        None, description="`ct2`: convert the merged model for CTranslate2 (OUTPUT/ct2)"
    )

    @field_validator("prompt")
    @classmethod
    def _template(cls, value: str) -> str:
        return check_template(value)

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.export == "ct2" and self.full is False and not self.merge:
            self.merge = True  # ct2 converts the merged model
        return self

    def conflicts(self) -> list[tuple[tuple, str]]:
        """Settings that are valid alone but not together: (where, what) pairs."""
        found: list[tuple[tuple, str]] = []
        if self.tasks and self.data.dir:
            found.append(
                (
                    ("data", "dir"),
                    "with `tasks`, each task names its data: remove `data.dir` (the rest of "
                    "`data:` is every task's default)",
                )
            )
        if self.init_adapter and self.full:
            found.append((("init_adapter",), "`init_adapter` continues a LoRA adapter: it needs `full: false`"))
        for kind, items in (("tasks", self.tasks), ("retain", self.retain)):
            labels = [item.label for item in items]
            for i, label in enumerate(labels):
                if label in labels[:i]:
                    found.append(((kind, i), f"the name '{label}' is used twice; give each its own `name`"))
        return found

    @property
    def method(self) -> str:
        return "full" if self.full else "lora"

    @property
    def lr(self) -> float:
        return self.learning_rate or (5e-5 if self.full else 2e-4)

    def resolved(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def hash(self) -> str:
        import json

        text = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def check_template(value: str) -> str:
    try:
        fields = template_fields(value)
    except ValueError as exc:
        raise ValueError(f"not a valid template ({exc}); write literal braces as {{{{ and }}}}") from None
    if not fields:
        raise ValueError("the template uses no field; include at least `{input}`")
    return value


def template_fields(template: str) -> list[str]:
    """The field names a `str.format` template refers to, in order (raises ValueError on a malformed template)."""
    names = []
    for _literal, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"placeholder {{{name}}} must be a plain name such as {{input}}")
        if spec or conversion:
            raise ValueError(f"placeholder {{{name}}} cannot have a format spec or conversion")
        names.append(name)
    return names


# ---------------------------------------------------------------------------------------------------------------
# loading


def _section_model(path: tuple) -> type[BaseModel] | None:
    """The pydantic model that holds the mapping at `path`, to list its keys in an 'unknown key' error."""
    model: type[BaseModel] = TrainConfig
    for key in path:
        if isinstance(key, int):  # an item of a list section (`tasks[1]`): the list's item model
            continue
        info = model.model_fields.get(key) if isinstance(key, str) else None
        if info is None:
            return None
        candidates = [info.annotation, *get_args(info.annotation)] if get_origin(info.annotation) else [info.annotation]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return None
        model = nested[0]
    return model


_UNION_TAGS = ("TinyModel", "str", "list[str]", "literal['auto','all-linear']")


class _CleanErrors:
    """pydantic's errors without union-member tags in their paths (`base_model.TinyModel.path` -> `base_model.path`),
    so they point at the user's key and line."""

    def __init__(self, error: ValidationError):
        self.error = error

    def errors(self) -> list[dict[str, Any]]:
        cleaned = []
        for err in self.error.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.replace(" ", "") in _UNION_TAGS))
            cleaned.append({**err, "loc": loc})
        return cleaned


def parse_config(data: Any, source: str = "<config>", text: str | None = None, prefix: tuple = ()) -> TrainConfig:
    """Validate a config mapping; errors name lines when the YAML `text` is given (`prefix`: where the mapping sits
    in that document, e.g. `("train",)` for a recipe's `train:` section)."""
    from curate.core.yamlmap import LineMap, format_validation_error

    root = yaml.compose(text, Loader=yaml.SafeLoader) if text else None
    lines = LineMap(root, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TrainConfigError(
            f"{lines.where(prefix)}: a training config is a mapping with `base_model`, `data`, `prompt`..."
        )
    problems = [d for d in lines.duplicates if not prefix or f": {prefix[0]}" in d]
    try:
        config = TrainConfig.model_validate(data)
    except ValidationError as exc:
        noise = _union_noise(exc, data)

        def owner(path: tuple) -> type[BaseModel] | None:
            return _section_model(path[len(prefix) :])

        problems += format_validation_error(_CleanErrors(noise), prefix, lines, owner)  # type: ignore[arg-type]
        config = None
    if config is not None:
        conflicts = sorted(config.conflicts(), key=lambda c: lines.line(prefix + c[0]))
        problems += [f"{lines.where(prefix + path)}: {_where(prefix + path)}: {what}" for path, what in conflicts]
    if problems:
        raise TrainConfigError([p.replace(": recipe: ", ": config: ") for p in problems])
    return config


def _where(path: tuple) -> str:
    """`tasks[1]`, `data.dir`: a path as the error messages write it."""
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def _union_noise(exc: ValidationError, data: dict) -> ValidationError:
    """`base_model` is a string or a mapping: keep only the errors of the branch the user wrote."""
    base = data.get("base_model")
    drop = "str" if isinstance(base, dict) else "TinyModel"

    class _Filtered:
        def errors(self) -> list[dict[str, Any]]:
            return [
                e
                for e in exc.errors()
                if not (len(e["loc"]) > 1 and e["loc"][0] == "base_model" and e["loc"][1] == drop)
            ]

    return _Filtered()  # type: ignore[return-value]


def load_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    if not path.is_file():
        raise TrainConfigError(
            f"{path}: training config not found (examples: train/quickstart.yaml, train/default.yaml)"
        )
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise TrainConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    return parse_config(data, str(path), text)


# The built-in default (the same as train/default.yaml): what `curate train` uses with no config, no `train:` section
# in the recipe and no train/default.yaml in the working directory.
DEFAULT_CONFIG: dict[str, Any] = {
    "name": "default",
    "base_model": {"build_tiny": "marian", "path": "out/models/tiny-marian"},
    "task": "auto",
    "prompt": "{input}",
    "max_steps": 100,
    "batch_size": 16,
    "learning_rate": 0.003,
}
