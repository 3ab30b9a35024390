"""The work folder: a global step's state is saved as data and read back into the step's own class, never unpickled."""

import json
import pickle

import polars as pl
import pytest

from curate.outputs.workdir import StageDir, build_state, split_state
from curate.stages.balance import Balance, BalancePlan
from curate.stages.review import Review, ReviewState
from tests.conftest import write_jsonl, write_recipe
from tests.test_engine import output_hashes


@pytest.fixture
def stage(tmp_path):
    stage = StageDir(3, "balance", "ab" * 32, tmp_path)
    stage.path.mkdir()
    return stage


def test_balance_plan_round_trip(stage):
    ranks = pl.DataFrame({"_id": ["a", "b", "c"], "_rank": [0, 1, 0]}, schema={"_id": pl.String, "_rank": pl.Int64})
    plan = BalancePlan(
        keep_below={"fra": 2, "yid": 1},
        copies={"fra": (0, 0), "yid": (2, 1)},
        ranks=ranks,
        quotas={"fra": 2, "yid": 4},
        sizes={"fra": 2, "yid": 1},
    )
    stage.save_state(plan)
    assert sorted(p.name for p in stage.path.iterdir()) == ["state-ranks.parquet", "state.json"]
    loaded = stage.load_state(Balance.state_type)
    assert isinstance(loaded, BalancePlan) and loaded.copies == {"fra": (0, 0), "yid": (2, 1)}
    assert (loaded.keep_below, loaded.quotas, loaded.sizes) == (plan.keep_below, plan.quotas, plan.sizes)
    assert loaded.ranks.equals(ranks)


def test_review_state_round_trip(stage):
    decisions = pl.DataFrame(
        {"_id": ["a"], "_decision": ["accept"], "_review_detail": [None]},
        schema={"_id": pl.String, "_decision": pl.String, "_review_detail": pl.String},
    )
    stage.save_state(ReviewState(decisions, "drop", ["text"], {"accepted": 1}))
    loaded = stage.load_state(Review.state_type)
    assert (loaded.pending, loaded.correct, loaded.counts) == ("drop", ["text"], {"accepted": 1})
    assert loaded.decisions.equals(decisions)


def test_no_state_or_a_state_that_does_not_fit_is_none(stage):
    assert stage.load_state(BalancePlan) is None
    (stage.path / "state.json").write_text(json.dumps({"frames": [], "values": {"keep_below": {"fra": "many"}}}))
    assert stage.load_state(BalancePlan) is None  # not an int: the fit runs again
    (stage.path / "state.json").write_text(json.dumps({"frames": ["../../secret"], "values": {}}))
    assert stage.load_state(BalancePlan) is None  # only the class's own fields are read
    (stage.path / "state.json").write_text("{not json")
    assert stage.load_state(BalancePlan) is None


def test_a_state_must_be_plain_data():
    with pytest.raises(TypeError, match="a step's state must be a dataclass, not dict"):
        split_state({"a": 1})
    with pytest.raises(TypeError, match="not JSON serializable"):
        split_state(BalancePlan(keep_below={"fra": object()}))
    with pytest.raises(ValueError, match="unknown fields in a saved BalancePlan"):
        build_state(BalancePlan, {"__class__": "os.system"}, {})


class _Payload:
    """Unpickling this runs code: it writes the file named in `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


def test_a_planted_pickle_in_out_is_never_loaded(tmp_path, cli):
    write_jsonl(tmp_path / "in.jsonl", [{"text": f"row {i % 7} of the corpus"} for i in range(40)])
    write_recipe(
        tmp_path / "r.yaml",
        """\
name: p
sources:
  - path: in.jsonl
steps:
  - dedup: {method: exact}
output:
  dir: out
engine:
  batch_rows: 10
""",
    )
    assert cli("run", "r.yaml", cwd=tmp_path).code == 0
    out = tmp_path / "out"
    reference = output_hashes(out)
    (stage,) = out.glob(".curate/01-dedup-*")
    assert (stage / "state.json").exists() and not list(stage.glob("*.pkl"))
    # as a kill during the step leaves it, with a pickle planted by whoever can write to OUT
    (out / "manifest.json").unlink()
    (stage / "_SUCCESS.json").unlink()
    next(stage.glob("s000-f0000-c00003.parquet")).unlink()
    for planted in ("state.pkl", "state.json"):
        (stage / planted).write_bytes(pickle.dumps(_Payload(tmp_path / "pwned")))
    resumed = cli("run", "r.yaml", "--resume", cwd=tmp_path)
    assert resumed.code == 0, resumed
    assert not (tmp_path / "pwned").exists()
    assert output_hashes(out) == reference
    assert json.loads((stage / "state.json").read_text())["frames"] == ["clusters"]  # fitted again, saved as data


def test_every_global_step_names_a_dataclass_state():
    """The engine reads a state back into the class the step names (never from the file): each must have one."""
    import dataclasses

    from curate.stages.base import GlobalStep
    from curate.stages.registry import get_step, step_names

    steps = [get_step(n) for n in step_names() if issubclass(get_step(n), GlobalStep)]
    assert {s.name for s in steps} >= {"balance", "boilerplate", "dedup", "review"}
    assert [s.name for s in steps if not dataclasses.is_dataclass(getattr(s, "state_type", None))] == []


def test_boilerplate_state_round_trip(stage):
    from curate.stages.boilerplate import Boilerplate, BoilerplateState

    lines = pl.DataFrame(
        {"_source": ["a.jsonl"], "hash": [2**63 + 5]}, schema={"_source": pl.String, "hash": pl.UInt64}
    )
    stage.save_state(BoilerplateState(lines, {"documents_seen": 4}, "1.0.0"))
    loaded = stage.load_state(Boilerplate.state_type)
    assert loaded.lines.equals(lines) and (loaded.stats, loaded.polars_version) == ({"documents_seen": 4}, "1.0.0")
