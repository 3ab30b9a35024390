"""Prompt templates for LLM paraphrasing: one per language, with `{text}` and `{language}` placeholders.

A template is plain text with two placeholders only (`{text}`: the text to rewrite, `{language}`: the language's
English name, e.g. "Yiddish"); any other brace is literal, so a recipe cannot reach Python attributes through
`str.format`.
"""

from __future__ import annotations

import re

from curate.core.languages import iso639_3, language_name

DEFAULT_PROMPT = (
    "Paraphrase the following {language} text. Keep its meaning and its language; change the wording. "
    "Answer with the paraphrase only.\n\n{text}"
)
PLACEHOLDER = re.compile(r"\{(text|language)\}")


def render_prompt(template: str | None, text: str, lang: str) -> str:
    values = {"text": text, "language": language_name(lang) if lang else "the same"}
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template or DEFAULT_PROMPT)


def template_for(prompts: dict[str, str], lang: str | None) -> str:
    """The template of a row's language: its own, or `default`, or the built-in one."""
    if lang and lang in prompts:
        return prompts[lang]
    if lang:  # `yi` in the recipe, `yid` in the rows: the same language
        wanted = iso639_3(lang)
        for key, template in prompts.items():
            if key != "default" and wanted is not None and iso639_3(key) == wanted:
                return template
    return prompts.get("default", DEFAULT_PROMPT)


def check_template(template: str) -> str:
    """A template must contain `{text}` (else the model never sees the text)."""
    if "{text}" not in template:
        raise ValueError(f"prompt template has no {{text}} placeholder: {template!r}")
    return template


def clean_answer(answer: str) -> str:
    """The rewrite from a model's answer: reasoning blocks, surrounding white space and one pair of quotes removed."""
    answer = re.sub(r"<think>.*?</think>", "", answer, flags=re.DOTALL).strip()
    for left, right in ('""', "''", "“”", "«»", "„“"):
        if len(answer) >= 2 and answer[0] == left and answer[-1] == right:
            answer = answer[1:-1].strip()
            break
    return answer
