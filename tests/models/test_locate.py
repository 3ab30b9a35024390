"""Where a model is: the recipe's folder first, then the working folder, then (for `org/name`) the local Hugging Face
cache; the same for every step that names a model, and a clear error that says where it looked."""

from __future__ import annotations

import pytest

from curate.models.locate import ModelNotAvailableError, find_local, model_folder, places


def _folder(path):
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    return path


def test_the_recipes_folder_first_then_the_working_folder(tmp_path, monkeypatch):
    recipes, work = tmp_path / "recipes", tmp_path / "work"
    monkeypatch.chdir(_folder(work / "models" / "m").parents[1])
    assert model_folder("models/m", recipes).resolve() == work / "models" / "m"  # only in the working folder
    _folder(recipes / "models" / "m")
    assert model_folder("models/m", recipes) == recipes / "models" / "m"  # both: the recipe's wins
    assert model_folder(str(work / "models" / "m"), recipes) == work / "models" / "m"  # absolute: as written
    # a file (a fastText model) is found the same way
    (recipes / "lid.bin").write_bytes(b"x")
    assert find_local("lid.bin", recipes, lambda p: p.is_file()) == recipes / "lid.bin"
    assert find_local("nope.bin", recipes, lambda p: p.is_file()) is None
    assert places("nope.bin", recipes) == f"{recipes / 'nope.bin'} or nope.bin"


def test_a_model_that_is_not_here_names_itself_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelNotAvailableError) as error:
        model_folder("Helsinki-NLP/opus-mt-yi-en", tmp_path / "recipes")
    assert str(error.value) == (
        f"model 'Helsinki-NLP/opus-mt-yi-en' is not available here: no model folder at "
        f"{tmp_path / 'recipes' / 'Helsinki-NLP/opus-mt-yi-en'} or Helsinki-NLP/opus-mt-yi-en and not in the local "
        "Hugging Face cache. Download it first, e.g. `hf download Helsinki-NLP/opus-mt-yi-en` (on a machine with "
        "network access; then copy the cache or the folder here), or name a local folder with a config.json; nothing "
        "is downloaded at run time"
    )
    with pytest.raises(ModelNotAvailableError) as error:
        model_folder("out/models/tiny/marian-yid-eng", None)
    assert str(error.value) == (
        "model 'out/models/tiny/marian-yid-eng' is not available here: no model folder (with a config.json) at "
        "out/models/tiny/marian-yid-eng. Put the model there, or name a Hugging Face id; the tiny models of the quick "
        "start are built with `python -m curate.models.tiny augment out/models/tiny`"
    )
    assert error.value.exit_code == 2


def test_a_hub_id_in_the_local_cache_is_its_snapshot(tmp_path, monkeypatch):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.chdir(tmp_path)
    # the cache layout huggingface_hub reads: models--org--name/refs/main -> snapshots/<commit>/
    repo = tmp_path / "hub" / "models--org--tiny"
    snapshot = _folder(repo / "snapshots" / "0123456789abcdef0123456789abcdef01234567")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(snapshot.name)
    assert model_folder("org/tiny") == snapshot
