import json

import numpy as np
import polars as pl
import pytest

from curate.core.errors import CurateError
from curate.dedup.store import StoreWriter, check_compatible, find_store, iter_parts, read_clusters, store_name

META = {
    "method": "minhash",
    "fields": ["text"],
    "num_perm": 4,
    "seed": 1,
    "scheme": "affine32",
    "tokenize": "auto",
    "ngram": 5,
    "lowercase": True,
    "fold_punctuation": True,
    "fold_whitespace": True,
    "hash": "v1",
}


def test_write_and_read_back(tmp_path):
    writer = StoreWriter(tmp_path, store_name("minhash", ["text"]), META)
    writer.write(pl.Series(["a", "b"]), np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.uint32))
    writer.write(pl.Series(["c"]), np.array([[9, 9, 9, 9]], dtype=np.uint32))
    path = writer.finish(pl.DataFrame({"_id": ["b"], "dup_of": ["a"]}))
    assert path == tmp_path / "signatures" / "minhash"
    assert [p.name for p in tmp_path.joinpath("signatures").iterdir()] == ["minhash"]  # no temp folder left
    parts = list(iter_parts(path))
    assert [ids.to_list() for ids, _ in parts] == [["a", "b"], ["c"]]
    assert parts[0][1].tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]] and parts[0][1].dtype == np.uint32
    assert read_clusters(path).rows() == [("b", "a")]
    assert json.loads((path / "meta.json").read_text())["rows"] == 3
    assert find_store(tmp_path, "minhash") == path and find_store(path, "minhash") == path


def test_a_second_write_replaces_the_store(tmp_path):
    for ids in (["a", "b"], ["c"]):
        writer = StoreWriter(tmp_path, "minhash", META)
        writer.write(pl.Series(ids), np.zeros((len(ids), 4), dtype=np.uint32))
        path = writer.finish(pl.DataFrame(schema={"_id": pl.String, "dup_of": pl.String}))
    assert [ids.to_list() for ids, _ in iter_parts(path)] == [["c"]]


def test_missing_and_incompatible_stores_are_explained(tmp_path):
    with pytest.raises(CurateError, match="no signature store 'minhash' in"):
        find_store(tmp_path, "minhash")
    writer = StoreWriter(tmp_path, "exact", {**META, "method": "exact"})
    writer.finish(pl.DataFrame(schema={"_id": pl.String, "dup_of": pl.String}))
    with pytest.raises(CurateError, match="it has stores for: exact"):
        find_store(tmp_path, "minhash")
    writer = StoreWriter(tmp_path, "minhash", META)
    path = writer.finish(pl.DataFrame(schema={"_id": pl.String, "dup_of": pl.String}))
    with pytest.raises(CurateError, match=r"seed: 1 there, 2 here; ngram: 5 there, 3 here"):
        check_compatible(path, {**META, "format": 1, "ngram": 3, "seed": 2})
    check_compatible(path, {**META, "format": 1})
