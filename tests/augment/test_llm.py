"""The OpenAI-compatible HTTP backend: answers in order, concurrency, retries with backoff, the response cache, and
errors; once against a scripted loopback server and once against a real `transformers serve` process running the
tiny Qwen2 chat model."""

from __future__ import annotations

import pytest

SYNTH = "needs the synth extra: pip install 'curate[synth]'"
pytest.importorskip("httpx", reason=SYNTH)

from curate.augment.cache import ResponseCache, response_key
from curate.augment.llm import ChatRequest, GenParams, OpenAIChatClient
from curate.core.errors import CurateError
from curate.models.prompts import clean_answer, render_prompt, template_for
from tests.augment.servers import ScriptedServer, free_port, transformers_serve

GREEDY = GenParams(temperature=0, max_new_tokens=32)


def ask(*prompts: str) -> list[ChatRequest]:
    return [ChatRequest([{"role": "user", "content": p}], seed=i) for i, p in enumerate(prompts)]


def echo(prompt: str, attempt: int):
    return 200, prompt.upper(), {}


def client(url: str, tmp_path=None, **options) -> OpenAIChatClient:
    options.setdefault("backoff", 0.01)
    return OpenAIChatClient(url, "tiny", cache_path=tmp_path / "r.sqlite" if tmp_path else None, **options)


def test_answers_come_back_in_order_and_rerun_from_the_cache(tmp_path):
    with ScriptedServer(echo) as server:
        first = client(server.url, tmp_path)
        got = first.complete(ask("a", "b", "c"), GREEDY)
        assert [c.text for c in got] == ["A", "B", "C"] and not any(c.cached for c in got)
        assert len(server.requests) == 3
        first.close()
        again = client(server.url, tmp_path)  # a new run: same model, prompts and parameters
        got = again.complete(ask("a", "b", "c", "d"), GREEDY)
        assert [c.text for c in got] == ["A", "B", "C", "D"] and [c.cached for c in got] == [True, True, True, False]
        assert len(server.requests) == 4 and again.stats.cached == 3
        other = again.complete(ask("a"), GenParams(temperature=0.5))  # other parameters: asked again
        assert not other[0].cached and len(server.requests) == 5
    body = next(r for r in server.requests if r["messages"][0]["content"] == "a")
    assert body["model"] == "tiny" and body["messages"] == [{"role": "user", "content": "a"}] and body["seed"] == 0
    assert body["temperature"] == 0 and body["max_tokens"] == 32 and "top_p" not in body and "n" not in body


def test_requests_run_concurrently_up_to_the_limit():
    with ScriptedServer(echo, delay=0.3) as server:
        got = client(server.url, concurrency=3).complete(ask(*"abcdefgh"), GREEDY)
    assert [c.text for c in got] == list("ABCDEFGH")
    assert server.max_in_flight == 3


def test_retries_with_backoff_then_success():
    def flaky(prompt, attempt):
        if attempt <= 2:
            return (503, "busy", {}) if attempt == 1 else (429, "slow down", {"Retry-After": "0.05"})
        return 200, "ok", {}

    with ScriptedServer(flaky) as server:
        http = client(server.url, retries=3)
        assert [c.text for c in http.complete(ask("x"), GREEDY)] == ["ok"]
    assert len(server.requests) == 3 and http.stats.retries == 2


def test_a_server_that_keeps_failing_stops_the_run_after_the_retries():
    with (
        ScriptedServer(lambda p, a: (500, "boom", {})) as server,
        pytest.raises(CurateError, match=r"failed 3 times .*HTTP 500"),
    ):
        client(server.url, retries=2).complete(ask("x"), GREEDY)
    assert len(server.requests) == 3


def test_no_server_at_all():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(CurateError, match="failed 2 times .*ConnectError.*is the server up"):
        client(url, retries=1).complete(ask("x"), GREEDY)


def test_a_refused_prompt_is_an_error_for_that_request_only(tmp_path):
    def picky(prompt, attempt):
        return (400, "prompt too long", {}) if prompt == "long" else (200, "fine", {})

    with ScriptedServer(picky) as server:
        http = client(server.url, tmp_path)
        got = http.complete(ask("long", "short"), GREEDY)
    assert got[0].text is None and got[0].error.startswith("HTTP 400:") and got[1].text == "fine"
    assert len(server.requests) == 2 and len(ResponseCache(tmp_path / "r.sqlite")) == 1  # failures are not cached


def test_the_api_key_comes_from_the_environment_and_stays_out_of_messages(monkeypatch):
    monkeypatch.setenv("CURATE_TEST_API_KEY", "sk-secret-123")
    with ScriptedServer(lambda p, a: (401, "bad key", {})) as server, pytest.raises(CurateError) as error:
        client(server.url, api_key_env="CURATE_TEST_API_KEY").complete(ask("x"), GREEDY)
    assert server.headers[0]["Authorization"] == "Bearer sk-secret-123"
    assert "$CURATE_TEST_API_KEY" in str(error.value) and "sk-secret" not in str(error.value)


