"""The graph's nodes: scene analyst, task coders (with sandbox repair turns), critic/picker, reward sampling,
training, reward reflector, final evaluation, report.

Every node is safe to run again after a crash: model calls come from the cache, sandbox results and trainings
already on disk are reused, and files are written before the state that points to them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypedDict

from langgraph.types import Send, interrupt
from rich.markup import escape

from video2policy.agents import rewards, toolbox
from video2policy.agents.context import RunContext
from video2policy.agents.executor import train_job
from video2policy.agents.llm import LLMError, LLMRequest
from video2policy.agents.scene_facts import key_frames, scene_facts, video_path
from video2policy.agents.schemas import PickAnswer, TaskBrief, TaskCodeAnswer
from video2policy.prompts.render import add_to_pool, example_pool, messages
from video2policy.scene import SceneSpec
from video2policy.trace.curves import success_of, training_curves


class CoderTask(TypedDict):
    k: int
    brief: dict[str, Any]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [v if isinstance(v, str) else json.dumps(v) for v in value]


class Nodes:
    def __init__(self, ctx: RunContext):
        self.ctx = ctx

    # --- helpers --------------------------------------------------------------------------------------------

    def _facts(self) -> dict[str, Any]:
        scene = SceneSpec.load(self.ctx.scene_path)
        tracking = not (self.ctx.ablation("no_tracking") or self.ctx.ablation("no_visual"))
        return scene_facts(scene, tracking=tracking)

    def _behavior_view(self, name: str) -> dict[str, Any]:
        b = self.ctx.registry.get(name)
        return {
            "name": b.name,
            "description": b.description,
            "roles": toolbox.behavior_roles(b),
            "hints": _as_list(getattr(b, "prompt_hints", None)),
            "cot_examples": _as_list(getattr(b, "cot_examples", None)),
        }

    def check(self, code: str, work_dir: Path) -> dict[str, Any]:
        """Sandbox tiers for one code file, reused from work_dir/check.json when the code is the same."""
        path = work_dir / "check.json"
        digest = _sha(code)
        if path.is_file():
            saved = json.loads(path.read_text())
            if saved.get("code_sha") == digest:
                return saved
        result = toolbox.check_candidate(code, self.ctx.scene_path, work_dir)
        result["code_sha"] = digest
        _write(path, json.dumps(result, indent=2))
        return result

    # --- scene analyst ----------------------------------------------------------------------------------------

    def analyze(self, state: dict[str, Any]) -> dict[str, Any]:
        ctx = self.ctx
        scene = SceneSpec.load(ctx.scene_path)
        facts = self._facts()
        hint = state.get("behavior_hint")
        offered = [ctx.registry.get(hint)] if hint else list(ctx.registry.all())
        behaviors = [
            {"name": b.name, "description": b.description, "roles": toolbox.behavior_roles(b)} for b in offered
        ]
        visual = not ctx.ablation("no_visual")
        video = video_path(scene, ctx.scene_path)
        images = key_frames(video, ctx.run_dir / "keyframes") if visual and video else []
        request = LLMRequest(
            agent="analyst",
            output="TaskBrief",
            temperature=0.0,
            messages=messages(
                "analyst", facts=facts, behaviors=behaviors, behavior_hint=hint, visual=visual, images=images
            ),
            images=images,
            context={
                "caption": scene.caption,
                "behavior_hint": hint,
                "objects": [{"name": o.name, "label": o.label} for o in scene.objects],
            },
        )
        validation = {
            "behaviors": {b["name"]: b["roles"] for b in behaviors},
            "objects": [o.name for o in scene.objects],
        }
        brief, response = ctx.llm.ask(request, TaskBrief, validation)
        data = brief.model_dump() | {"provider": response.provider}
        ctx.trace.record("brief", **data)
        ctx.out.info(f"[bold]scene analyst[/] ({response.provider}): behavior {brief.behavior}, roles {brief.roles}")
        ctx.out.event("brief", **data)
        return {"brief": data}

    def route_coders(self, state: dict[str, Any]) -> list[Send]:
        self.ctx.bar_start("coders", "task coders", self.ctx.K)
        return [Send("code", {"k": k, "brief": state["brief"]}) for k in range(self.ctx.K)]

    # --- task coder -------------------------------------------------------------------------------------------

    def code(self, task: CoderTask) -> dict[str, Any]:
        ctx, k, brief = self.ctx, task["k"], task["brief"]
        behavior = self._behavior_view(brief["behavior"])
        facts = self._facts()
        examples = example_pool(ctx.pool_dir)
        previous = None
        cand_dir = ctx.run_dir / "candidates" / str(k)
        record: dict[str, Any] = {"k": k, "ok": False}
        for attempt in range(ctx.settings.repair_attempts + 1):
            request = LLMRequest(
                agent="coder",
                output="TaskCodeAnswer",
                output_format="code",
                sample=k,
                temperature=ctx.settings.llm_temperature,
                messages=messages(
                    "coder",
                    brief=brief,
                    behavior=behavior,
                    facts=facts,
                    examples=examples,
                    previous=previous,
                    success_weight=ctx.success_weight,
                ),
                context={"behavior": brief["behavior"], "roles": brief["roles"], "attempt": attempt},
            )
            try:
                answer, response = ctx.llm.ask(request, TaskCodeAnswer)
            except LLMError as exc:
                record = {
                    "k": k,
                    "attempt": attempt,
                    "ok": False,
                    "reason": "no_answer",
                    "message": str(exc),
                    "tier": "model",
                    "provider": ctx.provider_id,
                    "first_attempt_ok": False,
                }
                ctx.trace.record("candidate", **record)
                break
            attempt_dir = cand_dir / f"attempt-{attempt}"
            _write(attempt_dir / "task.py", answer.code)
            check = self.check(answer.code, attempt_dir)
            record = {
                "k": k,
                "attempt": attempt,
                "ok": bool(check.get("ok")),
                "provider": response.provider,
                "tier": check.get("first_failed_tier"),
                "reason": check.get("reason"),
                "message": check.get("message"),
                "smoke": check.get("smoke") or check.get("metrics") or {},
                "tiers": check.get("tiers", []),
                "path": str(attempt_dir / "task.py"),
            }
            if attempt == 0:
                first_ok = record["ok"]
            record["first_attempt_ok"] = first_ok
            ctx.trace.record("candidate", **record)
            if record["ok"]:
                break
            previous = {
                "tier": record["tier"],
                "reason": record["reason"],
                "message": record["message"],
                "code": answer.code,
            }
        if record.get("path"):
            _write(cand_dir / "task.py", Path(record["path"]).read_text())
            shutil.copyfile(Path(record["path"]).parent / "check.json", cand_dir / "check.json")
            record["path"] = str(cand_dir / "task.py")
        status = "runnable" if record["ok"] else f"not runnable ({record.get('reason')})"
        ctx.bar_advance("coders", status=f"candidate {k}: {status}", k=k, ok=record["ok"])
        return {"candidates": [record]}

    # --- critic / picker --------------------------------------------------------------------------------------

    def pick(self, state: dict[str, Any]) -> dict[str, Any]:
        ctx = self.ctx
        ctx.bar_end("coders")
        rejected = list(state.get("rejected", []))
        candidates = sorted(state.get("candidates", []), key=lambda c: c["k"])
        runnable = [c for c in candidates if c["ok"] and c["k"] not in rejected]
        ctx.out.info(
            f"[bold]sandbox[/]: {len(runnable)} of {len(candidates)} candidates runnable"
            + (f" ({len(rejected)} rejected in review)" if rejected else "")
        )
        if not runnable:
            ctx.trace.record("pick", choice=None, reason="no runnable candidate", provider=ctx.provider_id)
            return {"picked": None, "status": "no_runnable_candidate"}
        codes = {c["k"]: Path(c["path"]).read_text() for c in runnable}
        if len(runnable) == 1:
            choice, reason, provider = runnable[0]["k"], "the only runnable candidate", "rule"
        else:
            view = [
                {
                    "k": c["k"],
                    "ok": c["ok"],
                    "reason": c.get("reason"),
                    "message": c.get("message"),
                    "smoke": c.get("smoke") or {},
                    "code": codes[c["k"]],
                }
                for c in runnable
            ]
            use_smoke = ctx.pick_by_success
            request = LLMRequest(
                agent="critic",
                output="PickAnswer",
                temperature=0.0,
                messages=messages(
                    "critic", brief=state["brief"], candidates=[v if use_smoke else v | {"smoke": {}} for v in view]
                ),
                context={
                    "candidates": [{k: v[k] for k in ("k", "ok", "smoke")} for v in view],
                    "no_success_picking": not use_smoke,
                },
            )
            answer, response = ctx.llm.ask(request, PickAnswer, {"runnable": [c["k"] for c in runnable]})
            choice, reason, provider = answer.choice, answer.reason, response.provider
        code = codes[choice]
        picked = {
            "k": choice,
            "reason": reason,
            "provider": provider,
            "path": str(ctx.run_dir / "candidates" / str(choice) / "task.py"),
        }
        if ctx.settings.review:
            decision = interrupt(
                {"kind": "review", "k": choice, "reason": reason, "code": code, "path": picked["path"]}
            )
            action = (decision or {}).get("action", "approve")
            if action == "reject":
                ctx.trace.record("review", k=choice, action="reject")
                return {"picked": None, "rejected": [*rejected, choice], "status": "rejected_in_review"}
            if action == "edit":
                edited = str(decision["code"])
                edit_dir = ctx.run_dir / "candidates" / str(choice) / "edited"
                _write(edit_dir / "task.py", edited)
                check = self.check(edited, edit_dir)
                ctx.trace.record(
                    "review",
                    k=choice,
                    action="edit",
                    ok=check.get("ok"),
                    reason=check.get("reason"),
                    message=check.get("message"),
                )
                if not check.get("ok"):
                    return {"picked": None, "rejected": [*rejected, choice], "status": "edit_failed_sandbox"}
                picked |= {"path": str(edit_dir / "task.py"), "edited": True}
            else:
                ctx.trace.record("review", k=choice, action="approve")
            picked["review"] = action
        ctx.trace.record(
            "pick",
            choice=choice,
            reason=reason,
            provider=provider,
            runnable=[c["k"] for c in runnable],
            candidates=len(candidates),
        )
        ctx.out.info(f"[bold]critic[/] ({provider}): picked candidate {choice}: {escape(str(reason))}")
        ctx.out.event("pick", **picked)
        return {"picked": picked, "status": "picked"}

    def route_after_pick(self, state: dict[str, Any]) -> str:
        if state.get("picked"):
            return "sample_rewards"
        if state.get("status") in ("rejected_in_review", "edit_failed_sandbox"):
            return "pick"
        return "report"

    # --- reward variants --------------------------------------------------------------------------------------

    def _variant(self, iteration: int, m: int, request: LLMRequest | None, code: str | None) -> dict[str, Any]:
        """Write (and sandbox-check) reward variant m of an iteration; from a model answer unless `code` is given."""
        ctx = self.ctx
        provider = "base"
        if code is None:
            try:
                answer, response = ctx.llm.ask(request, TaskCodeAnswer)
            except LLMError as exc:
                record = {"iteration": iteration, "m": m, "ok": False, "reason": "no_answer", "message": str(exc)}
                ctx.trace.record("variant", **record)
                return record
            code, provider = answer.code, response.provider
        out_dir = ctx.run_dir / "iterations" / str(iteration) / str(m)
        _write(out_dir / "task.py", code)
        check = self.check(code, out_dir / "check")
        record = {
            "iteration": iteration,
            "m": m,
            "ok": bool(check.get("ok")),
            "provider": provider,
            "reason": check.get("reason"),
            "message": check.get("message"),
            "path": str(out_dir / "task.py"),
            "scales": rewards.current_scales(code) if check.get("ok") else {},
        }
        ctx.trace.record("variant", **record)
        return record

    def _variants(self, iteration: int, make: list[tuple[LLMRequest | None, str | None]]) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(make)))) as pool:
            return list(pool.map(lambda args: self._variant(iteration, args[0], *args[1]), enumerate(make)))

    def sample_rewards(self, state: dict[str, Any]) -> dict[str, Any]:
        """Iteration 0: the picked code's own reward (sample 0) and M - 1 reward samples from the reflector."""
        ctx = self.ctx
        base = Path(state["picked"]["path"]).read_text()
        make: list[tuple[LLMRequest | None, str | None]] = [(None, base)]
        for m in range(1, ctx.M):
            request = self._reflector_request(
                state, base, m, iteration=0, feedback=None, human=[], context={"mode": "sample", "code": base}
            )
            make.append((request, None))
        variants = self._variants(0, make)
        return {"iteration": 0, "variants": variants}

    def _reflector_request(
        self,
        state: dict[str, Any],
        code: str,
        m: int,
        iteration: int,
        feedback: str | None,
        human: list,
        context: dict[str, Any],
        facts: Any = None,
    ) -> LLMRequest:
        """The reflector's request for reward sample `m`: a fresh sample at iteration 0, a reflection later."""
        ctx = self.ctx
        return LLMRequest(
            agent="reflector",
            output="TaskCodeAnswer",
            output_format="code",
            sample=m,
            temperature=ctx.settings.llm_temperature,
            messages=messages(
                "reflector",
                brief=state["brief"],
                code=code,
                feedback=feedback,
                iteration=iteration,
                sample=m,
                human_feedback=human,
                facts=facts if facts is not None else self._facts(),
                success_weight=ctx.success_weight,
            ),
            context=context,
        )

    # --- training ---------------------------------------------------------------------------------------------

    def train(self, state: dict[str, Any]) -> dict[str, Any]:
        ctx, s = self.ctx, self.ctx.settings
        iteration = state["iteration"]
        variants = state["variants"]
        # the behavior family's PPO overrides, under the user's settings
        behavior = ctx.registry.get(state["brief"]["behavior"])
        hyperparameters = {**getattr(behavior, "train_hyperparameters", {}), **s.train_hyperparameters}
        jobs, results = [], {}
        for v in variants:
            out_dir = ctx.run_dir / "iterations" / str(iteration) / str(v["m"])
            if not v["ok"]:
                results[v["m"]] = {
                    "status": "failed",
                    "reason": v.get("reason"),
                    "message": v.get("message"),
                    "metrics": {},
                    "stage": "sandbox",
                }
                continue
            jobs.append(
                train_job(
                    ctx.scene_path,
                    Path(v["path"]),
                    out_dir,
                    env_steps=s.train_env_steps,
                    num_envs=s.train_num_envs,
                    seed=1000 * iteration + v["m"],
                    success_weight=ctx.success_weight,
                    hyperparameters=hyperparameters,
                    timeout_s=s.train_timeout_s,
                    sim_threads=s.sim_threads or getattr(ctx.executor, "threads_per_worker", None),
                )
            )
        ctx.out.info(
            f"[bold]iteration {iteration}[/]: training {len(jobs)} reward variants ({s.train_env_steps} env steps each)"
        )
        by_dir = {str(Path(j["out_dir"])): int(Path(j["out_dir"]).name) for j in jobs}
        with ctx.out.progress(f"iteration {iteration}: training", total=len(jobs)) as bar:
            done = [0]

            def on_done(result: dict[str, Any]) -> None:
                done[0] += 1
                m = by_dir.get(str(Path(result.get("out_dir", ""))), -1)
                metrics = result.get("metrics") or {}
                bar.update(
                    done[0],
                    status=f"variant {m}: {result.get('status')} success {success_of(metrics):.2f}",
                    iteration=iteration,
                    m=m,
                )

            trained = ctx.executor.run(jobs, on_done)
        for job, result in zip(jobs, trained, strict=False):
            results[int(Path(job["out_dir"]).name)] = result
        out = []
        for m in sorted(results):
            r = results[m]
            returns = training_curves(ctx.run_dir / "iterations" / str(iteration) / str(m) / "log.jsonl")["returns"]
            if returns:
                r.setdefault("metrics", {})["final_return"] = round(sum(returns[-3:]) / len(returns[-3:]), 4)
            entry = {
                "iteration": iteration,
                "m": m,
                "status": r.get("status"),
                "reason": r.get("reason"),
                "message": r.get("message"),
                "metrics": r.get("metrics") or {},
                "reused": bool(r.get("reused")),
                "stage": r.get("stage", "training"),
                "out_dir": str(ctx.run_dir / "iterations" / str(iteration) / str(m)),
            }
            ctx.trace.record("training", **entry)
            out.append(entry)
        return {"results": out}

    # --- reward reflector -------------------------------------------------------------------------------------

    def _score(self, result: dict[str, Any]) -> float:
        """How a trained variant ranks: its success rate, or (no success picking) its final episode return."""
        metrics = result.get("metrics") or {}
        if self.ctx.pick_by_success:
            return success_of(metrics)
        value = metrics.get("final_return")
        return float(value) if isinstance(value, int | float) else float("-inf")

    def reflect(self, state: dict[str, Any]) -> dict[str, Any]:
        ctx = self.ctx
        iteration = state["iteration"]
        results = state.get("results", [])
        ok = [r for r in results if r["status"] == "ok"]
        best_here = max(ok, key=lambda r: (self._score(r), -r["m"])) if ok else None
        entry = {
            "iteration": iteration,
            "best_m": best_here["m"] if best_here else None,
            "best_score": self._score(best_here) if best_here else None,
            "success": [success_of(r.get("metrics")) if r["status"] == "ok" else None for r in results],
            "statuses": [r["status"] for r in results],
        }
        best = state.get("best")
        if best_here and (best is None or self._score(best_here) > best["score"]):
            out_dir = Path(best_here["out_dir"])
            best = {
                "iteration": iteration,
                "m": best_here["m"],
                "score": self._score(best_here),
                "metrics": best_here["metrics"],
                "task_path": str(out_dir / "task.py"),
                "policy_path": str(out_dir / "policy.pt"),
                "log_path": str(out_dir / "log.jsonl"),
            }
        ctx.trace.record("iteration", **entry, best_so_far=best)
        ctx.out.info(
            f"[bold]iteration {iteration}[/]: best variant {entry['best_m']} "
            f"score {entry['best_score']}; successes {entry['success']}"
        )
        ctx.out.event("iteration", **entry)
        if iteration + 1 >= ctx.N:
            return {"history": [entry], "best": best, "done": True}
        # reflect on the best reward so far; before any training succeeded, on the picked code and its failures
        source_dir = Path(best["task_path"]).parent if best else None
        code = (source_dir / "task.py").read_text() if source_dir else Path(state["picked"]["path"]).read_text()
        feedback = self._feedback(source_dir, results)
        human, used = self._human_feedback(state.get("feedback_used", 0))
        curves = training_curves(source_dir / "log.jsonl") if source_dir else {"components": {}}
        success_rate = success_of(best["metrics"]) if best else 0.0
        facts = self._facts()
        context = {
            "mode": "reflect",
            "code": code,
            "curves": curves,
            "success_rate": success_rate,
            "human_feedback": human,
        }
        make = [
            (self._reflector_request(state, code, m, iteration, feedback, human, context, facts), None)
            for m in range(ctx.M)
        ]
        ctx.trace.record(
            "reflection",
            iteration=iteration,
            source=str(source_dir or state["picked"]["path"]),
            feedback=feedback,
            human_feedback=human,
            provider=ctx.provider_id,
        )
        variants = self._variants(iteration + 1, make)
        return {
            "history": [entry],
            "best": best,
            "iteration": iteration + 1,
            "variants": variants,
            "feedback_used": used,
            "done": False,
        }

    def _feedback(self, source_dir: Path | None, results: list[dict[str, Any]]) -> str:
        """Eureka-style training feedback of the reflected code, and why other variants failed."""
        text = "No reward variant has trained successfully yet."
        if source_dir is not None:
            try:
                from video2policy.tools.rl.training_log import summarize_log

                text = summarize_log(source_dir / "log.jsonl")
            except (ImportError, OSError, ValueError) as exc:
                text = f"(no training summary: {exc})"
        failures = [f"variant {r['m']}: {r.get('reason')}: {r.get('message')}" for r in results if r["status"] != "ok"]
        if failures:
            text += "\nFailed variants:\n" + "\n".join(failures)
        return text

    def _human_feedback(self, used: int) -> tuple[list[str], int]:
        """Lines a person added with `v2p chat` since the last reflection."""
        path = self.ctx.run_dir / "feedback.jsonl"
        if not path.is_file():
            return [], used
        lines = [json.loads(raw)["text"] for raw in path.read_text().splitlines() if raw.strip()]
        return lines[used:], len(lines)

    def route_after_reflect(self, state: dict[str, Any]) -> str:
        return "evaluate" if state.get("done") else "train"

    # --- final evaluation and report -------------------------------------------------------------------------

    def evaluate(self, state: dict[str, Any]) -> dict[str, Any]:
        ctx, s = self.ctx, self.ctx.settings
        best = state.get("best")
        final = ctx.run_dir / "final"
        if not best or not Path(best["policy_path"]).is_file():
            ctx.trace.record("evaluation", status="no_policy")
            return {"evaluation": {"status": "no_policy"}, "status": "no_policy"}
        final.mkdir(exist_ok=True)
        shutil.copyfile(best["policy_path"], final / "policy.pt")
        shutil.copyfile(best["task_path"], final / "task.py")
        eval_path = final / "eval.json"
        if not eval_path.is_file():
            job = {
                "scene_path": str(ctx.scene_path),
                "task_code_path": str(final / "task.py"),
                "policy_path": str(final / "policy.pt"),
                "behavior": state["brief"]["behavior"],
                "roles": state["brief"]["roles"],
                "episodes": s.eval_episodes,
                "seeds": list(s.eval_seeds),
                "video_path": str(final / "rollout.mp4"),
                "out": str(eval_path),
            }
            _write(final / "eval_job.json", json.dumps(job, indent=2))
            ctx.out.info(
                f"[bold]evaluation[/]: {s.eval_episodes} episodes x {len(s.eval_seeds)} seeds with the "
                f"behavior's ground-truth success"
            )
            with ctx.out.progress("final evaluation", total=1) as bar:
                run = toolbox.run_worker(
                    [sys.executable, "-m", "video2policy.agents.eval_worker", str(final / "eval_job.json")],
                    final,
                    timeout_s=s.train_timeout_s,
                )
                bar.update(1, status="done")
            if not eval_path.is_file():
                reason, message = toolbox.worker_failure(run)
                _write(eval_path, json.dumps({"status": "failed", "reason": reason.value, "message": message}))
        evaluation = json.loads(eval_path.read_text())
        ctx.trace.record("evaluation", **evaluation)
        gt = evaluation.get("success_rate")
        ctx.out.info(f"[bold]ground-truth success[/]: {gt}")
        if isinstance(gt, int | float) and gt >= 0.5:
            title = state["brief"]["task_description"]
            add_to_pool(
                ctx.pool_dir, f"{state['brief']['behavior']}_{ctx.run_dir.name}", title, (final / "task.py").read_text()
            )
        return {"evaluation": evaluation, "status": "evaluated"}

    def report(self, state: dict[str, Any]) -> dict[str, Any]:
        from video2policy.trace.report import write_report

        path = write_report(self.ctx.run_dir)
        self.ctx.trace.record("report", path=str(path))
        status = state.get("status")
        return {"report": str(path), "status": "done" if status in ("evaluated", None) else status}
