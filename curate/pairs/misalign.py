"""Is this pair the translation of another sentence? A classifier learned from the corpus itself.

No single measure separates a misaligned pair well on a small corpus: the word alignment learns from the pair it
scores, lengths vary, names are few. Together they do better, and the corpus can teach their weights: its own pairs
with their targets rotated among the rows of the same language pair are misaligned pairs of exactly this corpus (as
Bicleaner trains on synthetic noise, without labelled data). A logistic regression learns to tell the corpus's pairs
from the rotated ones on standardised measures. How many of the corpus's own pairs look like rotated ones is then
estimated, and the classifier's odds turn into the probability that a pair is misaligned (`posterior`): a nearly
clean corpus loses few pairs, a noisy one more; a pair is misaligned when it is more likely misaligned than not. The alignment is trained on the pairs and their rotations together, so that both
are scored the same way.

A target that the corpus also pairs with another, different source belongs to at most one of them (an alignment
that slipped): of such a group, the pairs the classifier finds less likely than the best one are misaligned too.
"""

from __future__ import annotations

import numpy as np
import polars as pl

FEATURES = ["align_z", "abs_length_z", "question_mismatch", "sentences_mismatch", "cognates"]
RIDGE = 1e-3  # a whisper of L2: finite weights even where the data separate perfectly


def rotation(n: int, seed: int) -> np.ndarray:
    """For each row, another row of the same group (a seeded random offset, never itself)."""
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return (np.arange(n) + rng.integers(1, n, size=n)) % n


def fit_logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Weights (intercept first) of P(y = 1) = sigmoid(w . [1, x]), by Newton's method."""
    design = np.c_[np.ones(len(x)), x]
    w = np.zeros(design.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-design @ w))
        gradient = design.T @ (y - p) - RIDGE * w
        hessian = (design * (p * (1 - p))[:, None]).T @ design + RIDGE * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w += step
        if np.abs(step).max() < 1e-8:
            break
    return w


def rotated_probability(features: pl.DataFrame, weights: list[float]) -> np.ndarray:
    """The classifier's P(rotated) per row (null measures count as 0: no evidence either way)."""
    return 1 / (1 + np.exp(-logits(features, weights)))


def logits(features: pl.DataFrame, weights: list[float]) -> np.ndarray:
    x = features.select(FEATURES).fill_null(0.0).fill_nan(0.0).to_numpy()
    w = np.asarray(weights)
    return w[0] + x @ w[1:]


def misaligned_share(real: np.ndarray, rotated: np.ndarray) -> float:
    """How many of the corpus's pairs look misaligned: the mixture proportion estimate of Blanchard, Lee and Scott
    (2010). Any set S of scores holds at least that share's worth of the misaligned pairs' mass, P_real(S) >=
    share * P_rotated(S), with near equality where well aligned pairs rarely score; so the share is the smallest
    ratio P_real(p > t) / P_rotated(p > t) over the upper half of the rotated pairs' scores (t up to their 95th
    percentile, so that the ratio rests on enough pairs), within [0.005, 0.5]."""
    if len(real) == 0 or len(rotated) == 0:
        return 0.005
    thresholds = np.quantile(rotated, np.linspace(0.5, 0.95, 10))
    ratios = [(real > t).mean() / max((rotated > t).mean(), 1e-12) for t in thresholds]
    return float(np.clip(min(ratios), 0.005, 0.5))


def posterior(p: np.ndarray, share: float) -> np.ndarray:
    """P(misaligned | measures) from the classifier's P(rotated | measures) = p, trained on as many rotated as real
    pairs, when a share `share` of the real pairs is misaligned: the real pairs' density is (1 - share) clean +
    share misaligned, so the odds of a rotated pair p / (1 - p) are the misaligned density over the real one, and
    P(misaligned | x) = share * p / (1 - p)."""
    return np.minimum(share * p / np.maximum(1 - p, 1e-12), 1.0)


def slipped(groups: pl.DataFrame, margin: float = 0.0) -> pl.Series:
    """`_id`s of pairs whose target another pair with a different source also has, and that the classifier finds
    less likely than the group's best (`groups`: _id, target_key, source_key, p)."""
    conflicted = groups.filter(pl.col("source_key").n_unique().over("target_key") > 1)
    best = pl.col("p").min().over("target_key")
    return conflicted.filter(pl.col("p") > best + margin)["_id"]
