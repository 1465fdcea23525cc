"""Training curves read from an RL training's log.jsonl: success rate and reward components over time."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def training_curves(log_path: Path) -> dict[str, Any]:
    """Success and per-component curves from a training's log.jsonl (whatever numeric keys it logs per line)."""
    success: list[float] = []
    returns: list[float] = []
    components: dict[str, list[float]] = {}
    path = Path(log_path)
    if not path.is_file():
        return {"success": success, "returns": returns, "components": components}
    for raw in path.read_text().splitlines():
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if not isinstance(line, dict):
            continue
        for key in ("success_rate", "success", "train/success_rate"):
            if isinstance(line.get(key), int | float):
                success.append(float(line[key]))
                break
        if isinstance(line.get("episode_return"), int | float):
            returns.append(float(line["episode_return"]))
        comps = line.get("components") or line.get("reward_components") or {}
        if isinstance(comps, dict):
            for name, value in comps.items():
                if isinstance(value, dict):  # per-group means: {"success", "failure", "all"}
                    value = value.get("all")
                if isinstance(value, int | float) and math.isfinite(value):
                    components.setdefault(name, []).append(float(value))
    return {"success": success, "returns": returns, "components": components}


def success_of(metrics: dict[str, Any] | None) -> float:
    """A training's success rate from its train.json metrics (the last epochs' mean); 0 when it has none."""
    metrics = metrics or {}
    for key in ("final_success_rate", "success_rate", "best_success_rate"):
        value = metrics.get(key)
        if isinstance(value, int | float):
            return float(value)
    return 0.0
