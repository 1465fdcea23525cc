"""Language-model providers behind one small interface, a response cache, and validated structured answers.

`Provider.complete(request, schema) -> LLMResponse` is the whole provider surface. `OpenAIProvider` speaks to any
OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, LM Studio) through the `openai` SDK; `OfflineProvider`
(agents/offline.py) needs no model. `LLMClient` adds what every agent call needs: a cache keyed by the request's
hash (so a resumed run never asks twice), validation of the answer against a pydantic model with bounded
repair turns, and a trace line per call with tokens, cost and latency.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, ValidationError

from video2policy.trace.ledger import Trace

OutputFormat = Literal["json", "code"]


class LLMError(RuntimeError):
    """A model call that failed for good (after retries), or whose answer never validated."""


class LLMRequest(BaseModel):
    """Everything that determines an answer. Its hash keys the cache, so two equal requests are asked once."""

    agent: str
    messages: list[dict[str, str]]
    images: list[str] = Field(default_factory=list, description="image files attached to the last user message")
    output: str = Field(description="name of the pydantic model the answer must validate against")
    output_format: OutputFormat = "json"
    context: dict[str, Any] = Field(default_factory=dict, description="structured inputs (the offline provider's)")
    sample: int = Field(0, description="which of several samples of the same prompt")
    temperature: float = 0.8

    def digest(self, provider_id: str) -> str:
        body = self.model_dump(mode="json")
        body["images"] = [_file_sha(p) for p in self.images]
        body["provider"] = provider_id
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0


class LLMResponse(BaseModel):
    provider: str = Field(description="who answered: 'offline' or 'openai:<model>@<host>'")
    model: str
    text: str
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    latency_s: float = 0.0
    attempts: int = 1
    cached: bool = False
    request_hash: str = ""


class Provider(Protocol):
    """One language model (or the offline stand-in)."""

    id: str

    def complete(self, request: LLMRequest, schema: type[BaseModel]) -> LLMResponse: ...


# --- OpenAI-compatible endpoints -----------------------------------------------------------------------------


class OpenAIProvider:
    """Any server that speaks the OpenAI chat-completions API. Retries 5xx, 429, timeouts and dropped connections
    with exponential back-off; 4xx errors fail at once with the server's message."""

    def __init__(
        self,
        base_url: str | None,
        model: str,
        api_key: str | None,
        timeout_s: float = 120.0,
        max_retries: int = 3,
        json_mode: str = "json_schema",
        prices: dict[str, tuple[float, float]] | None = None,
        on_retry: Callable[[dict[str, Any]], None] | None = None,
    ):
        import openai

        self._openai = openai
        key = api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
        self.client = openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout_s, max_retries=0)
        self.model = model
        self.max_retries = max_retries
        self.json_mode = json_mode
        self.prices = prices or {}
        self.on_retry = on_retry
        host = re.sub(r"^https?://", "", base_url or "api.openai.com").split("/")[0]
        self.id = f"openai:{model}@{host}"

    def complete(self, request: LLMRequest, schema: type[BaseModel]) -> LLMResponse:
        messages: list[dict[str, Any]] = [dict(m) for m in request.messages]
        if request.images:
            last = messages[-1]
            last["content"] = [{"type": "text", "text": last["content"]}] + [
                {"type": "image_url", "image_url": {"url": _data_url(p)}} for p in request.images
            ]
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": request.temperature,
            "seed": request.sample,
        }
        if request.output_format == "json" and self.json_mode == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": False},
            }
        elif request.output_format == "json" and self.json_mode == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        start = time.monotonic()
        for attempt in range(self.max_retries + 1):
            try:
                reply = self.client.chat.completions.create(**kwargs)
                break
            except (
                self._openai.APITimeoutError,
                self._openai.APIConnectionError,
                self._openai.RateLimitError,
                self._openai.InternalServerError,
            ) as exc:
                error = f"{type(exc).__name__}: {_short(exc)}"
                if self.on_retry:
                    self.on_retry({"agent": request.agent, "attempt": attempt + 1, "error": error})
                if attempt == self.max_retries:
                    raise LLMError(
                        f"{self.id}: {request.agent} call failed after {attempt + 1} attempts: {error}"
                    ) from None
                time.sleep(min(0.5 * 2**attempt, 8.0))
            except self._openai.APIStatusError as exc:
                raise LLMError(f"{self.id}: {request.agent} call rejected ({exc.status_code}): {_short(exc)}") from None
        if not reply.choices:
            raise LLMError(f"{self.id}: {request.agent} call returned no choices")
        text = reply.choices[0].message.content or ""
        usage = Usage(
            input_tokens=getattr(reply.usage, "prompt_tokens", 0) or 0,
            output_tokens=getattr(reply.usage, "completion_tokens", 0) or 0,
        )
        return LLMResponse(
            provider=self.id,
            model=reply.model or self.model,
            text=text,
            usage=usage,
            cost_usd=cost_usd(self.prices, self.model, usage),
            latency_s=time.monotonic() - start,
            attempts=attempt + 1,
        )


