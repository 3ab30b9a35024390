"""The step interface: a step describes itself to the outputs (card sections, files for OUT/, notes at the end of a
run, a limitation when a recipe lacks it) from its own file; no other module names it."""

import json

import polars as pl
import pytest

from curate.io.writers import write_json_atomic
from curate.stages import registry
from curate.stages.base import BatchStep, CardSection, StepConfig, StepResult
from tests.conftest import write_jsonl, write_recipe


class ProbeConfig(StepConfig):
    label: str = "x"


class Probe(BatchStep):
    """A step that only describes itself."""

    Config = ProbeConfig
    config: ProbeConfig
    name = "probe"
    note_if_absent = "No probe ran."

    def process(self, batch: pl.DataFrame) -> StepResult:
        write_json_atomic(self.context.artifact("probe.json"), {"label": self.config.label})
        return StepResult(kept=batch, rejected=batch.clear(), stats={"probe:seen": batch.height})

    @classmethod
    def card_sections(cls, steps):
        labels = ", ".join(f"{s['params']['label']} {s['stats']['probe:seen']}" for s in steps)
        return [CardSection("Probes", f"Seen: {labels}.", steps[0]["index"], "findings")]

    @classmethod
    def artifacts(cls, params):
        return {"probe.json": "the last probe's label"}

    def run_notes(self):
        return [f"probed {self.context.output_dir.name}; go on with `{self.context.resume_command}`"]


@pytest.fixture
def probe(monkeypatch):
    registry.step_names()  # every real step registered first
    monkeypatch.setitem(registry._STEPS, "probe", Probe)


def _run(tmp_path, cli, steps: str):
    write_jsonl(tmp_path / "in.jsonl", [{"text": f"Sentence number {i}."} for i in range(5)])
    write_recipe(tmp_path / "r.yaml", f"name: p\nsources:\n  - path: in.jsonl\nsteps:\n{steps}output:\n  dir: out\n")
    result = cli("run", "r.yaml", cwd=tmp_path)
    assert result.code == 0, result.err
    return result, (tmp_path / "out" / "README.md").read_text()


def test_a_step_writes_its_card_section_files_and_notes(tmp_path, cli, probe):
    result, card = _run(tmp_path, cli, "  - probe: {label: a}\n  - length: {min_chars: 1}\n  - probe: {label: b}\n")
    out = tmp_path / "out"
    # one section about both probes, among the findings: after the languages, before the limitations
    assert "## Probes\n\nSeen: a 5, b 5.\n\n## Limitations" in card
    assert "No probe ran." not in card and "No PII step ran: personal data may remain." in card
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["artifacts"] for s in manifest["steps"]] == [
        {},
        {"probe.json": "the last probe's label"},
        {},
        {"probe.json": "the last probe's label"},
    ]
    assert json.loads((out / "probe.json").read_text()) == {"label": "b"}  # the later step's file wins
    note = "probed out; go on with `curate run r.yaml --resume`"
    thin = (
        "splits with under 10 original rows (copies are no new evidence; figures measured on them are noise): all "
        "rows train 5"
    )
    assert manifest["notes"] == [thin, note, note] and f"note: {note}" in result.err.splitlines()


def test_a_recipe_without_the_step_gets_its_limitation(tmp_path, cli, probe):
    _, card = _run(tmp_path, cli, "  - length: {min_chars: 1}\n")
    assert "- No probe ran.\n" in card
