"""Heuristic text-quality measures (Gopher, C4, FineWeb style) written for every script.

`tokens` splits text into words the way `curate.core.text.word_count` counts them; `measures` computes the per-row scores
as polars expressions and frame operations; `stopwords` maps language codes and counts stop words. The `quality` step
(`curate/stages/quality.py`) turns the scores into reasons.
"""
