"""LLM backends for paraphrasing: a local causal LM (Transformers or CTranslate2 `Generator`, with the model's chat
template) and an OpenAI-compatible HTTP endpoint (vLLM, Ollama, llama.cpp server, TGI, `transformers serve`).

Both take chat requests (a list of messages and a seed per request) and return one answer per request, or an
error for that request. The HTTP client sends `concurrency` requests at once, retries what may pass on a second
try (connection errors, timeouts, 429, 5xx) with exponential backoff, and keeps every answer in an on-disk cache
keyed by model, messages and parameters, so a rerun sends nothing it sent before. The key never appears in a
message: what the server answers is redacted (a 503 page may echo the request's headers), and so is the URL.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from curate.augment import ct2
from curate.augment.cache import ResponseCache, response_key
from curate.core.credentials import check_key_env, redact, safe_url
from curate.core.errors import CurateError, MissingDependencyError, SettingError
from curate.core.retry import retry
from curate.models.hf import load_tokenizer, quiet_libraries, resolve_device
from curate.models.locate import model_folder

RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504}
PER_REQUEST = {400, 413, 422}  # this prompt is refused (too long...): a reject, not the end of the run


@dataclass(frozen=True)
class GenParams:
    """Sampling parameters; temperature 0 is greedy."""

    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 0
    max_new_tokens: int = 256

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ChatRequest:
    messages: list[dict[str, str]]
    seed: int


@dataclass
class Completion:
    text: str | None
    error: str | None = None
    cached: bool = False


@dataclass
class CallStats:
    requests: int = 0
    cached: int = 0
    retries: int = 0


class Backend(Protocol):
    name: str
    stats: CallStats

    def complete(self, requests: Sequence[ChatRequest], params: GenParams) -> list[Completion]: ...


# local --------------------------------------------------------------------------------------------------------------
class LocalLLM:
    """A causal LM from a folder or the local Hugging Face cache, decoding on CTranslate2 or Transformers."""

    def __init__(
        self,
        name: str,
        *,
        base: Path | None = None,
        engine: str = "ctranslate2",
        device: str = "auto",
        compute_type: str = "auto",
        threads: int = 0,
        cache_dir: str | Path | None = None,
        batch_size: int = 16,
        chat_template: bool = True,
    ):
        try:
            import transformers  # noqa: F401
        except ImportError:
            raise MissingDependencyError("paraphrase with a local model", "transformers", "synth") from None
        self.name, self.engine, self.batch_size, self.use_template = name, engine, batch_size, chat_template
        self.stats = CallStats()
        self.path = model_folder(name, base)
        self.tokenizer = load_tokenizer(self.path)
        if chat_template and not getattr(self.tokenizer, "chat_template", None):
            raise CurateError(
                f"model {name!r} has no chat template: name an instruction-tuned (chat) model, or set "
                "`chat_template: false` to send the prompt as plain text"
            )
        if engine == "ctranslate2":
            try:
                import ctranslate2  # noqa: F401
            except ImportError:
                raise MissingDependencyError("paraphrase on CTranslate2", "ctranslate2", "synth") from None
            self.device = resolve_device(device, "ctranslate2")
            self.compute_type = ct2.pick_compute_type(compute_type, self.device)
            self.generator = ct2.load_generator(
                ct2.convert(self.path, self.compute_type, cache_dir), self.device, self.compute_type, threads
            )
        else:
            from transformers import AutoModelForCausalLM

            self.device = resolve_device(device)
            self.compute_type = "float32"
            quiet_libraries()
            self.model = AutoModelForCausalLM.from_pretrained(self.path).to(self.device).eval()

    def prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        tok = self.tokenizer
        if self.use_template:
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            return tok(text, add_special_tokens=False)["input_ids"]
        return tok("\n\n".join(m["content"] for m in messages))["input_ids"]

    def complete(self, requests: Sequence[ChatRequest], params: GenParams) -> list[Completion]:
        prompts = [self.prompt_ids(r.messages) for r in requests]
        batches = ct2.length_sorted_batches([len(p) for p in prompts], self.batch_size)
        run = self._ct2 if self.engine == "ctranslate2" else self._hf
        results = [run([prompts[i] for i in batch], params, requests[batch[0]].seed) for batch in batches]
        self.stats.requests += len(requests)
        return [Completion(text) for text in ct2.in_order(batches, results, len(requests))]

    def _ct2(self, prompts: list[list[int]], params: GenParams, seed: int) -> list[str]:
        import ctranslate2

        ctranslate2.set_random_seed(seed % (2**31))
        tokens = [self.tokenizer.convert_ids_to_tokens(p) for p in prompts]
        greedy = params.temperature <= 0
        results = self.generator.generate_batch(
            tokens,
            max_length=params.max_new_tokens,
            include_prompt_in_result=False,
            sampling_topk=1 if greedy else params.top_k,
            sampling_topp=1.0 if greedy else params.top_p,
            sampling_temperature=1.0 if greedy else params.temperature,
        )
        return [self.tokenizer.decode(r.sequences_ids[0], skip_special_tokens=True) for r in results]

    def _hf(self, prompts: list[list[int]], params: GenParams, seed: int) -> list[str]:
        import torch

        tok = self.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        width = max(len(p) for p in prompts)
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=self.device)  # left padding
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.device)
        options: dict[str, Any] = dict(max_new_tokens=params.max_new_tokens, pad_token_id=pad)
        if params.temperature <= 0:
            options.update(do_sample=False)
        else:
            options.update(
                do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=params.top_k
            )  # 0: off
        torch.manual_seed(seed)
        with torch.inference_mode():
            out = self.model.generate(input_ids=ids, attention_mask=mask, **options)
        return tok.batch_decode(out[:, width:], skip_special_tokens=True)


# HTTP ---------------------------------------------------------------------------------------------------------------
class OpenAIChatClient:
    """POST {base_url}/chat/completions, `concurrency` at a time, with retries, backoff and a response cache."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = "OPENAI_API_KEY",
        concurrency: int = 4,
        retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        timeout: float = 120.0,
        cache_path: Path | None = None,
        extra_body: dict[str, Any] | None = None,
    ):
        try:
            import httpx
        except ImportError:
            raise MissingDependencyError("paraphrase over HTTP", "httpx", "synth") from None
        self.name = model
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.shown_url = safe_url(self.url)  # for messages: without any user:password
        self.concurrency, self.retries = max(1, concurrency), max(0, retries)
        self.backoff, self.max_backoff = backoff, max_backoff
        self.extra_body = dict(extra_body or {})
        self.stats = CallStats()
        self.cache = ResponseCache(cache_path) if cache_path else None
        headers = {"Content-Type": "application/json"}
        if api_key_env:
            try:
                check_key_env(api_key_env)
            except ValueError as exc:
                raise SettingError(f"api_key_env: {exc}") from None
        key = os.environ.get(api_key_env) if api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._api_key_env = api_key_env
        self._secrets = (key, urlsplit(base_url).password)  # a base URL may carry a user:password
        self._client = httpx.Client(
            headers=headers, timeout=timeout, limits=httpx.Limits(max_connections=self.concurrency)
        )
        self._httpx = httpx

    def payload(self, request: ChatRequest, params: GenParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.name,
            "messages": request.messages,
            "temperature": params.temperature,
            "max_tokens": params.max_new_tokens,
            "seed": request.seed,
            "stream": False,
        }
        if params.temperature > 0:
            body["top_p"] = params.top_p
            if params.top_k:
                body["top_k"] = params.top_k  # vLLM, llama.cpp and TGI read it; others ignore it
        return {**body, **self.extra_body}

    def complete(self, requests: Sequence[ChatRequest], params: GenParams) -> list[Completion]:
        results: list[Completion | None] = [None] * len(requests)
        todo: list[tuple[int, str, dict[str, Any]]] = []
        for i, request in enumerate(requests):
            body = self.payload(request, params)
            key = response_key(
                self.name, request.messages, {k: v for k, v in body.items() if k not in ("model", "messages", "stream")}
            )
            hit = self.cache.get(key) if self.cache else None
            if hit is not None:
                results[i] = Completion(hit, cached=True)
                self.stats.cached += 1
            else:
                todo.append((i, key, body))
        if todo:
            pool = ThreadPoolExecutor(max_workers=self.concurrency)
            futures = {pool.submit(self._fetch, key, body): i for i, key, body in todo}
            try:
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
            finally:  # on a fatal error, send nothing more (answers already received are in the cache)
                pool.shutdown(wait=True, cancel_futures=True)
        return [r if r is not None else Completion(None, "no answer") for r in results]

    def _fetch(self, key: str, body: dict[str, Any]) -> Completion:
        completion = self._post(body)
        if completion.error is None and self.cache is not None:
            self.cache.put(key, completion.text or "")
        return completion

    def _post(self, body: dict[str, Any]) -> Completion:
        """One request, tried at most `retries + 1` times."""
        try:
            return retry(
                lambda: self._try(body),
                tries=self.retries + 1,
                first_wait=self.backoff,
                jitter=0.25,
                max_wait=self.max_backoff,
                worth_retrying=lambda exc: isinstance(exc, _Transient),
                asked_wait=lambda exc: exc.wait,
                on_retry=self._count_retry,
            )
        except _Transient as exc:
            raise CurateError(
                f"{self.shown_url} failed {self.retries + 1} times for one request ({exc}); is the "
                "server up? Answers received so far are cached: rerunning sends only the rest"
            ) from None

    def _count_retry(self, _: Exception) -> None:
        self.stats.retries += 1

    def _try(self, body: dict[str, Any]) -> Completion:
        """One try: the answer, a failure of this prompt only (a reject), or `_Transient` (worth another try)."""
        self.stats.requests += 1
        try:
            response = self._client.post(self.url, json=body)
        except self._httpx.TransportError as error:  # refused, reset, timed out
            raise _Transient(self._redact(f"{type(error).__name__}: {error}")) from None
        if response.status_code == 200:
            return Completion(self._answer(response))
        last = f"HTTP {response.status_code}: {self._redact(response.text)[:300]}"
        if response.status_code in (401, 403):
            hint = f" (the key is read from ${self._api_key_env})" if self._api_key_env else ""
            raise CurateError(f"{self.shown_url} refused the request: HTTP {response.status_code}{hint}")
        if response.status_code == 404:
            raise CurateError(
                f"{self.shown_url} answered 404: check `base_url` (it usually ends in /v1) and "
                f"that the server serves model {self.name!r}"
            )
        if response.status_code in PER_REQUEST:
            return Completion(None, last)
        if response.status_code not in RETRYABLE:
            raise CurateError(f"{self.shown_url} answered {last}")
        raise _Transient(last, _retry_after(response.headers.get("retry-after")))

    def _redact(self, text: str) -> str:
        return redact(text, *self._secrets)

    def _answer(self, response: Any) -> str:
        try:
            data = response.json()
            content = data["choices"][0]["message"].get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise CurateError(
                f"the endpoint's answer is not an OpenAI chat completion: {self._redact(response.text)[:300]}"
            ) from None
        return content if isinstance(content, str) else ""

    def close(self) -> None:
        self._client.close()
        if self.cache:
            self.cache.close()