def cost_usd(prices: dict[str, tuple[float, float]], model: str, usage: Usage) -> float:
    """USD for one call from a price table of (input, output) USD per million tokens; unknown models cost 0."""
    price = prices.get(model)
    if price is None:
        return 0.0
    return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1e6


def _short(exc: Exception, limit: int = 300) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return text if len(text) <= limit else text[:limit] + "..."


def _file_sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _data_url(path: str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    mime = "image/png" if suffix == "png" else "image/jpeg"
    return f"data:{mime};base64," + base64.b64encode(Path(path).read_bytes()).decode()


# --- answers: parsing, validation, repair --------------------------------------------------------------------

_FENCE = re.compile(r"```(?P<lang>[a-zA-Z0-9_+-]*)\s*\n(?P<body>.*?)```", re.DOTALL)


def parse_answer(text: str, output_format: OutputFormat) -> dict[str, Any]:
    """The raw data in a model's reply: a JSON object, or the code of its (last) python block."""
    if output_format == "code":
        blocks = [m for m in _FENCE.finditer(text) if m.group("lang").lower() in ("python", "py", "")]
        if not blocks:
            raise ValueError("the answer has no ```python code block; put the whole task file in one block")
        code = max(blocks, key=lambda m: len(m.group("body"))).group("body")
        reasoning = text[: blocks[0].start()].strip()
        return {"code": code.strip() + "\n", "reasoning": reasoning[-2000:]}
    fenced = [m.group("body") for m in _FENCE.finditer(text)]
    for candidate in [*fenced, text, text[text.find("{") : text.rfind("}") + 1]]:
        try:
            data = json.loads(candidate)
        except (json.JSONDecodeError, ValueError):
            continue
        if isinstance(data, dict):
            return data
    raise ValueError("the answer is not a JSON object")


def describe_validation(exc: ValidationError | ValueError) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "answer"
            parts.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
        return "; ".join(parts)
    return str(exc)


class LLMClient:
    """The agents' single door to a provider: cache, validation with repair turns, trace."""

    def __init__(self, provider: Provider, cache_dir: Path, trace: Trace, max_repairs: int = 2):
        self.provider = provider
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.trace = trace
        self.max_repairs = max_repairs

    def ask(
        self,
        request: LLMRequest,
        schema: type[BaseModel],
        validation: dict[str, Any] | None = None,
    ) -> tuple[BaseModel, LLMResponse]:
        """Ask until the answer validates against `schema` (at most `max_repairs` extra turns)."""
        for turn in range(self.max_repairs + 1):
            response = self.call(request, schema)
            try:
                data = parse_answer(response.text, request.output_format)
                return schema.model_validate(data, context=validation or {}), response
            except (ValidationError, ValueError) as exc:
                problem = describe_validation(exc)
                self.trace.record(
                    "invalid_answer",
                    agent=request.agent,
                    request_hash=response.request_hash,
                    provider=response.provider,
                    problem=problem,
                    turn=turn,
                )
                if turn == self.max_repairs:
                    raise LLMError(
                        f"{response.provider}: the {request.agent}'s answer did not validate after "
                        f"{turn + 1} turns: {problem}"
                    ) from None
                request = request.model_copy(
                    update={
                        "messages": [
                            *request.messages,
                            {"role": "assistant", "content": response.text},
                            {
                                "role": "user",
                                "content": f"Your answer did not validate: {problem}\nAnswer again, in full.",
                            },
                        ]
                    }
                )
        raise AssertionError("unreachable")

    def call(self, request: LLMRequest, schema: type[BaseModel]) -> LLMResponse:
        """One model call, or its cached response: a request already answered is never sent again."""
        digest = request.digest(self.provider.id)
        path = self.cache_dir / f"{digest}.json"
        if path.is_file():
            response = LLMResponse.model_validate_json(path.read_text())
            response = response.model_copy(update={"cached": True})
            self.trace.record("llm_call", **self._ledger(request, response))
            return response
        response = self.provider.complete(request, schema)
        response = response.model_copy(update={"request_hash": digest})
        tmp = path.with_suffix(".tmp")
        tmp.write_text(response.model_dump_json())
        os.replace(tmp, path)
        self.trace.record("llm_call", **self._ledger(request, response))
        return response

    @staticmethod
    def _ledger(request: LLMRequest, response: LLMResponse) -> dict[str, Any]:
        return {
            "agent": request.agent,
            "sample": request.sample,
            "request_hash": response.request_hash,
            "provider": response.provider,
            "model": response.model,
            "cached": response.cached,
            "prompt": request.messages,
            "images": request.images,
            "response": response.text,
            "input_tokens": response.usage.input_tokens,
            "output_tokens": response.usage.output_tokens,
            "cost_usd": 0.0 if response.cached else response.cost_usd,
            "latency_s": response.latency_s,
            "attempts": response.attempts,
        }
