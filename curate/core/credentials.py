"""Secrets from the environment: which variables a recipe may name, and keeping their values out of messages.

A recipe says where a key is (`api_key_env`), never the key. But a shared recipe could name any variable and send
it to any server (`api_key_env: AWS_SECRET_ACCESS_KEY` with its own `base_url`), so a recipe may only name
variables that are API keys by their name (ending in `_API_KEY` or `_TOKEN`), or that the user allows in
`CURATE_ALLOW_KEY_ENV` (names separated by commas). Messages that may echo what a server saw go through `redact`.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

KEY_SUFFIXES = ("_API_KEY", "_TOKEN")
ALLOW_ENV = "CURATE_ALLOW_KEY_ENV"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def allowed_key_envs() -> set[str]:
    return {n.strip() for n in os.environ.get(ALLOW_ENV, "").split(",") if n.strip()}


def check_key_env(name: str) -> str:
    """`name` if a recipe may read a key from it; else ValueError saying why and how to allow it."""
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not an environment variable name")
    if name.upper().endswith(KEY_SUFFIXES) or name in allowed_key_envs():
        return name
    raise ValueError(
        f"a recipe may only read a key from a variable whose name ends in {' or '.join(KEY_SUFFIXES)}, so that a "
        f"shared recipe can't send other secrets to its server; to allow {name}, set {ALLOW_ENV}={name}"
    )


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every secret (of 4 characters or more) replaced by ***."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def safe_url(url: str | None) -> str:
    """The URL without any user:password part, query or fragment."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", "")).rstrip("/")
