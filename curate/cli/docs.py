"""The step reference, generated from the registry and each step's pydantic config (never kept by hand)."""

from __future__ import annotations

from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from curate.stages.registry import get_step, step_names


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value: Any = info.default_factory() if info.default_factory is not None else info.default
    if value is PydanticUndefined:
        return "required"
    return "—" if value is None else repr(value)


def _type(info: FieldInfo) -> str:
    text = str(info.annotation).replace("typing.", "")
    for old, new in (("<class '", ""), ("'>", ""), ("NoneType", "None")):
        text = text.replace(old, new)
    return text


def step_reference(names: list[str] | None = None) -> list[dict[str, Any]]:
    """Every step's parameters, or only those of `names` (in the order given)."""
    out = []
    for name in names or step_names():
        cls = get_step(name)
        params = [
            {"name": info.alias or key, "type": _type(info), "default": _default(info), "doc": info.description or ""}
            for key, info in cls.Config.model_fields.items()
        ]
        out.append({"name": name, "doc": cls.summary(), "params": params})
    return out


def markdown(names: list[str] | None = None) -> str:
    parts = []
    for step in step_reference(names):
        parts.append(f"### `{step['name']}`\n\n{step['doc']}\n")
        if step["params"]:
            parts.append("| parameter | type | default | meaning |\n|---|---|---|---|")
            for p in step["params"]:
                cells = (f"`{p['name']}`", f"`{p['type']}`", f"`{p['default']}`", p["doc"])
                parts.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


START, END = "<!-- steps:start -->\n", "<!-- steps:end -->"


def update_readme(path: str = "README.md") -> None:
    """Rewrite the step reference between the README's markers: `python -m curate.cli.docs`."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(head + START + markdown() + END + tail)


if __name__ == "__main__":
    update_readme()
