"""Run folders: create one from a scene, execute its graph with the SQLite checkpointer, resume it after a crash.

A run's settings are frozen in run.json when it starts (the API key excepted), so `v2p resume` continues the same
run whatever the environment says now.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from video2policy.agents.context import RunContext, resolve_provider_kind
from video2policy.agents.graph import build_graph
from video2policy.agents.schemas import ABLATIONS
from video2policy.cli.output import Output
from video2policy.scene import SceneSpec
from video2policy.settings import Settings, load_settings

THREAD = {"configurable": {"thread_id": "run"}}
SECRET_FIELDS = {"llm_api_key"}


class RunError(RuntimeError):
    """A run that cannot start or continue; the message says why and what to do."""


def _versions() -> dict[str, str]:
    out = {}
    for name in ("video2policy", "langgraph", "openai", "mujoco", "rl-games", "torch"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def _copy_scene(scene_path: Path, dest: Path, caption: str | None, behavior: str | None) -> SceneSpec:
    scene = SceneSpec.load(scene_path)
    for obj in scene.objects:
        for rel in [obj.mesh, *obj.collision]:
            if rel:
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(scene_path.parent / rel, target)
    if caption:
        scene.caption = caption
    if behavior:
        scene.behavior = behavior
    if scene.video is not None:
        video = Path(scene.video.path)
        video = video if video.is_absolute() else scene_path.parent / video
        if video.is_file():
            shutil.copyfile(video, dest / f"input{video.suffix}")
            scene.video.path = f"input{video.suffix}"
    scene.save(dest / "scene.json")
    return scene


def create_run(
    settings: Settings,
    scene_path: Path,
    *,
    caption: str | None = None,
    behavior: str | None = None,
    run_dir: Path | None = None,
    inputs: dict[str, Any] | None = None,
) -> Path:
    """A new run folder holding a copy of the scene (and its assets and video) and run.json."""
    unknown = [a for a in settings.ablations if a not in ABLATIONS]
    if unknown:
        raise RunError(f"unknown ablation(s) {unknown}; choose from {list(ABLATIONS)}")
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
    run_dir = Path(run_dir) if run_dir else Path(settings.runs_dir) / run_id
    if (run_dir / "run.json").exists():
        raise RunError(f"{run_dir} already holds a run; continue it with `v2p resume {run_dir}`")
    run_dir.mkdir(parents=True, exist_ok=True)
    scene = _copy_scene(Path(scene_path), run_dir, caption, behavior)
    stored = settings.model_dump(mode="json", exclude=SECRET_FIELDS)
    stored["llm_provider"] = resolve_provider_kind(settings)
    info = {
        "run_id": run_dir.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": stored,
        "versions": _versions(),
        "inputs": {"scene": str(scene_path), "caption": scene.caption, "behavior": behavior or None, **(inputs or {})},
    }
    (run_dir / "run.json").write_text(json.dumps(info, indent=2))
    return run_dir


def run_settings(run_dir: Path, **overrides: Any) -> Settings:
    """The run's frozen settings, with the API key from the current flags/environment and explicit overrides."""
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        raise RunError(f"{run_dir}: not a run folder (no run.json)")
    stored = json.loads(path.read_text())["settings"]
    fresh = load_settings(**{k: v for k, v in overrides.items() if k in SECRET_FIELDS})
    stored.update({k: v for k, v in overrides.items() if v is not None})
    stored["llm_api_key"] = fresh.llm_api_key
    return Settings(**stored)


def run_status(run_dir: Path) -> dict[str, Any]:
    """Where a run stands, read from its checkpoint: done, waiting for review, or interrupted before `next`."""
    run_dir = Path(run_dir)
    db = run_dir / "checkpoints.sqlite"
    if not db.is_file():
        return {"state": "not_started", "values": {}}
    settings = run_settings(run_dir)
    ctx = RunContext.create(run_dir, settings, Output(False))
    with sqlite3.connect(db, check_same_thread=False) as conn:
        graph = build_graph(ctx).compile(checkpointer=SqliteSaver(conn))
        snap = graph.get_state(THREAD)
    interrupts = [i.value for task in snap.tasks for i in task.interrupts]
    state = "done" if not snap.next and snap.values else ("review" if interrupts else "interrupted")
    return {"state": state, "next": list(snap.next), "values": snap.values, "interrupts": interrupts}


Reviewer = Callable[[dict[str, Any]], dict[str, Any] | None]


