"""The recipe: its YAML, its schema, and errors that point at the recipe's lines.

A recipe is data, never code: it is read with `yaml.safe_load`, every section is a pydantic model that forbids
unknown keys, and every step's parameters are checked by that step's own config model. Problems are collected and
reported together, each as `file:line:col: where: what (allowed: ...)`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from curate.core.errors import RecipeError
from curate.core.yamlmap import LineMap, config_keys, format_validation_error, suggest
from curate.stages.base import StepConfig
from curate.stages.registry import get_step, step_names

FORMATS = ("auto", "jsonl", "json", "parquet", "csv", "tsv", "txt", "arrow", "hub")
MAX_BATCH_ROWS = 10_000_000  # bounds on sizes: a typo of 1e21 is a clear error, not an OverflowError mid-run
MAX_BYTES = 1 << 30
MAX_YAML_VALUES = 100_000  # a recipe is a few hundred values: more, once aliases are expanded, is an alias bomb
MAX_YAML_DEPTH = 64


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Section):
    """One input: files (a path or glob) or a Hugging Face hub dataset."""

    path: str | None = Field(None, description="file, folder or glob (relative to the working directory)")
    hub: str | None = Field(None, description="a Hugging Face hub dataset id, read when online")
    split: str = Field("train", description="split to read from a hub dataset or a `datasets` folder")
    format: Literal[FORMATS] = Field("auto", description="file format; `auto` goes by the file extension")  # type: ignore[valid-type]
    columns: dict[str, str] = Field(default_factory=dict, description="canonical name -> column in this source")
    meta: dict[str, Any] = Field(default_factory=dict, description="licence, origin...: carried into the card")
    encoding: str | None = Field(
        None,
        description="text encoding of jsonl/json/csv/tsv/txt files: a codec (utf-8, "
        "cp1251, shift_jis...), or `auto`: detected per file, and records in another encoding "
        "decoded on their own; not given: UTF-8, or `auto` for a file that is not UTF-8",
    )
    txt_unit: Literal["line", "file"] = Field("line", description="txt files: one row per line or per file")

    @model_validator(mode="after")
    def _one_location(self) -> Source:
        if (self.path is None) == (self.hub is None):
            raise ValueError("give exactly one of `path` or `hub`")
        return self

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        import codecs

        if value is None or value == "auto":
            return value
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (e.g. auto, utf-8, cp1252, shift_jis, utf-16)") from None
        try:  # rot13, zlib_codec...: codecs, but not between text and bytes
            "".encode(value)
            b"".decode(value)
        except (LookupError, UnicodeError):
            raise ValueError(f"{value!r} is not a text encoding (e.g. utf-8, latin-1, cp1252, utf-16)") from None
        return value


class Output(_Section):
    dir: str = Field(..., description="output folder (overridden by `curate run --out`)")
    splits: dict[str, float] = Field(default_factory=lambda: {"train": 1.0}, description="split name -> fraction")
    split_by: str | None = Field(
        None,
        description="column whose equal values stay in one split (besides near-duplicate "
        "clusters, synthetic rows and their parents, repeats and their originals)",
    )
    stratify_by: str | None = Field(None, description="column (e.g. text_lang) whose every value gets its split shares")
    max_rows_per_shard: int = Field(200_000, gt=0, le=MAX_BATCH_ROWS, description="rows per parquet shard at most")
    min_originals: int = Field(
        10,
        ge=0,
        description="flag a split with fewer original rows (copies not counted) of "
        "a `stratify_by` value: figures measured on it are noise (0: no flags)",
    )
    keep_work: bool | Literal["auto"] = Field(
        "auto",
        description="OUT/.curate, the per-step caches for fast reruns and --resume, after a successful run: "
        "`auto` keeps them except the raw rows of the steps before a `pii` step, `true` keeps everything (raw rows "
        "too: a warning says so), `false` removes it",
    )

    @field_validator("splits")
    @classmethod
    def _fractions(cls, splits: dict[str, float]) -> dict[str, float]:
        if not splits:
            raise ValueError("give at least one split, e.g. {train: 1.0}")
        if any(f <= 0 for f in splits.values()):
            raise ValueError("split fractions must be positive")
        if abs(sum(splits.values()) - 1.0) > 1e-6:
            raise ValueError(f"split fractions must add up to 1 (they add up to {sum(splits.values()):g})")
        for name in splits:
            if not name.replace("_", "").isalnum():
                raise ValueError(f"split name {name!r} must be letters, digits and underscores")
        return splits


class Engine(_Section):
    batch_rows: int = Field(50_000, gt=0, le=MAX_BATCH_ROWS, description="rows per batch: bounds memory per step")
    batch_bytes: int = Field(
        64 << 20, gt=0, le=MAX_BYTES, description="bytes of input text per batch when reading text files"
    )


class Card(_Section):
    pretty_name: str | None = Field(None, description="the dataset's display name on the Hub")
    languages: list[str] | None = Field(
        None,
        description="the card's languages as ISO 639-1 or 639-3 codes, when you "
        "know them better than language ID (default: from the data)",
    )
    language_columns: list[str] = Field(
        default_factory=list,
        description="columns that hold each row's language "
        "(e.g. `tgt_lang`), for the card's languages besides what `langid` identified",
    )
    task_categories: list[str] = Field(default_factory=list, description="e.g. translation, summarization")
    limitations: list[str] = Field(default_factory=list, description="known limitations, added to the generated ones")


class RecipeModel(_Section):
    name: str
    description: str = ""
    seed: int = 0
    sources: list[Source] = Field(..., min_length=1)
    steps: list[Any] = Field(default_factory=list)
    output: Output
    on_bad_input: Literal["reject", "fail"] = "reject"
    max_record_bytes: int = Field(4 << 20, gt=0, le=MAX_BYTES, description="larger records are rejected as `too_large`")
    engine: Engine = Field(default_factory=Engine)
    card: Card = Field(default_factory=Card)
    train: dict[str, Any] | None = Field(
        None, description="config for `curate train` with no argument (keys as in train/*.yaml); not part of the run"
    )


@dataclass
class StepSpec:
    name: str
    config: StepConfig
    index: int
    line: int

    def resolved(self) -> dict[str, Any]:
        return {self.name: self.config.model_dump(mode="json")}


@dataclass
class Recipe:
    """A validated recipe: the model, its steps with their configs, and where it came from."""

    model: RecipeModel
    steps: list[StepSpec]
    path: Path
    text: str
    lines: LineMap
    base: Path = Path(".")  # the folder relative paths resolve against (`curate.run.sources.project_dir`)

    @property
    def name(self) -> str:
        return self.model.name

    def output_dir(self) -> Path:
        """`output.dir`, resolved against the same folder as the sources."""
        return Path(os.path.normpath(self.base / self.model.output.dir))

    def resolved(self) -> dict[str, Any]:
        """The recipe with every default filled in: what the manifest records and the hash is taken of."""
        data = self.model.model_dump(mode="json")
        data["steps"] = [s.resolved() for s in self.steps]
        return data

    def hash(self) -> str:
        return hashlib.sha256(canonical_json(self.resolved()).encode()).hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


_SECTION_MODELS: dict[tuple, type[BaseModel]] = {
    (): RecipeModel,
    ("output",): Output,
    ("engine",): Engine,
    ("card",): Card,
}


def _recipe_section(path: tuple) -> type[BaseModel] | None:
    if len(path) == 2 and path[0] == "sources" and isinstance(path[1], int):
        return Source
    return _SECTION_MODELS.get(path)


def parse_steps(raw_steps: list[Any], lines: LineMap) -> tuple[list[StepSpec], list[str], dict[int, tuple[str, Any]]]:
    """Valid steps, problems, and the steps of a known name whose parameters are invalid (index -> name, params)."""
    specs, problems, invalid = [], [], {}
    names = step_names()
    for i, item in enumerate(raw_steps):
        path = ("steps", i)
        if isinstance(item, str):
            item = {item: None}
        if not isinstance(item, dict) or len(item) != 1:
            problems.append(
                f"{lines.where(path)}: steps[{i}]: each step is one mapping `- name: {{params}}`, "
                "e.g. `- normalize: {fields: [text]}`"
            )
            continue
        ((name, params),) = item.items()
        name = str(name)
        cls = get_step(name)
        if cls is None:
            problems.append(
                f"{lines.where(path + (name,))}: steps[{i}]: unknown step '{name}';{suggest(name, names)}".rstrip(";")
                + f" (steps: {', '.join(names)})"
            )
            continue
        if params is not None and not isinstance(params, dict):
            problems.append(
                f"{lines.where(path + (name,))}: steps[{i}].{name}: parameters must be a mapping, got {params!r}"
            )
            invalid[i] = (name, None)
            continue
        try:
            config = cls.Config.model_validate(params or {})
        except ValidationError as exc:
            problems += format_validation_error(
                exc, path + (name,), lines, lambda p, c=cls: c.Config if len(p) == 3 else None
            )
            invalid[i] = (name, params)
            continue
        specs.append(StepSpec(name=name, config=config, index=i, line=lines.line(path)))
    return specs, problems, invalid


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def yaml_structure_problem(root: yaml.Node, filename: str) -> str | None:
    """Why a composed YAML document must not be expanded into data, else None: aliases that expand to more than
    MAX_YAML_VALUES values (a few hundred bytes can stand for billions), an alias inside the node it names (a
    cycle), or nesting deeper than MAX_YAML_DEPTH. Each node's expanded size is counted once, without expanding."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, finished = stack.pop()
        key, line = id(node), node.start_mark.line + 1
        if finished:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_YAML_VALUES:
                return (
                    f"{filename}:{line}: YAML aliases here expand to more than {MAX_YAML_VALUES:,} values "
                    "(an alias bomb?); write the recipe without them"
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            return f"{filename}:{line}: a YAML alias refers to the node that contains it; a recipe can't be recursive"
        if depth > MAX_YAML_DEPTH:
            return f"{filename}:{line}: the YAML nests deeper than {MAX_YAML_DEPTH} levels"
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node))
    return None


