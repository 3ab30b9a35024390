"""A tiny GLiNER model built here through GLiNER's own code (config, backbone, tokenizer, training loss, save and
load), so the `pii` step's GLiNER backend runs the real library and nothing is downloaded.

No small GLiNER model installs from PyPI (every released one is fetched from the hub), so this one is made from
random weights: a 2-layer BERT backbone (hidden size 32) with a WordPiece vocabulary of the sentences below, fitted
for 200 steps (about 20 s on two cores) until it tags two names and two addresses in filler text. It knows nothing
else: it shows that curate loads a GLiNER folder, asks for its labels, and puts what GLiNER finds at the right
place in the text; it says nothing about GLiNER's accuracy. The same seed gives the same weights in every process.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

PEOPLE = ["Ada Lovelace", "Alan Turing"]
ADDRESSES = ["10 Downing Street", "221 Baker Street"]
FILLER = [
    "the",
    "a",
    "cat",
    "sat",
    "on",
    "mat",
    "and",
    "then",
    "we",
    "went",
    "home",
    "today",
    "it",
    "was",
    "x",
    "y",
    "z",
]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LABELS = ["person", "address"]


def _sentences(rng: random.Random, count: int) -> list[tuple[str, list[tuple[str, str]]]]:
    """(text, [(entity text, label)]): a name and an address among random filler words, or (one in four) filler
    alone."""
    out = []
    for i in range(count):
        words = lambda low, high: " ".join(rng.choices(FILLER, k=rng.randint(low, high)))  # noqa: E731
        if i % 4 == 3:
            out.append((words(3, 12) + ".", []))
            continue
        person, address = rng.choice(PEOPLE), rng.choice(ADDRESSES)
        text = " ".join(p for p in (words(0, 6), person, words(1, 4), address, words(0, 4)) if p) + "."
        out.append((text, [(person, "person"), (address, "address")]))
    return out


def _example(split, text: str, entities: list[tuple[str, str]]) -> dict:
    """GLiNER's training format: the words and [first word, last word, label] of each entity."""
    words = [w for w, _, _ in split(text)]
    ner = []
    for entity, label in entities:
        phrase = [w for w, _, _ in split(entity)]
        first = next(i for i in range(len(words)) if words[i : i + len(phrase)] == phrase)
        ner.append([first, first + len(phrase) - 1, label])
    return {"tokenized_text": words, "ner": ner}


def _word_pieces(texts: list[str]):
    """A WordPiece tokenizer whose vocabulary is the words of `texts` and every printable ASCII character (alone and
    as a `##` continuation, so that an unseen word is spelt out, not unknown). Made by hand: the trainer of the
    tokenizers library breaks ties in an order that changes from run to run."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    split = pre_tokenizers.BertPreTokenizer()
    words = sorted({w for text in texts for w, _ in split.pre_tokenize_str(text)})
    chars = sorted(set(string.ascii_letters + string.digits + string.punctuation))
    vocab = dict.fromkeys([*SPECIALS, *chars, *(f"##{c}" for c in chars), *words])
    tokenizer = Tokenizer(models.WordPiece({piece: i for i, piece in enumerate(vocab)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False)
    tokenizer.pre_tokenizer = split
    return tokenizer


def build(out: Path, steps: int = 200, seed: int = 0) -> Path:
    """Write a GLiNER model folder to `out` (loadable with GLiNER.from_pretrained(out, local_files_only=True))."""
    import torch
    from gliner import GLiNER, GLiNERConfig
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    rng = random.Random(seed)
    torch.manual_seed(seed)
    threads, state = torch.get_num_threads(), random.getstate()
    torch.set_num_threads(1)  # tiny matrices: more threads only add contention
    random.seed(seed)  # GLiNER's collator draws from the global generator
    try:
        data = _sentences(rng, 64)
        specials = dict(zip(["pad_token", "unk_token", "cls_token", "sep_token", "mask_token"], SPECIALS))
        fast = PreTrainedTokenizerFast(tokenizer_object=_word_pieces([t for t, _ in data]), **specials)
        backbone = out / "backbone"
        fast.save_pretrained(backbone)
        BertModel(
            BertConfig(
                vocab_size=len(fast), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
            )
        ).save_pretrained(backbone)
        config = GLiNERConfig(model_name=str(backbone), hidden_size=32, max_width=6, dropout=0.0)
        model = GLiNER.from_config(config, backbone_from_pretrained=True, local_files_only=True)

        split = model.data_processor.words_splitter
        examples = [_example(split, text, entities) for text, entities in data]
        collate = model._create_data_collator()
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
        model.train()
        for step in range(steps):
            start = (step * 16) % len(examples)
            # both labels asked for in every text, in a seeded random order (GLiNER would take them from a set,
            # whose order changes from one process to the next)
            batch = [{**e, "ner_labels": rng.sample(LABELS, len(LABELS))} for e in examples[start : start + 16]]
            loss = model(**collate(batch)).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        model.eval()
        model.save_pretrained(out / "gliner")
    finally:
        torch.set_num_threads(threads)
        random.setstate(state)
    return out / "gliner"
