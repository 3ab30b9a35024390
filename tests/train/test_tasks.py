"""Multi-task and continual fine-tuning, end to end on the tiny MarianMT.

Multi-task: two curated outputs, each a task with its own prompt, languages and weight; the draws follow the weights
and the language temperature within each task; each task is evaluated on its own split, per language.
Continual: an adapter trained on French is continued on Swahili (`init_adapter`); French becomes a retain set on
its own, and the "base" of the second run is the first adapter: its figures there are the first run's.
"""

import json

import numpy as np
import pytest

from tests.train.conftest import copy_output, needs_train, train_config

pytestmark = [needs_train, pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture(scope="module")
def two_tasks(curated, tiny_marian, tmp_path_factory):
    from curate.train.runner import TrainOptions, run_training

    root = tmp_path_factory.mktemp("tasks")
    qa = copy_output(curated, root / "qa")  # a second curated output, with its own prompt
    tasks = [
        {"name": "news", "data": str(curated), "weight": 3, "langs": ["deu", "fra"]},
        {"data": str(qa), "prompt": "to {target_lang_name}: {input}", "weight": 1, "langs": ["swh"]},
    ]
    config = train_config(
        tiny_marian, curated, root / "run", data={"dir": None}, tasks=tasks, sampling={"temperature": 2.0}
    )
    return config, run_training(config, TrainOptions()), qa


def test_tasks_are_weighted_and_evaluated_apart(two_tasks, curated):
    import polars as pl

    config, result, qa = two_tasks
    m = result.metrics
    train = pl.read_parquet(curated / "data" / "train-*.parquet").filter(pl.col("target").is_not_null())
    counts = dict(train["tgt_lang"].value_counts().iter_rows())
    news, second = m["data"]["tasks"]
    assert (news["name"], news["weight"], news["languages"]) == (
        "news",
        3.0,
        {"deu": counts["deu"], "fra": counts["fra"]},
    )
    assert (second["name"], second["prompt"], second["languages"]) == (
        "qa",
        "to {target_lang_name}: {input}",
        {"swh": counts["swh"]},
    )
    root = np.sqrt(counts["deu"]) + np.sqrt(counts["fra"])
    assert news["sampling_shares"] == {
        "deu": pytest.approx(0.75 * np.sqrt(counts["deu"]) / root),
        "fra": pytest.approx(0.75 * np.sqrt(counts["fra"]) / root),
    }
    assert second["sampling_shares"] == {"swh": pytest.approx(0.25)}
    sets = m["comparison"]["sets"]
    assert [(s["name"], s["languages"]) for s in sets] == [
        ("news/validation", {"deu": 4, "fra": 4}),
        ("qa/validation", {"swh": 4}),
    ]
    samples = [json.loads(line) for line in (result.output / "samples.jsonl").read_text().splitlines()]
    assert [(s["set"], s["lang"], s["input"].split(" ")[0]) for s in samples] == [
        ("news/validation", "deu", ">>deu<<"),
        ("news/validation", "fra", ">>fra<<"),
        ("qa/validation", "swh", "to"),
    ]
    assert samples[2]["input"].startswith("to Swahili: ")
    card = (result.output / "README.md").read_text()
    assert (
        f"| task `qa` | `{qa.as_posix()}`, weight 1, prompt `to {{target_lang_name}}: {{input}}`, {counts['swh']:,} rows |"
        in card
    )


def test_the_trainer_draws_tasks_by_weight(two_tasks):
    """The loop's draws (the same seeded order it uses) give the news task 3/4 of the rows."""
    from curate.core.progress import Reporter
    from curate.train.data import epoch_order, mixture_probabilities
    from curate.train.runner import TrainOptions, load_run_data

    config, _, _ = two_tasks
    run = load_run_data(config, TrainOptions(), Reporter(quiet=True))
    p = mixture_probabilities(run.train.tasks, run.train.groups, {"news": 3.0, "qa": 1.0}, 2.0)
    draws = np.concatenate([epoch_order(len(run.train), p, config.seed, e) for e in range(30)])
    assert (run.train.tasks[draws] == "news").mean() == pytest.approx(0.75, abs=0.02)


@pytest.fixture(scope="module")
def continual(curated, tiny_marian, tmp_path_factory):
    from curate.train.runner import TrainOptions, run_training

    root = tmp_path_factory.mktemp("continual")
    first = run_training(train_config(tiny_marian, curated, root / "fra", data={"langs": ["fra"]}), TrainOptions())
    second_config = train_config(
        tiny_marian, curated, root / "swh", data={"langs": ["swh"]}, lora={"r": 8}, init_adapter=str(root / "fra")
    )
    return first, run_training(second_config, TrainOptions())


def test_adding_a_language_keeps_the_earlier_one_as_a_retain_set(continual, curated):
    first, second = continual
    sets = second.metrics["comparison"]["sets"]
    assert [(s["name"], s["kind"], s["languages"]) for s in sets] == [
        ("validation", "eval", {"swh": 4}),
        ("retain:earlier:quickstart", "retain", {"fra": 4}),
    ]
    # "before" the second run is base + the French adapter: on French it scores exactly what the first run reported
    before = next(r for r in sets[1]["rows"] if r["lang"] == "fra")["base"]
    after_first = next(r for r in first.metrics["comparison"]["sets"][0]["rows"] if r["lang"] == "fra")["tuned"]
    assert before == after_first
    assert second.metrics["comparison"]["reference"] == f"the base model with the earlier adapter `{first.output}`"
    assert second.metrics["continual"]["retain"] == [
        {
            "prompt": ">>{target_lang}<< {input}",
            "input_field": "text",
            "target_field": "target",
            "target_lang_column": "tgt_lang",
            "langs": ["fra"],
            "name": "earlier:quickstart",
            "data": str(curated),
        }
    ]
    card = (second.output / "README.md").read_text()
    assert f"| method | LoRA, continuing the adapter `{first.output}` |" in card


def test_the_earlier_adapter_is_continued_not_a_new_one(continual):
    """The second config asks for r=8; the adapter it trains is the first one (r=4), moved on from its weights."""
    from safetensors.torch import load_file

    first, second = continual
    assert json.loads((second.output / "adapter_config.json").read_text())["r"] == 4
    assert second.metrics["parameters"]["trainable"] == first.metrics["parameters"]["trainable"]
    a, b = (
        load_file(str(first.output / "adapter_model.safetensors")),
        load_file(str(second.output / "adapter_model.safetensors")),
    )
    assert a.keys() == b.keys() and any((a[k] != b[k]).any() for k in a)


def test_init_adapter_mistakes_are_said_before_loading(cli, curated, tiny_marian, tmp_path):
    import yaml

    config = {"base_model": str(tiny_marian), "data": {"dir": str(curated)}, "init_adapter": str(tmp_path / "nowhere")}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    done = cli("train", tmp_path / "c.yaml", cwd=tmp_path)
    assert done.code == 2 and "Traceback" not in done.err
    assert done.err.strip().splitlines()[-1] == (
        f"error: init_adapter: {tmp_path / 'nowhere'}: no such folder; name the "
        "output folder of an earlier `curate train` with LoRA"
    )
