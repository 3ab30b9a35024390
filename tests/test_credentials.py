"""Which environment variables a recipe may read a key from, and keeping secrets out of messages."""

import pytest

from curate.core.credentials import check_key_env, redact, safe_url


def test_key_variables_by_name_or_allowed_by_the_user(monkeypatch):
    monkeypatch.delenv("CURATE_ALLOW_KEY_ENV", raising=False)
    assert check_key_env("OPENAI_API_KEY") == "OPENAI_API_KEY" and check_key_env("HF_TOKEN") == "HF_TOKEN"
    assert check_key_env("my_api_key") == "my_api_key"
    for name in ("AWS_SECRET_ACCESS_KEY", "HOME", "API_KEY_BACKUP"):
        with pytest.raises(ValueError) as info:
            check_key_env(name)
        assert str(info.value) == (
            "a recipe may only read a key from a variable whose name ends in _API_KEY or _TOKEN, so that a shared "
            f"recipe can't send other secrets to its server; to allow {name}, set CURATE_ALLOW_KEY_ENV={name}"
        )
    with pytest.raises(ValueError, match="'A B' is not an environment variable name"):
        check_key_env("A B")
    monkeypatch.setenv("CURATE_ALLOW_KEY_ENV", "VLLM_SECRET,OTHER")
    assert check_key_env("VLLM_SECRET") == "VLLM_SECRET"


def test_redact_and_safe_url():
    assert redact("key sk-1234 and sk-1234 again, not abc", "sk-1234", None, "abc") == "key *** and *** again, not abc"
    assert safe_url("https://u:p@host:8000/v1/chat?key=x#f") == "https://host:8000/v1/chat"
