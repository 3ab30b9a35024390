"""The per-character and per-shingle loops of MinHash dedup, compiled with numba.

Shingling, MinHash and the exact Jaccard similarity of candidate pairs are loops over every character, every
(shingle, permutation) and every shingle of a pair. As numpy passes each costs several full-length temporaries;
compiled, they run in one pass over the bytes with nothing allocated per document, and release the GIL so batches
use every core. They compute exactly what the pure-Python references in `curate.dedup.shingles` and
`curate.dedup.minhash` describe (the tests compare them): only the speed is numba's.

Compiled code is cached next to this file (`cache=True`), so only the first run on a machine pays the compilation.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from curate.dedup import shingles as _s

U64 = np.uint64
U32 = np.uint32
_C1, _C2 = U64(_s.FMIX_C1), U64(_s.FMIX_C2)
_BASE = U64(_s.BASE)
_BASE_INV = U64(pow(_s.BASE, -1, 1 << 64))
_WORD_SALT = U64(_s.WORD_SALT)
_MASK32 = U64(0xFFFFFFFF)
_MERSENNE = U64((1 << 61) - 1)  # datasketch's legacy prime
_SPACE, _PUNCT, _NO_SPACE_LETTER, _LETTER = _s.SPACE, _s.PUNCT, _s.NO_SPACE_LETTER, _s.LETTER
_SPACE_TOKEN = U64(_s.SPACE_CP + 1)  # a folded run of spaces and punctuation, as a character token
WORD, CHAR, AUTO = 0, 1, 2


@njit(inline="always")
def _fmix64(x):
    x ^= x >> U64(33)
    x *= _C1
    x ^= x >> U64(33)
    x *= _C2
    x ^= x >> U64(33)
    return x


@njit(inline="always")
def _decode(data, i):
    """The code point starting at byte i of valid UTF-8, and the index after it."""
    b0 = np.uint32(data[i])
    if b0 < 0x80:
        return b0, i + 1
    if b0 < 0xE0:
        return ((b0 & 0x1F) << 6) | (np.uint32(data[i + 1]) & 0x3F), i + 2
    if b0 < 0xF0:
        return ((b0 & 0x0F) << 12) | ((np.uint32(data[i + 1]) & 0x3F) << 6) | (np.uint32(data[i + 2]) & 0x3F), i + 3
    return (
        ((b0 & 0x07) << 18)
        | ((np.uint32(data[i + 1]) & 0x3F) << 12)
        | ((np.uint32(data[i + 2]) & 0x3F) << 6)
        | (np.uint32(data[i + 3]) & 0x3F)
    ), i + 4


@njit(inline="always")
def _shingle_hash(s):
    return U32(_fmix64(s) >> U64(32))


@njit(inline="always")
def _power(k):
    p = U64(1)
    for _ in range(k):
        p *= _BASE
    return p


@njit(inline="always")
def _push(token, window, slot, seen, n, rolling, top, out, pos):
    """Add a token to the text's window (a ring buffer; `slot` is where the oldest token is); emit the shingle it
    completes. `rolling` is sum(token_j * BASE^j) over the window, updated in O(1): drop the oldest token, divide by
    BASE (times its inverse mod 2^64), add the new one times BASE^(n-1)."""
    if seen >= n:
        rolling = (rolling - window[slot]) * _BASE_INV + token * top
    else:
        rolling += token * _power(seen)
    window[slot] = token
    slot = slot + 1 if slot + 1 < n else 0
    seen += 1
    if seen >= n:
        out[pos] = _shingle_hash(rolling)
        pos += 1
    return slot, seen, rolling, pos


@njit(inline="always")
def _uses_chars(data, start, end, classes):
    """At least half the letters in scripts written without spaces (`shingles.no_space_script`). Those scripts are
    all encoded in three bytes, so a text without such a byte is shingled by words without decoding it."""
    i = start
    while i < end and data[i] < 0xE0:
        i += 1
    if i == end:
        return False
    letters = 0
    no_space = 0
    i = start
    while i < end:
        cp, i = _decode(data, i)
        c = classes[cp]
        if c == _NO_SPACE_LETTER:
            no_space += 1
            letters += 1
        elif c == _LETTER:
            letters += 1
    return no_space > 0 and 2 * no_space >= letters


@njit(inline="always")
def _word_shingles(data, start, end, n, lower, kinds, fold_punctuation, window, top, out, pos):
    """Words: runs of characters between whitespace (and punctuation, when folded); a word's token is
    fmix64(sum((cp_k + 1) * BASE^k) + WORD_SALT) over its (lowercased) code points."""
    slot = seen = 0
    rolling = U64(0)
    in_word = False
    word = U64(0)
    scale = U64(1)
    i = start
    while i < end:
        cp, i = _decode(data, i)
        c = kinds[cp]
        if c == _SPACE or (c == _PUNCT and fold_punctuation):
            if in_word:
                slot, seen, rolling, pos = _push(
                    _fmix64(word + _WORD_SALT), window, slot, seen, n, rolling, top, out, pos
                )
                in_word = False
                word = U64(0)
                scale = U64(1)
        else:
            in_word = True
            word += (U64(lower[cp]) + U64(1)) * scale
            scale *= _BASE
    if in_word:
        slot, seen, rolling, pos = _push(_fmix64(word + _WORD_SALT), window, slot, seen, n, rolling, top, out, pos)
    return seen, rolling, pos


@njit(inline="always")
def _char_shingles(data, start, end, n, lower, kinds, fold_punctuation, fold_whitespace, window, top, out, pos):
    """Characters: token cp + 1 (lowercased); a run of folded characters is one space, none at the ends when
    whitespace is folded."""
    slot = seen = 0
    rolling = U64(0)
    in_run = False
    i = start
    while i < end:
        cp, i = _decode(data, i)
        c = kinds[cp]
        if (c == _SPACE and fold_whitespace) or (c == _PUNCT and fold_punctuation):
            in_run = True
            continue
        if in_run and not (fold_whitespace and seen == 0):
            slot, seen, rolling, pos = _push(_SPACE_TOKEN, window, slot, seen, n, rolling, top, out, pos)
        in_run = False
        slot, seen, rolling, pos = _push(U64(lower[cp]) + U64(1), window, slot, seen, n, rolling, top, out, pos)
    if in_run and not fold_whitespace:
        slot, seen, rolling, pos = _push(_SPACE_TOKEN, window, slot, seen, n, rolling, top, out, pos)
    return seen, rolling, pos


@njit(nogil=True, cache=True)
def shingle_hashes(data, offsets, mode, n, lower, kinds, classes, fold_punctuation, fold_whitespace, out, counts):
    """Shingle hashes of the UTF-8 texts data[offsets[d]:offsets[d+1]] into `out`, their number per text into
    `counts`; returns the number written. `lower` maps each code point to the one compared (identity when case is
    kept), `kinds` gives the class of that one, `classes` of the code point itself. `out` needs room for
    (bytes + texts) values."""
    top = _power(n - 1)
    window = np.zeros(n, dtype=np.uint64)
    pos = 0
    for d in range(offsets.size - 1):
        start, end = offsets[d], offsets[d + 1]
        first = pos
        if mode == CHAR or (mode == AUTO and _uses_chars(data, start, end, classes)):
            seen, rolling, pos = _char_shingles(
                data, start, end, n, lower, kinds, fold_punctuation, fold_whitespace, window, top, out, pos
            )
        else:
            seen, rolling, pos = _word_shingles(
                data, start, end, n, lower, kinds, fold_punctuation, window, top, out, pos
            )
        if 0 < seen < n:  # fewer tokens than n: one shingle of all of them
            out[pos] = _shingle_hash(rolling)
            pos += 1
        counts[d] = pos - first
    return pos


@njit(nogil=True, cache=True, parallel=True)
def minhash_affine32(hashes, starts, counts, a, b, out):
    """datasketch >= 2.0: min over shingles of a * fmix32(h) + b mod 2^32, per permutation (rows of `out` start at
    2^32 - 1)."""
    for d in prange(counts.size):
        row = out[d]
        for k in range(starts[d], starts[d] + counts[d]):
            h = U64(hashes[k])
            h ^= h >> U64(16)
            h = (h * U64(0x85EBCA6B)) & _MASK32
            h ^= h >> U64(13)
            h = (h * U64(0xC2B2AE35)) & _MASK32
            h ^= h >> U64(16)
            h32 = U32(h)
            for p in range(a.size):
                v = U32(a[p] * h32 + b[p])
                if v < row[p]:
                    row[p] = v


@njit(nogil=True, cache=True, parallel=True)
def minhash_legacy(hashes, starts, counts, a, b, out):
    """datasketch < 2.0: min over shingles of ((a * h + b) mod (2^61 - 1)) truncated to 32 bits (the product wraps
    at 2^64, as in datasketch's numpy code)."""
    for d in prange(counts.size):
        row = out[d]
        for k in range(starts[d], starts[d] + counts[d]):
            h = U64(hashes[k])
            for p in range(a.size):
                v = U32(((a[p] * h + b[p]) % _MERSENNE) & _MASK32)
                if v < row[p]:
                    row[p] = v


@njit(nogil=True, cache=True, parallel=True)
def jaccard_pairs(hashes, starts, counts, u, v, out):
    """Jaccard similarity of the shingle sets of rows u[i] and v[i] (1.0 for two empty sets): u's hashes go into a
    small open-addressing table, v's are looked up in it (repeats within a row counted once)."""
    for i in prange(u.size):
        x = hashes[starts[u[i]] : starts[u[i]] + counts[u[i]]]
        y = hashes[starts[v[i]] : starts[v[i]] + counts[v[i]]]
        if x.size + y.size == 0:
            out[i] = 1.0
            continue
        size = 16
        while size < 2 * (x.size + y.size):
            size *= 2
        keys = np.empty(size, dtype=np.uint32)
        seen = np.zeros(size, dtype=np.uint8)  # 1: in x, 2: in y, 3: in both
        in_x = in_y = common = 0
        for side in range(2):
            values = x if side == 0 else y
            bit = np.uint8(1 + side)
            for h in values:
                slot = (U64(h) * U64(0x9E3779B97F4A7C15)) >> U64(40)
                slot = int(slot) & (size - 1)
                while seen[slot] != 0 and keys[slot] != h:
                    slot = (slot + 1) & (size - 1)
                if seen[slot] & bit:
                    continue
                if seen[slot] == 0:
                    keys[slot] = h
                elif side == 1:
                    common += 1
                seen[slot] |= bit
                if side == 0:
                    in_x += 1
                else:
                    in_y += 1
        out[i] = common / (in_x + in_y - common)


@njit(inline="always")
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]  # path halving
        x = parent[x]
    return x


@njit(nogil=True, cache=True)
def roots(parent, nodes, out):
    """The root of each node's tree (the smallest node of its component)."""
    for i in range(nodes.size):
        out[i] = _find(parent, nodes[i])


@njit(nogil=True, cache=True)
def union(parent, u, v):
    """Join the components of u[i] and v[i]: the larger root goes under the smaller, so a root is always the
    smallest node of its component."""
    for i in range(u.size):
        a = _find(parent, u[i])
        b = _find(parent, v[i])
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b


@njit(nogil=True, cache=True)
def band_keys(sigs, bands, rows, weights, out):
    """out[d, k] = fmix64(sum_j sigs[d, k * rows + j] * weights[j] + k), wrapping at 2^64."""
    for d in range(sigs.shape[0]):
        for k in range(bands):
            s = U64(k)
            for j in range(rows):
                s += U64(sigs[d, k * rows + j]) * weights[j]
            out[d, k] = _fmix64(s)
