"""YAML documents whose errors name a line: where each key and value is (`LineMap`), and pydantic's validation errors
as one line each, with the allowed keys or values and a "did you mean" hint. The recipe and the training config both
use them."""

from __future__ import annotations

import difflib
from collections.abc import Callable

import yaml
from pydantic import BaseModel, ValidationError


def config_keys(model: type[BaseModel]) -> list[str]:
    """The keys a user writes (a field's alias where it has one, e.g. `in`)."""
    return sorted(info.alias or key for key, info in model.model_fields.items())


def suggest(name: str, allowed: list[str]) -> str:
    """A ' did you mean ...?' hint for a misspelt name, or ''."""
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    return f" did you mean '{close[0]}'?" if close else ""


class LineMap:
    """Where each key and value of the YAML document is, so errors can name a line."""

    def __init__(self, root: yaml.Node | None, filename: str):
        self.filename = filename
        self.positions: dict[tuple, tuple[int, int]] = {}
        self.duplicates: list[str] = []
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, path: tuple) -> None:
        self.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
                if name in seen:
                    line = key.start_mark.line + 1
                    self.duplicates.append(
                        f"{self.filename}:{line}: {dotted(path) or 'recipe'}: key '{name}' given twice"
                    )
                seen.add(name)
                self.positions[path + (name,)] = (key.start_mark.line + 1, key.start_mark.column + 1)
                self._walk(value, path + (name,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, path + (i,))

    def where(self, path: tuple) -> str:
        """`file:line:col` of the deepest part of `path` that exists in the document."""
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.positions:
                line, col = self.positions[path[:cut]]
                return f"{self.filename}:{line}:{col}"
        return self.filename

    def line(self, path: tuple) -> int:
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.positions:
                return self.positions[path[:cut]][0]
        return 0


def dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def unknown_key(where: str, label: str, key: str, allowed: list[str]) -> str:
    message = f"{where}: {label}: unknown key '{key}';{suggest(key, allowed)}"
    return message.rstrip(";") + (f" (allowed: {', '.join(allowed)})" if allowed else "")


def format_validation_error(
    error: ValidationError, prefix: tuple, lines: LineMap, owner: Callable[[tuple], type[BaseModel] | None]
) -> list[str]:
    """Turn pydantic's errors into one line each: where, what, and the allowed keys or values.

    `owner(path)` names the model that holds the mapping at `path`, to list its keys when one is unknown."""
    problems = []
    for err in error.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        path = prefix + loc
        where, label = lines.where(path), dotted(path) or "recipe"
        kind, value = err["type"], err.get("input")
        if kind == "extra_forbidden":
            model = owner(path[:-1])
            problems.append(
                unknown_key(where, dotted(path[:-1]) or "recipe", str(loc[-1]), config_keys(model) if model else [])
            )
        elif kind == "missing":
            problems.append(f"{where}: {label}: missing required key")
        elif kind == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            options = [o.strip(" '") for o in expected.replace(" or ", ",").split(",")]
            hint = suggest(value, options) if isinstance(value, str) else ""
            problems.append(
                f"{where}: {label}: {value!r} is not allowed;{hint}".rstrip(";") + f" (expected {expected})"
            )
        else:
            message = err["msg"].removeprefix("Value error, ")
            shown = f" (got {value!r})" if value is not None and not isinstance(value, (dict, list)) else ""
            problems.append(f"{where}: {label}: {message}{shown}")
    return problems
