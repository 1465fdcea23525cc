"""Statistics of a run from its ledger: model calls and costs, the paper's hallucination analysis (Table 8) and
the iteration curves (Figure 4).

Hallucination analysis. A generated task code is *non-runnable* when it fails a sandbox tier or its training
fails; it is *runnable zero-success* when it trains but never succeeds. Shares are given before picking (every
candidate and every reward variant the agents wrote) and after picking (the code each pick kept: the critic's base
candidate, and each iteration's best variant).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from video2policy.trace.curves import success_of
from video2policy.trace.ledger import read_trace


def _last_by(lines: list[dict[str, Any]], kind: str, *keys: str) -> list[dict[str, Any]]:
    """The last record of each key: a resumed run may log the same item twice."""
    found: dict[tuple, dict[str, Any]] = {}
    for line in lines:
        if line.get("kind") == kind:
            found[tuple(line.get(k) for k in keys)] = line
    return list(found.values())


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def run_stats(run_dir: str | Path) -> dict[str, Any]:
    lines = read_trace(Path(run_dir) / "trace.jsonl")
    calls = [x for x in lines if x.get("kind") == "llm_call"]
    fresh = [c for c in calls if not c.get("cached")]
    by_agent: dict[str, dict[str, Any]] = {}
    for c in fresh:
        a = by_agent.setdefault(
            c["agent"], {"calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "latency_s": 0.0}
        )
        a["calls"] += 1
        a["input_tokens"] += c.get("input_tokens", 0)
        a["output_tokens"] += c.get("output_tokens", 0)
        a["cost_usd"] = round(a["cost_usd"] + c.get("cost_usd", 0.0), 6)
        a["latency_s"] = round(a["latency_s"] + c.get("latency_s", 0.0), 3)
    llm = {
        "calls": len(fresh),
        "cached_calls": len(calls) - len(fresh),
        "input_tokens": sum(c.get("input_tokens", 0) for c in fresh),
        "output_tokens": sum(c.get("output_tokens", 0) for c in fresh),
        "cost_usd": round(sum(c.get("cost_usd", 0.0) for c in fresh), 6),
        "providers": sorted({c.get("provider", "?") for c in calls}),
        "retries": sum(1 for x in lines if x.get("kind") == "llm_retry"),
        "invalid_answers": sum(1 for x in lines if x.get("kind") == "invalid_answer"),
        "by_agent": by_agent,
    }

    attempts = _last_by(lines, "candidate", "k", "attempt")
    finals = {}
    for a in sorted(attempts, key=lambda x: (x["k"], x.get("attempt", 0))):
        finals[a["k"]] = a
    first = [a for a in attempts if a.get("attempt", 0) == 0]
    trainings = _last_by(lines, "training", "iteration", "m")
    iterations = sorted(_last_by(lines, "iteration", "iteration"), key=lambda x: x["iteration"])
    picks = [x for x in lines if x.get("kind") == "pick" and x.get("choice") is not None]
    picked_k = picks[-1]["choice"] if picks else None

    def success(t: dict[str, Any]) -> float:
        return success_of(t.get("metrics"))

    ok_trainings = [t for t in trainings if t.get("status") == "ok"]
    best_trainings = [
        t for t in trainings for it in iterations if it["iteration"] == t["iteration"] and it.get("best_m") == t["m"]
    ]
    hallucination = {
        "candidates": {
            "count": len(finals),
            "non_runnable_first_attempt": _share(sum(not a["ok"] for a in first), len(first)),
            "non_runnable_after_repair": _share(sum(not a["ok"] for a in finals.values()), len(finals)),
            "picked": picked_k,
            "picked_non_runnable": (
                None if picked_k is None else _share(int(not finals.get(picked_k, {}).get("ok", False)), 1)
            ),
        },
        "before_picking": {
            "trained_codes": len(trainings),
            "non_runnable": _share(sum(t.get("status") != "ok" for t in trainings), len(trainings)),
            "runnable_zero_success": _share(sum(success(t) == 0.0 for t in ok_trainings), len(trainings)),
        },
        "after_picking": {
            "picked_codes": len(best_trainings),
            "non_runnable": _share(sum(t.get("status") != "ok" for t in best_trainings), len(best_trainings)),
            "runnable_zero_success": _share(
                sum(t.get("status") == "ok" and success(t) == 0.0 for t in best_trainings), len(best_trainings)
            ),
        },
    }
    curves = []
    for it in iterations:
        here = [t for t in trainings if t["iteration"] == it["iteration"]]
        rates = [success(t) for t in here if t.get("status") == "ok"]
        curves.append(
            {
                "iteration": it["iteration"],
                "best_success": max(rates) if rates else None,
                "mean_success": round(sum(rates) / len(rates), 4) if rates else None,
                "trained": len(here),
                "runnable": len(rates),
                "best_m": it.get("best_m"),
            }
        )
    evaluations = [x for x in lines if x.get("kind") == "evaluation"]
    evaluation = evaluations[-1] if evaluations else None
    return {
        "run_dir": str(run_dir),
        "llm": llm,
        "hallucination": hallucination,
        "iterations": curves,
        "ground_truth_success": (evaluation or {}).get("success_rate"),
        "trainings": {
            "count": len(trainings),
            "reused": sum(bool(t.get("reused")) for t in lines if t.get("kind") == "training"),
        },
    }
