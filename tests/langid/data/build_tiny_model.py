"""Build tests/langid/data/tiny-glotlid-style.ftz: a 13-language fastText model (37 kB) with GlotLID-style labels
(`__label__fra_Latn`, `__label__swh_Latn`, `__label__ydd_Hebr`), trained on the repo's own data/ sample (Tatoeba
pairs, XQuAD paragraphs), so the tests can load "any fastText model file" without a download.

    python tests/langid/data/build_tiny_model.py . tests/langid/data/tiny-glotlid-style.ftz

Needs the full fastText trainer (in a separate environment: pip install fasttext-wheel polars), which curate itself
does not use (fasttext-predict can only predict). Not run by the tests.
"""

import glob
import json
import random
import re
import sys
from pathlib import Path

import fasttext
import polars as pl

root = Path(sys.argv[1])
random.seed(13)
lines = []
lab = {"deu": "deu_Latn", "spa": "spa_Latn", "fra": "fra_Latn", "gla": "gla_Latn", "swh": "swh_Latn", "yid": "ydd_Hebr"}
for f in sorted(glob.glob(str(root / "data/pairs/*.jsonl"))):
    with open(f, encoding="utf-8", errors="replace") as handle:
        records = handle.read().splitlines()
    for line in records:
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if not isinstance(r, dict):
            continue
        if isinstance(r.get("src"), str):
            lines.append(("eng_Latn", r["src"]))
        if isinstance(r.get("tgt"), str) and r.get("tgt_lang") in lab:
            lines.append((lab[r["tgt_lang"]], r["tgt"]))
wiki = pl.read_csv(root / "data/wiki/paragraphs.csv")
wl = {"ru": "rus_Cyrl", "el": "ell_Grek", "zh": "cmn_Hani", "ar": "arb_Arab", "th": "tha_Thai", "hi": "hin_Deva"}
for lang, text in wiki.select("lang", "text").iter_rows():
    if lang in wl:
        for s in re.split(r"(?<=[.!?。।])\s*", text):
            if len(s) > 5:
                lines.append((wl[lang], s))
random.shuffle(lines)
with open("train.txt", "w") as fh:
    for label, text in lines:
        text = re.sub(r"\s+", " ", text).strip()
        if text:
            fh.write(f"__label__{label} {text}\n")
m = fasttext.train_supervised(
    "train.txt",
    dim=8,
    minn=1,
    maxn=3,
    epoch=30,
    lr=0.5,
    minCount=2,
    bucket=5000,
    wordNgrams=1,
    loss="softmax",
    verbose=0,
    seed=13,
    thread=1,
)
m.quantize(input="train.txt", qnorm=True, retrain=False, cutoff=2000)
m.save_model(sys.argv[2])
print(m.labels)
