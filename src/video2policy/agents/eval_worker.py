"""The final evaluation as a worker process: `python -m video2policy.agents.eval_worker JOB.json`.

It loads agent-written task code and a policy, so it runs in the sandbox like training does. Success is the behavior
plugin's ground-truth check (which the agents never saw), not the task code's own compute_success.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def run(job: dict[str, Any]) -> dict[str, Any]:
    from video2policy.plugins.registry import load_behaviors
    from video2policy.tools.rl.evaluate import evaluate

    behavior = load_behaviors().get(job["behavior"])
    roles = job["roles"]

    def success_fn(states: dict) -> Any:
        return behavior.success(states, roles)

    result = evaluate(
        job["scene_path"],
        job["task_code_path"],
        job["policy_path"],
        success_fn,
        episodes=job["episodes"],
        seeds=tuple(job["seeds"]),
        video_path=job.get("video_path"),
    )
    data = result.model_dump(mode="json") if hasattr(result, "model_dump") else dict(vars(result))
    data = json.loads(json.dumps(data, default=str))
    if "success_rate" not in data:
        for key in ("gt_success_rate", "success", "mean_success"):
            if isinstance(data.get(key), int | float):
                data["success_rate"] = float(data[key])
                break
    data.update({"status": "ok", "behavior": job["behavior"], "roles": roles, "ground_truth": True})
    return data


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m video2policy.agents.eval_worker JOB.json", file=sys.stderr)
        return 2
    job = json.loads(Path(argv[0]).read_text())
    out = Path(job["out"])
    try:
        data = run(job)
    except Exception as exc:  # a typed result for the run's ledger, not a traceback
        data = {"status": "failed", "reason": "runtime_error", "message": f"{type(exc).__name__}: {exc}"}
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
