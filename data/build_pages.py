"""Build data/web/pages.jsonl: web-page-like documents for the `boilerplate` and `standardize` examples.

Each page is up to three real Wikipedia paragraphs of one XQuAD article (data/wiki/paragraphs.csv) between the
navigation, sharing and footer lines a news site puts on every page (planted, written here), one site per language.

    python data/build_pages.py
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
NAV = "Home | World | Science | Sport | Contact"
SHARE = "Share this article: Facebook · X · Email"
FOOTER = "© 2016 {site}. All rights reserved. Cookie settings"


def main() -> None:
    wiki = pl.read_csv(HERE / "wiki" / "paragraphs.csv", infer_schema=False).drop_nulls(["text", "title", "lang"])
    out = HERE / "web" / "pages.jsonl"
    out.parent.mkdir(exist_ok=True)
    with open(out, "w", encoding="utf-8") as handle:
        for (lang, title), group in wiki.group_by("lang", "title", maintain_order=True):
            texts = [t.strip() for t in group["text"].to_list() if t.strip()]
            for i in range(0, len(texts), 3):
                site = f"{lang}.example-news.org"
                body = "\n".join(texts[i : i + 3])
                page = "\n".join([NAV, body, SHARE, FOOTER.format(site=site)])
                handle.write(json.dumps({"site": site, "lang": lang, "title": title, "text": page}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
