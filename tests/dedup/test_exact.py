import polars as pl
import xxhash

from curate.dedup.exact import content_hashes


def test_content_hash_is_xxh3_128():
    hashes = content_hashes(pl.Series(["hello world", "hello world", "Hello world", None, ""]))
    assert hashes.shape == (5, 4)
    assert "".join(f"{x:08x}" for x in hashes[0]) == xxhash.xxh3_128_hexdigest(b"hello world")
    assert (hashes[0] == hashes[1]).all() and not (hashes[0] == hashes[2]).all()
    assert (hashes[3] == hashes[4]).all()  # a missing text hashes like the empty text
