"""The loop: early stopping keeps the best weights; a resumed run ends exactly where an uninterrupted one does."""

import numpy as np
import pytest

from tests.train.conftest import needs_train, train_config

pytestmark = [needs_train, pytest.mark.filterwarnings("ignore::FutureWarning")]


def test_plan_steps_and_micro_batches():
    from curate.train.loop import MicroBatches, plan_steps

    assert plan_steps(100, 8, 2, 3.0, None) == (7, 21)
    assert plan_steps(100, 8, 2, 3.0, 5) == (7, 5)
    batches = MicroBatches(5, 2, None, seed=0)
    seen = [batches.next().tolist() for _ in range(4)]
    assert (
        sorted(i for batch in seen[:3] for i in batch) == [0, 1, 2, 3, 4] and batches.epoch == 1
    )  # 3 batches per epoch, the last short
    again = MicroBatches(5, 2, None, seed=0, epoch=1, batch_in_epoch=1)
    assert again.next().tolist() == batches.next().tolist()  # resuming mid-epoch continues the same order


def test_early_stopping_keeps_the_best(tiny_marian, tmp_path):
    import polars as pl
    import torch

    from curate.models.hf import load_tokenizer
    from curate.train.config import parse_config
    from curate.train.data import Examples, encode
    from curate.train.evaluate import EvalResult, LanguageScore
    from curate.train.loop import Checkpoints, LoopSpec, TrainState, load_trainable, train_loop, trainable_tensors
    from curate.train.model import apply_lora, load_model

    config = parse_config({"base_model": str(tiny_marian), "lora": {"r": 2}})
    tokenizer = load_tokenizer(str(tiny_marian))
    model = apply_lora(load_model(str(tiny_marian), "seq2seq", "cpu"), config, "seq2seq", False, False)
    ex = Examples(
        pl.DataFrame(
            {
                "_id": ["a", "b"],
                "source": ["Hello.", "Thanks."],
                "target": ["Hallo.", "Danke."],
                "lang": ["deu", "deu"],
                "group": ["deu", "deu"],
                "weight": [1.0, 1.0],
            }
        )
    )
    encoded = encode(ex, tokenizer, "seq2seq", 16, 16)
    values = iter([5.0, 4.0, 4.5, 4.6, 1.0])
    snapshots = {}

    def fake_eval(generate):
        step = len(snapshots) + 1
        snapshots[step] = trainable_tensors(model)
        value = next(values)
        return EvalResult("validation", [], LanguageScore("all", "all", 2, loss=value))

    spec = LoopSpec(
        task="seq2seq",
        device="cpu",
        dtype=None,
        pad_id=tokenizer.pad_token_id,
        batch_size=2,
        accumulation=1,
        total_steps=10,
        steps_per_epoch=1,
        learning_rate=0.01,
        weight_decay=0.0,
        warmup_steps=0,
        scheduler="constant",
        max_grad_norm=1.0,
        seed=0,
        eval_every=1,
        save_every=None,
        metric="loss",
        patience=2,
        evaluate=fake_eval,
    )
    checkpoints = Checkpoints(tmp_path / "ckpt")
    state = train_loop(model, encoded, np.ones(2), None, spec, checkpoints, TrainState(total_steps=10), resume=False)
    assert (state.step, state.stopped_early, state.best_step, state.best_value, state.bad_evals) == (4, True, 2, 4.0, 2)
    assert [e["loss"] for e in state.evals] == [5.0, 4.0, 4.5, 4.6]
    load_trainable(model, checkpoints.best)
    for name, tensor in trainable_tensors(model).items():
        assert torch.equal(tensor, snapshots[2][name])


@pytest.mark.slow
def test_resume_matches_an_uninterrupted_run(curated, tiny_marian, tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from curate.train import runner
    from curate.train.runner import TrainOptions, run_training

    def config(out):
        return train_config(tiny_marian, curated, out, max_steps=8, save_every_steps=4, data={"eval_split": None})

    straight = run_training(config(tmp_path / "a"), TrainOptions())

    original = runner.LoopProgress.__call__

    def interrupt(self, state, info):
        original(self, state, info)
        if state.step == 6:
            raise KeyboardInterrupt

    monkeypatch.setattr(runner.LoopProgress, "__call__", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_training(config(tmp_path / "b"), TrainOptions())
    assert (tmp_path / "b" / "checkpoints" / "last" / "state.json").is_file()
    monkeypatch.setattr(runner.LoopProgress, "__call__", original)
    resumed = run_training(config(tmp_path / "b"), TrainOptions(resume=True))
    assert resumed.metrics["train"]["resumed_from"] == 4 and resumed.metrics["train"]["steps"] == 8
    a = load_file(str(tmp_path / "a" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "b" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        assert (a[name] == b[name]).all(), name
    assert resumed.metrics["train"]["history"] == straight.metrics["train"]["history"]


@pytest.mark.slow
def test_resume_refuses_another_config(curated, tiny_marian, tmp_path, monkeypatch):
    from curate.core.errors import CurateError
    from curate.train import runner
    from curate.train.runner import TrainOptions, run_training

    def stop(self, state, info):
        if state.step == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(runner.LoopProgress, "__call__", stop)
    with pytest.raises(KeyboardInterrupt):
        run_training(
            train_config(tiny_marian, curated, tmp_path, max_steps=4, save_every_steps=2, data={"eval_split": None}),
            TrainOptions(),
        )
    changed = train_config(
        tiny_marian, curated, tmp_path, max_steps=4, save_every_steps=2, learning_rate=0.5, data={"eval_split": None}
    )
    with pytest.raises(CurateError, match="made with another config or data; run without --resume"):
        run_training(changed, TrainOptions(resume=True))


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


def test_a_planted_pickle_in_a_checkpoint_is_refused(tmp_path):
    """Checkpoints are loaded with `weights_only`: tensors and plain values, never an object that runs code."""
    import pickle

    import torch

    from curate.core.errors import CurateError
    from curate.train.loop import Checkpoints, TrainState

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    checkpoints = Checkpoints(tmp_path / "checkpoints")
    checkpoints.save(model, optimizer, scheduler, None, TrainState(total_steps=3))
    assert checkpoints.restore(model, optimizer, scheduler, None).total_steps == 3  # what curate wrote loads
    rng = tmp_path / "checkpoints" / "last" / "rng.pt"
    rng.write_bytes(pickle.dumps(_Payload(tmp_path / "pwned")))
    with pytest.raises(
        CurateError, match=f"^{rng}: not a checkpoint curate wrote .*it is not loaded. Start again without --resume$"
    ):
        checkpoints.restore(model, optimizer, scheduler, None)
    assert not (tmp_path / "pwned").exists()
