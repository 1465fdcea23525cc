"""`v2p bench sandbox`: what a full tier check costs beyond starting Python with torch.

Both sides are measured in the same run, alternating, so machine load hits them alike: the baseline is a bare
`python -I -c "import torch, video2policy.tools.sim"` (no sandbox), the check is `check_candidate` on an example
task (syntax, lint, bwrap start-up, probe start-up, import, instantiate, 8-world smoke run of 20 steps).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from video2policy.sandbox.tiers import check_candidate

BASELINE_CODE = "import torch, video2policy.tools.sim"
BUDGET_S = 3.0


def baseline_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-c", BASELINE_CODE], check=True, capture_output=True)
    return time.perf_counter() - start


def bench_sandbox(
    task_paths: list[Path],
    scene_path: Path,
    repeats: int = 3,
    progress: Callable[[int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Median wall time of the full tier check per task against the median baseline start-up."""
    rows, baselines, done = [], [], 0
    with tempfile.TemporaryDirectory(prefix="v2p-bench-sandbox-") as tmp:
        for path in task_paths:
            code = path.read_text()
            checks, levels = [], set()
            for i in range(repeats):
                baselines.append(baseline_seconds())
                start = time.perf_counter()
                result = check_candidate(code, scene_path, Path(tmp) / f"{path.stem}-{i}")
                checks.append(time.perf_counter() - start)
                levels.add(result.level)
                if not result.ok:
                    raise RuntimeError(
                        f"{path}: the example task failed its {result.first_failed_tier} tier: {result.message}"
                    )
            row = {"task": path.stem, "check_s": round(statistics.median(checks), 3), "level": "/".join(levels)}
            rows.append(row)
            done += 1
            if progress:
                progress(done, row)
    baseline = statistics.median(baselines)
    for row in rows:
        row["overhead_s"] = round(row["check_s"] - baseline, 3)
        row["ratio"] = round(row["check_s"] / baseline, 3)
        row["within_budget"] = row["overhead_s"] <= BUDGET_S
    return {
        "baseline_s": round(baseline, 3),
        "baseline": f'python -I -c "{BASELINE_CODE}"',
        "repeats": repeats,
        "budget_s": BUDGET_S,
        "rows": rows,
        "within_budget": all(r["within_budget"] for r in rows),
    }


def summary_table(report: dict[str, Any]) -> str:
    runs = len(report["rows"]) * report["repeats"]
    lines = [
        f"baseline ({report['baseline']}): {report['baseline_s']:.2f} s (median of {runs})",
        f"{'task':20s} {'check s':>8s} {'overhead s':>11s} {'ratio':>6s}  level",
    ]
    for row in report["rows"]:
        mark = "" if row["within_budget"] else f"  [red]over the {report['budget_s']:.0f} s budget[/]"
        numbers = f"{row['check_s']:8.2f} {row['overhead_s']:11.2f} {row['ratio']:6.2f}"
        lines.append(f"{row['task']:20s} {numbers}  {row['level']}{mark}")
    return "\n".join(lines)
