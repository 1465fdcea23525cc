"""Reward components as data: find them in task code, rescale them, and reflect on training curves by rules.

The offline provider edits rewards without a language model. It does not rewrite the author's arithmetic: it adds a
`reward_scales` table to the task class and wraps `compute_reward`, so the training reward becomes
``reward + sum((scale_k - 1) * component_k)``, which equals the original reward when every scale is 1.
"""

from __future__ import annotations

import ast
import json
import math
import random
import re
from typing import Any

from video2policy import pysource

SCALED_METHOD = "_unscaled_compute_reward"
SCALE_LIMITS = (0.05, 20.0)


def _task_class(tree: ast.Module) -> ast.ClassDef:
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    if len(classes) != 1:
        raise ValueError(f"expected one class in the task code, found {[c.name for c in classes]}")
    return classes[0]


def _method(cls: ast.ClassDef, name: str) -> ast.FunctionDef | None:
    return next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == name), None)


def reward_components(code: str) -> list[str]:
    """Component names: the string keys of the dict that compute_reward returns (in order of appearance)."""
    cls = _task_class(pysource.parse(code))
    method = _method(cls, SCALED_METHOD) or _method(cls, "compute_reward")
    if method is None:
        return []
    names: list[str] = []
    dict_vars: dict[str, ast.Dict] = {}
    for node in ast.walk(method):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    dict_vars[target.id] = node.value
    for node in ast.walk(method):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 2:
            second = node.value.elts[1]
            found = second if isinstance(second, ast.Dict) else dict_vars.get(getattr(second, "id", ""))
            if found is not None:
                for key in found.keys:
                    if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value not in names:
                        names.append(key.value)
    return names


def current_scales(code: str) -> dict[str, float]:
    """The reward_scales table of code that was scaled before, else {}."""
    cls = _task_class(pysource.parse(code))
    for node in cls.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "reward_scales" for t in node.targets):
            try:
                return {str(k): float(v) for k, v in ast.literal_eval(node.value).items()}
            except (ValueError, SyntaxError):
                return {}
    return {}


def apply_scales(code: str, scales: dict[str, float], note: str = "") -> str:
    """Task code whose reward is rescaled per component; rescaling scaled code replaces the old table."""
    lines = code.splitlines()
    tree = pysource.parse(code)
    cls = _task_class(tree)
    table = "{" + ", ".join(f"{json.dumps(k)}: {round(float(v), 4)!r}" for k, v in scales.items()) + "}"
    existing = next(
        (
            n
            for n in cls.body
            if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "reward_scales" for t in n.targets)
        ),
        None,
    )
    if existing is not None:
        indent = lines[existing.lineno - 1][: existing.col_offset]
        lines[existing.lineno - 1 : existing.end_lineno] = [f"{indent}reward_scales = {table}"]
        return "\n".join(lines) + "\n"
    method = _method(cls, "compute_reward")
    if method is None:
        raise ValueError("the task code has no compute_reward to rescale")
    def_line = method.lineno - 1 + len(method.decorator_list)
    lines[def_line] = re.sub(r"\bdef\s+compute_reward\b", f"def {SCALED_METHOD}", lines[def_line], count=1)
    indent = " " * method.col_offset
    body = indent + " " * 4
    comment = f"{indent}# reward components rescaled by the reflector{': ' + note if note else ''}"
    wrapper = [
        "",
        comment,
        f"{indent}reward_scales = {table}",
        "",
        f"{indent}def compute_reward(self, actions, states):",
        f"{body}reward, components = self.{SCALED_METHOD}(actions, states)",
        f"{body}for name, value in components.items():",
        f"{body}    reward = reward + (self.reward_scales.get(name, 1.0) - 1.0) * value",
        f"{body}return reward, components",
    ]
    end = cls.end_lineno or len(lines)
    lines[end:end] = wrapper
    return "\n".join(lines) + "\n"


