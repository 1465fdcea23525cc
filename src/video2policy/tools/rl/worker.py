"""The training worker the sandbox runs: `python -m video2policy.tools.rl.worker JOB.json`.

Generated reward code executes only inside this process. It reads a `TrainJob` (scene, task code, budget, seed,
output folder), trains, and writes train.json, log.jsonl and policy.pt into the job's out_dir. The exit code is
0 whenever train.json was written, including typed task-code failures (status "failed" there); 2 means the job
file itself is unreadable, and nothing was trained.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import ValidationError

from video2policy.tools.rl.train import TrainJob, train


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m video2policy.tools.rl.worker JOB.json\n")
        return 2
    path = Path(args[0])
    try:
        job = TrainJob.model_validate_json(path.read_text())
    except (OSError, ValidationError) as exc:
        sys.stderr.write(f"error: job file {path}: {exc}\n")
        return 2

    def progress(record: dict) -> None:
        event = {k: record.get(k) for k in ("epoch", "env_steps", "wall_s", "success_rate", "episode_return")}
        sys.stdout.write(json.dumps({"event": "epoch", **event}) + "\n")
        sys.stdout.flush()

    result = train(job, progress=progress)
    summary = {"event": "result", "status": result.status, "reason": result.reason, "metrics": result.metrics}
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