def execute(
    run_dir: Path,
    out: Output,
    settings: Settings | None = None,
    *,
    review_decision: dict | None = None,
    reviewer: Reviewer | None = None,
    registry: Any = None,
) -> dict[str, Any]:
    """Run (or continue) a run's graph to the end, or to a review stop when no reviewer answers.

    `reviewer(payload) -> decision` is asked at each review stop (the CLI prompts a person); returning None leaves
    the run waiting for `v2p resume RUN --approve/--reject/--edit`.
    """
    run_dir = Path(run_dir)
    settings = settings or run_settings(run_dir)
    ctx = RunContext.create(run_dir, settings, out, registry)
    info = json.loads((run_dir / "run.json").read_text())
    conn = sqlite3.connect(run_dir / "checkpoints.sqlite", check_same_thread=False)
    try:
        graph = build_graph(ctx).compile(checkpointer=SqliteSaver(conn))
        snap = graph.get_state(THREAD)
        interrupts = [i.value for task in snap.tasks for i in task.interrupts]
        if not snap.values and not snap.next:
            ctx.trace.record(
                "run_start",
                run_id=info["run_id"],
                provider=ctx.provider_id,
                K=ctx.K,
                M=ctx.M,
                N=ctx.N,
                ablations=settings.ablations,
            )
            command: Any = {"behavior_hint": info["inputs"].get("behavior")}
        elif not snap.next:
            return _summary(run_dir, snap.values, ctx)
        elif interrupts:
            decision = review_decision or (reviewer(interrupts[0]) if reviewer else None)
            if decision is None:
                return _summary(run_dir, snap.values, ctx, waiting=interrupts[0])
            command = Command(resume=decision)
        else:
            ctx.trace.record("resume", next=list(snap.next))
            out.info(f"resuming {run_dir.name} at {', '.join(snap.next)}")
            command = None
        while True:
            for update in graph.stream(command, THREAD, stream_mode="updates", durability="sync"):
                for node in update:
                    if node != "__interrupt__":
                        out.event("node", node=node)
            snap = graph.get_state(THREAD)
            interrupts = [i.value for task in snap.tasks for i in task.interrupts]
            if not interrupts:
                break
            decision = reviewer(interrupts[0]) if reviewer else None
            if decision is None:
                return _summary(run_dir, snap.values, ctx, waiting=interrupts[0])
            command = Command(resume=decision)
        summary = _summary(run_dir, snap.values, ctx)
        ctx.trace.record("run_end", **{k: summary[k] for k in ("status", "ground_truth_success")})
        return summary
    finally:
        conn.close()


def _summary(run_dir: Path, values: dict[str, Any], ctx: RunContext, waiting: dict | None = None) -> dict[str, Any]:
    evaluation = values.get("evaluation") or {}
    best = values.get("best") or {}
    return {
        "run_dir": str(run_dir),
        "status": "awaiting_review" if waiting else values.get("status", "running"),
        "provider": ctx.provider_id,
        "behavior": (values.get("brief") or {}).get("behavior"),
        "picked": (values.get("picked") or {}).get("k"),
        "iterations": len(values.get("history", [])),
        "best": {k: best.get(k) for k in ("iteration", "m", "score")} if best else None,
        "ground_truth_success": evaluation.get("success_rate"),
        "report": values.get("report"),
        "review": waiting,
    }


def extend_run(run_dir: Path, more: int) -> None:
    """Give a finished run `more` reflection iterations (used by `v2p chat --more`): the graph goes back to the
    reflector with the last iteration's results, and the old final evaluation is set aside."""
    run_dir = Path(run_dir)
    status = run_status(run_dir)
    values = status["values"]
    if status["state"] != "done":
        raise RunError(
            f"{run_dir.name} is not finished; the feedback is read at its next reflection "
            f"(continue it with `v2p resume {run_dir}`)"
        )
    if not values.get("best"):
        raise RunError(f"{run_dir.name} trained no policy, so there is nothing to reflect on")
    info = json.loads((run_dir / "run.json").read_text())
    info["settings"]["iterations"] = int(values["iteration"]) + 1 + more
    (run_dir / "run.json").write_text(json.dumps(info, indent=2))
    if (run_dir / "final").is_dir():
        (run_dir / "final").rename(run_dir / f"final-{time.strftime('%Y%m%d-%H%M%S')}")
    ctx = RunContext.create(run_dir, run_settings(run_dir), Output(False))
    with sqlite3.connect(run_dir / "checkpoints.sqlite", check_same_thread=False) as conn:
        graph = build_graph(ctx).compile(checkpointer=SqliteSaver(conn))
        graph.update_state(THREAD, {"done": False, "status": "extended"}, as_node="train")
    ctx.trace.record("extend", iterations=info["settings"]["iterations"])