def test_error_bodies_that_echo_the_key_are_redacted(monkeypatch):
    """A 503 page that echoes the request's headers put the key on stderr."""
    monkeypatch.setenv("CURATE_TEST_API_KEY", "sk-secret-123")

    def echo_headers(prompt, attempt):
        status = 400 if prompt == "refused" else 503
        return status, f"upstream down; request had Authorization: Bearer sk-secret-123 for {prompt}", {}

    with ScriptedServer(echo_headers) as server:
        http = client(
            server.url.replace("http://", "http://user:hunter22@"), api_key_env="CURATE_TEST_API_KEY", retries=1
        )
        (refused,) = http.complete(ask("refused"), GREEDY)
        with pytest.raises(CurateError) as error:
            http.complete(ask("x"), GREEDY)
    assert (
        refused.error
        == 'HTTP 400: {"error": {"message": "upstream down; request had Authorization: Bearer *** for refused"}}'
    )
    assert str(error.value) == (
        f'{server.url}/chat/completions failed 2 times for one request (HTTP 503: {{"error": {{"message": "upstream '
        'down; request had Authorization: Bearer *** for x"}}); is the server up? Answers received so far are '
        "cached: rerunning sends only the rest"
    )
    assert "hunter22" not in str(error.value)


def test_only_key_variables_may_be_named(monkeypatch):
    from curate.core.errors import SettingError

    with pytest.raises(
        SettingError,
        match="^api_key_env: a recipe may only read a key from a variable whose name ends in _API_KEY or _TOKEN",
    ):
        client("http://127.0.0.1:9/v1", api_key_env="AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("CURATE_ALLOW_KEY_ENV", "MY_SECRET, AWS_SECRET_ACCESS_KEY")
    assert client("http://127.0.0.1:9/v1", api_key_env="AWS_SECRET_ACCESS_KEY").name == "tiny"


def test_a_wrong_url_says_so():
    with (
        ScriptedServer(lambda p, a: (404, "no such route", {})) as server,
        pytest.raises(CurateError, match="answered 404: check `base_url`"),
    ):
        client(server.url).complete(ask("x"), GREEDY)


def test_response_key_covers_model_prompt_and_parameters():
    messages = [{"role": "user", "content": "a"}]
    key = response_key("m", messages, {"temperature": 0.5, "seed": 1})
    assert key == response_key("m", messages, {"seed": 1, "temperature": 0.5})
    assert (
        len(
            {
                key,
                response_key("n", messages, {"temperature": 0.5, "seed": 1}),
                response_key("m", [{"role": "user", "content": "b"}], {"temperature": 0.5, "seed": 1}),
                response_key("m", messages, {"temperature": 0.5, "seed": 2}),
            }
        )
        == 4
    )


def test_prompts_and_answers():
    assert render_prompt("Rewrite in {language}: {text} {other}", "שלום", "yid") == "Rewrite in Yiddish: שלום {other}"
    prompts = {"yid": "Y {text}", "default": "D {text}"}
    assert template_for(prompts, "yid") == "Y {text}" and template_for(prompts, "deu") == "D {text}"
    assert "{text}" in template_for({}, "deu")
    assert clean_answer('  "Hallo Welt."  ') == "Hallo Welt." and clean_answer("<think>hm</think>\n«Salut»") == "Salut"


def test_against_transformers_serve_running_the_tiny_qwen2():
    """A real OpenAI-compatible server process (`transformers serve`) running the tiny Qwen2 chat model: the
    client's greedy answers equal Transformers' own greedy generation of the same chat."""
    for module in ("torch", "transformers", "tokenizers", "ctranslate2"):  # to build, run and serve the tiny model
        pytest.importorskip(module, reason=SYNTH)
    from curate.augment.llm import LocalLLM
    from tests.augment import models

    path = models.model("qwen2-yid")
    yiddish = [b for _, b in models.pairs()][:4]
    requests = [
        ChatRequest([{"role": "user", "content": render_prompt(None, t, "yid")}], seed=i) for i, t in enumerate(yiddish)
    ]
    expected = [c.text for c in LocalLLM(str(path), engine="transformers").complete(requests, GREEDY)]
    with transformers_serve(path) as url:
        http = OpenAIChatClient(url, str(path), concurrency=2, retries=1, backoff=0.1, timeout=120)
        got = http.complete(requests, GREEDY)
    assert [c.error for c in got] == [None] * 4
    assert [c.text for c in got] == expected
    assert sum(g == t for g, t in zip(expected, yiddish)) >= 3  # the tiny model echoes its training sentences
