"""The offline provider: every agent's job done without a language model, deterministically.

- analyst: maps the caption to a behavior through the plugins' caption patterns and assigns object roles by label;
- coder: renders the behavior plugin's reference task code, variation = the sample number (K seeded variations);
- critic: picks by sandbox results and smoke metrics;
- reflector: rescales reward components from the training curves by the explicit rules in `agents.rewards`.

It reads the structured `context` of a request (the messages are rendered too, for the trace, but not read), and
labels everything it writes as offline.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from pydantic import BaseModel

from video2policy.agents import rewards, toolbox
from video2policy.agents.llm import LLMError, LLMRequest, LLMResponse

OFFLINE = "offline"


class OfflineProvider:
    id = OFFLINE

    def __init__(self, registry: Any = None):
        self._registry = registry

    @property
    def registry(self) -> Any:
        if self._registry is None:
            self._registry = toolbox.behaviors()
        return self._registry

    def complete(self, request: LLMRequest, schema: type[BaseModel]) -> LLMResponse:
        start = time.monotonic()
        handler = getattr(self, f"_{request.agent}", None)
        if handler is None:
            raise LLMError(f"the offline provider has no rule for agent {request.agent!r}")
        text = handler(request.context, request.sample)
        return LLMResponse(provider=OFFLINE, model=OFFLINE, text=text, latency_s=time.monotonic() - start)

    # --- agents ---------------------------------------------------------------------------------------------

    def _analyst(self, ctx: dict[str, Any], sample: int) -> str:
        objects: list[dict[str, str]] = ctx["objects"]
        hint = ctx.get("behavior_hint")
        matched = self.registry.match(ctx["caption"]) if ctx.get("caption") else None
        if hint:
            behavior = self.registry.get(hint)
            labels = matched[1] if matched and matched[0].name == behavior.name else {}
        elif matched:
            behavior, labels = matched
        else:
            names = sorted(b.name for b in self.registry.all())
            raise LLMError(
                f"offline analyst: no behavior's caption patterns match {ctx['caption']!r}; "
                f"name one with --behavior (one of {names})"
            )
        roles = assign_roles(toolbox.behavior_roles(behavior), labels, objects)
        brief = {
            "behavior": behavior.name,
            "roles": roles,
            "task_description": f"{behavior.description} ({', '.join(f'{r}: {o}' for r, o in roles.items())})",
            "success_description": "the behavior's reference success condition",
            "reasoning": f"offline: caption {ctx['caption']!r} matched behavior {behavior.name!r}"
            + (" (given by the user)" if hint else " by its caption patterns"),
        }
        return json.dumps(brief)

    def _coder(self, ctx: dict[str, Any], sample: int) -> str:
        behavior = self.registry.get(ctx["behavior"])
        variation = sample + 101 * ctx.get("attempt", 0)  # a repair attempt renders another variation
        code = behavior.render_task_code(ctx["roles"], variation=variation)
        header = f"# provider: offline (reference code of behavior {behavior.name!r}, variation {variation})\n"
        return f"offline coder: rendered variation {variation}.\n```python\n{header}{code.strip()}\n```\n"

    def _critic(self, ctx: dict[str, Any], sample: int) -> str:
        candidates = [c for c in ctx["candidates"] if c.get("ok")]
        if not candidates:
            raise LLMError("offline critic: no runnable candidate to pick from")
        if ctx.get("no_success_picking"):
            pick = candidates[0]
            return json.dumps({"choice": pick["k"], "reason": "offline: first runnable candidate (no success picking)"})
        scored = sorted(candidates, key=lambda c: (-smoke_score(c.get("smoke") or {}), c["k"]))
        pick = scored[0]
        return json.dumps(
            {
                "choice": pick["k"],
                "reason": f"offline: runnable, best smoke score "
                f"{smoke_score(pick.get('smoke') or {}):.2f} of "
                f"{len(candidates)} runnable candidates",
            }
        )

    def _reflector(self, ctx: dict[str, Any], sample: int) -> str:
        code = ctx["code"]
        names = rewards.reward_components(code)
        base = {name: 1.0 for name in names} | rewards.current_scales(code)
        if ctx.get("mode") == "reflect":
            scales, reasons = rewards.reflect_by_rules(
                base, ctx.get("curves", {}), float(ctx.get("success_rate", 0.0)), ctx.get("human_feedback", [])
            )
            scales = rewards.jitter(scales, sample, spread=0.3)
            note = "; ".join(reasons)
        else:
            scales = rewards.jitter(base, sample)
            reasons = [f"reward sample {sample}: " + ("unchanged" if sample == 0 else "seeded rescaling")]
            note = reasons[0]
        if not names:
            return f"offline reflector: no reward components found; code unchanged.\n```python\n{code}\n```\n"
        new = rewards.apply_scales(code, scales, note=f"offline, {note}"[:300])
        return "offline reflector: " + " | ".join(reasons) + f"\n```python\n{new}```\n"


def assign_roles(roles: list[str], labels: dict[str, str], objects: list[dict[str, str]]) -> dict[str, str]:
    """role -> scene object name: by the caption's label for the role, then the remaining objects in scene order."""
    out: dict[str, str] = {}
    free = [o["name"] for o in objects]

    def find(label: str) -> str | None:
        label = label.lower().strip()
        for o in objects:
            if o["name"] in free and label in (o["name"].lower(), (o.get("label") or "").lower()):
                return o["name"]
        for o in objects:
            text = f"{o['name']} {o.get('label') or ''}".lower().replace("_", " ")
            if o["name"] in free and (label in text or any(w in text.split() for w in label.split())):
                return o["name"]
        return None

    for role in roles:
        name = find(labels[role]) if role in labels else None
        if name:
            out[role] = name
            free.remove(name)
    for role in roles:
        if role not in out:
            if not free:
                raise LLMError(
                    f"offline analyst: no scene object left for role {role!r} (objects: {[o['name'] for o in objects]})"
                )
            out[role] = free.pop(0)
    return out


def smoke_score(smoke: dict[str, Any]) -> float:
    """How promising a runnable candidate looks from its random-action smoke run: a reward that varies, a success
    that is not trivially always true, reward components that are all finite and active."""
    score = 1.0
    success = _num(smoke, "success_rate", "success")
    if success is not None and success >= 0.99:
        score -= 1.0  # success with random actions at every step: the success check is trivially true
    std = _num(smoke, "reward_std")
    if std is not None:
        score += 0.5 if std > 1e-6 else -0.5
    comps = smoke.get("components") or smoke.get("reward_components") or {}
    if isinstance(comps, dict) and comps:
        active = [v for v in comps.values() if isinstance(v, int | float) and math.isfinite(v) and abs(v) > 1e-9]
        score += 0.25 * len(active) / len(comps)
    return score


def _num(data: dict[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None