def parse_yaml(text: str, filename: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its data, with `yaml.safe_load`'s loader, once its structure
    is known to be safe to expand."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        problem = yaml_structure_problem(root, filename)
        if problem is not None:
            raise RecipeError(problem)
        return root, loader.construct_document(root)
    finally:
        loader.dispose()


def lenient(model: type[BaseModel], raw: Any) -> BaseModel | None:
    """`raw` validated without its unknown keys and the keys with invalid values (they are reported apart), or None
    when that is still invalid: the rest of a section with a typo can then be checked in the same pass."""
    if not isinstance(raw, dict):
        return None
    keys = set(config_keys(model))
    data = {k: v for k, v in raw.items() if k in keys}
    while True:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            bad = {e["loc"][0] for e in exc.errors() if e["loc"]} & set(data)
            if not bad:
                return None
            data = {k: v for k, v in data.items() if k not in bad}


@dataclass
class Draft:
    """A recipe as far as it could be read: its problems so far, and the parts that are valid on their own, so that
    `curate.run.validate` checks files and columns too and every problem is reported in one pass."""

    path: Path
    text: str
    lines: LineMap
    data: dict[str, Any]
    model: RecipeModel | None
    steps: list[StepSpec]
    invalid_steps: dict[int, tuple[str, Any]]
    problems: list[str]

    def sources(self) -> list[tuple[int, Source | None, bool]]:
        """Every source with its index and whether it is valid as written; a source with a typo comes without its
        unknown keys (None when it is invalid even so)."""
        if self.model is not None:
            return [(i, source, True) for i, source in enumerate(self.model.sources)]
        raw = self.data.get("sources")
        out = []
        for i, item in enumerate(raw if isinstance(raw, list) else []):
            try:
                out.append((i, Source.model_validate(item), True))
            except ValidationError:
                out.append((i, lenient(Source, item), False))
        return out

    def output(self) -> Output | None:
        return self.model.output if self.model is not None else lenient(Output, self.data.get("output"))

    def recipe(self) -> Recipe:
        if self.problems or self.model is None:
            raise RecipeError(self.problems)
        return Recipe(model=self.model, steps=self.steps, path=self.path, text=self.text, lines=self.lines)


def read_recipe(path: str | Path) -> Draft:
    """Read a recipe and validate its structure, collecting the problems (not yet its files and columns: see
    `curate.run.validate`). Raises only when there is nothing to check: no file, not text, not YAML, not a mapping."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{path}: recipe file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeError(f"{path}: the recipe is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        root, data = parse_yaml(text, str(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecipeError(f"{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise RecipeError(f"{path}: the YAML nests deeper than {MAX_YAML_DEPTH} levels") from None
    lines = LineMap(root, str(path))
    if not isinstance(data, dict):
        raise RecipeError(f"{path}:1: a recipe is a mapping with `name`, `sources`, `steps` and `output`")
    problems = list(lines.duplicates)
    try:
        model = RecipeModel.model_validate(data)
    except ValidationError as exc:
        problems += format_validation_error(exc, (), lines, _recipe_section)
        model = None
    raw_steps = data.get("steps") or []
    specs, step_problems, invalid = parse_steps(raw_steps if isinstance(raw_steps, list) else [], lines)
    return Draft(path, text, lines, data, model, specs, invalid, problems + step_problems)


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe's structure (not yet its files and columns: see `curate.run.validate`)."""
    return read_recipe(path).recipe()