class _Transient(Exception):
    """A failed try that may pass on the next one; `wait`: how long the server asked us to wait (Retry-After)."""

    def __init__(self, message: str, wait: float | None = None):
        super().__init__(message)
        self.wait = wait


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def make_backend(settings: Any, base: Path | None = None) -> Backend:
    """The backend a config names (`backend: http|local` and their settings), as the paraphrase step and the judge of
    `curate eval` use it: HTTP answers are cached under `cache_dir` (shared by both)."""
    from curate.models.locate import cache_root

    if settings.backend == "http":
        cache = cache_root(settings.cache_dir) / "llm" / "responses.sqlite" if settings.cache else None
        return OpenAIChatClient(
            settings.base_url,
            settings.model,
            api_key_env=settings.api_key_env,
            concurrency=settings.concurrency,
            retries=settings.retries,
            backoff=settings.backoff,
            timeout=settings.timeout,
            cache_path=cache,
        )
    return LocalLLM(
        settings.model,
        base=base,
        engine=settings.engine,
        device=getattr(settings, "device", "auto"),
        compute_type=getattr(settings, "compute_type", "auto"),
        threads=getattr(settings, "threads", 0),
        cache_dir=settings.cache_dir,
        batch_size=getattr(settings, "batch_size", 16),
        chat_template=settings.chat_template,
    )
