"""Deduplication machinery: exact content hashes, MinHash signatures, LSH banding, clustering, signature stores.

Everything here works on numpy arrays and polars frames of whole batches (never one Python object per document),
and keeps per document only a fixed-size signature and its band keys, so memory grows with the number of
documents, not with their text. `curate.stages.dedup` wires it into a recipe step.
"""
