"""What every node of a run needs that is not graph state: settings, paths, the model client, the ledger, the
training executor, output. Built once per process from the run folder, so a resumed run gets a fresh one."""

from __future__ import annotations

import os
import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from video2policy.agents import toolbox
from video2policy.agents.executor import Executor, LocalExecutor
from video2policy.agents.llm import LLMClient, OpenAIProvider, Provider
from video2policy.agents.offline import OfflineProvider
from video2policy.cli.output import Output, ProgressHandle
from video2policy.settings import Settings
from video2policy.trace.ledger import Trace


def resolve_provider_kind(settings: Settings) -> str:
    """'auto' means: an OpenAI-compatible endpoint when one is configured, else offline."""
    kind = settings.llm_provider
    if kind == "auto":
        configured = settings.llm_base_url or settings.llm_api_key or os.environ.get("OPENAI_API_KEY")
        return "openai" if configured else "offline"
    if kind not in ("openai", "offline"):
        raise ValueError(f"llm_provider must be 'openai', 'offline' or 'auto', got {kind!r}")
    return kind


def make_provider(settings: Settings, trace: Trace, registry: Any = None) -> Provider:
    if resolve_provider_kind(settings) == "offline":
        return OfflineProvider(registry)
    return OpenAIProvider(
        settings.llm_base_url,
        settings.llm_model,
        settings.llm_api_key,
        timeout_s=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        json_mode=settings.llm_json_mode,
        prices=settings.llm_prices,
        on_retry=lambda data: trace.record("llm_retry", **data),
    )


@dataclass
class RunContext:
    run_dir: Path
    settings: Settings
    out: Output
    trace: Trace
    llm: LLMClient
    executor: Executor
    _registry: Any = None
    _bars: dict[str, tuple[ExitStack, ProgressHandle, list[int]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, run_dir: Path, settings: Settings, out: Output, registry: Any = None) -> RunContext:
        run_dir = Path(run_dir).resolve()  # workers run sandboxed in other directories: every path they get is absolute
        trace = Trace(run_dir / "trace.jsonl")
        provider = make_provider(settings, trace, registry)
        llm = LLMClient(provider, run_dir / "llm-cache", trace)
        cores = os.cpu_count() or 1
        workers = settings.train_workers or min(cores, settings.reward_samples)
        executor = LocalExecutor(workers, threads_per_worker=max(1, cores // max(workers, 1)))
        return cls(run_dir, settings, out, trace, llm, executor, registry)

    # --- facts ------------------------------------------------------------------------------------------------

    @property
    def registry(self) -> Any:
        if self._registry is None:
            self._registry = toolbox.behaviors()
        return self._registry

    @property
    def scene_path(self) -> Path:
        return self.run_dir / "scene.json"

    @property
    def provider_id(self) -> str:
        return self.llm.provider.id

    def ablation(self, name: str) -> bool:
        return name in self.settings.ablations

    @property
    def K(self) -> int:
        return self.settings.code_samples

    @property
    def M(self) -> int:
        return 1 if self.ablation("single_reward_sample") else self.settings.reward_samples

    @property
    def N(self) -> int:
        return 1 if self.ablation("no_reflection") or self.ablation("robogen") else self.settings.iterations

    @property
    def success_weight(self) -> float:
        return 0.0 if self.ablation("robogen") else self.settings.success_weight

    @property
    def pick_by_success(self) -> bool:
        return not (self.ablation("no_success_picking") or self.ablation("robogen"))

    @property
    def pool_dir(self) -> Path:
        return Path(self.settings.example_pool or Path(self.settings.runs_dir) / "pool")

    # --- progress bars that span parallel nodes -----------------------------------------------------------------

    def bar_start(self, key: str, description: str, total: int) -> None:
        with self._lock:
            if key in self._bars or self._bars:
                return
            stack = ExitStack()
            handle = stack.enter_context(self.out.progress(description, total=total))
            self._bars[key] = (stack, handle, [0])

    def bar_advance(self, key: str, status: str = "", **data: Any) -> None:
        with self._lock:
            if key in self._bars:
                _, handle, done = self._bars[key]
                done[0] += 1
                handle.update(done[0], status=status, **data)
            else:
                self.out.event("progress", stage=key, status=status, **data)

    def bar_end(self, key: str) -> None:
        with self._lock:
            entry = self._bars.pop(key, None)
        if entry:
            entry[0].close()