def jitter(scales: dict[str, float], seed: int, spread: float = 0.5) -> dict[str, float]:
    """A seeded reward sample around `scales`: each component times exp(U(-spread, spread)); sample 0 is unchanged."""
    if seed == 0:
        return dict(scales)
    rng = random.Random(seed)
    return {k: _clip(v * math.exp(rng.uniform(-spread, spread))) for k, v in scales.items()}


def _clip(value: float) -> float:
    return min(max(value, SCALE_LIMITS[0]), SCALE_LIMITS[1])


# --- training curves and the offline reflection rules ---------------------------------------------------------


SLOW_WORDS = ("slow", "faster", "hurry", "quicker", "not far", "too short", "further", "farther", "more")
ROUGH_WORDS = ("fast", "violent", "rough", "jerk", "shak", "too far", "overshoot", "slower", "gentl", "knock")


def reflect_by_rules(
    scales: dict[str, float], curves: dict[str, Any], success_rate: float, human_feedback: list[str]
) -> tuple[dict[str, float], list[str]]:
    """New reward scales from a training's curves, by the explicit rules below; returns (scales, reasons).

    1. a component that dominates the others (mean magnitude over 10x the median) is halved;
    2. a component that never changes during training gives no signal: it is doubled if it is a bonus (mean >= 0)
       and halved if it is a penalty;
    3. with success below 0.5, the component that improved most during training (the one the policy learns
       from) is raised by 1.5x;
    4. a person's feedback: "too slow"-like words raise the improving bonuses 1.5x, "too rough"-like words halve
       the penalties' relief (penalties x2) and lower the largest bonus.
    """
    new = dict(scales)
    reasons: list[str] = []
    comps: dict[str, list[float]] = curves.get("components", {})
    stats = {}
    for name, values in comps.items():
        if values and name in new:
            half = max(1, len(values) // 2)
            first, last = sum(values[:half]) / half, sum(values[-half:]) / half
            stats[name] = {"mean": sum(values) / len(values), "first": first, "last": last}
    if len(stats) >= 2:
        mags = sorted(abs(s["mean"]) for s in stats.values())
        median = mags[len(mags) // 2] or 1e-9
        for name, s in stats.items():
            if abs(s["mean"]) > 10 * median:
                new[name] *= 0.5
                reasons.append(
                    f"{name} dominates the reward (|mean| {abs(s['mean']):.3g} vs median {median:.3g}): x0.5"
                )
    for name, s in stats.items():
        spread = abs(s["last"] - s["first"])
        if spread < 0.05 * max(abs(s["mean"]), 1e-6) and abs(s["mean"]) > 0:
            factor = 2.0 if s["mean"] >= 0 else 0.5
            new[name] *= factor
            reasons.append(f"{name} barely changed during training ({s['first']:.3g} -> {s['last']:.3g}): x{factor}")
    improving = {n: s["last"] - s["first"] for n, s in stats.items() if s["mean"] >= 0}
    if success_rate < 0.5 and improving:
        best = max(improving, key=improving.get)
        new[best] *= 1.5
        reasons.append(f"success {success_rate:.2f} < 0.5: raise {best}, the bonus that improved most: x1.5")
    text = " ".join(human_feedback).lower()
    if text:
        bonuses = [n for n, s in stats.items() if s["mean"] >= 0] or [n for n in new if "penalty" not in n]
        penalties = [n for n, s in stats.items() if s["mean"] < 0] or [n for n in new if "penalty" in n]
        if any(w in text for w in ROUGH_WORDS) and not any(w in text for w in ("too slow", "slowly")):
            for name in penalties:
                new[name] *= 2.0
            reasons.append(f"person said {text!r}: penalties {penalties} x2")
        elif any(w in text for w in SLOW_WORDS):
            for name in bonuses:
                new[name] *= 1.5
            reasons.append(f"person said {text!r}: bonuses {bonuses} x1.5")
        else:
            reasons.append(f"person said {text!r}: no rule matched; scales kept")
    if not reasons:
        reasons.append("no rule fired; scales kept")
    return {k: _clip(v) for k, v in new.items()}, reasons
