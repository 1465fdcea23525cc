"""The run report: one self-contained HTML file (videos embedded, charts as inline SVG, no network resources)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import jinja2

from video2policy.trace.curves import training_curves
from video2policy.trace.ledger import read_trace
from video2policy.trace.stats import run_stats

MAX_EMBED_BYTES = 40 * 1024 * 1024
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def svg_lines(
    series: dict[str, list[float]], width: int = 520, height: int = 220, ylabel: str = "", xlabel: str = ""
) -> str:
    """A small line chart; each series is plotted against its index."""
    series = {k: [v for v in vs if v is not None] for k, vs in series.items()}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return "<p><em>no data</em></p>"
    left, right, top, bottom = 50, 130, 10, 30
    ys = [v for vs in series.values() for v in vs]
    lo, hi = min(ys), max(ys)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    longest = max(len(v) for v in series.values())
    w, h = width - left - right, height - top - bottom

    def xy(i: int, v: float, n: int) -> str:
        x = left + (w * i / max(n - 1, 1) if n > 1 else w / 2)
        y = top + h * (1 - (v - lo) / (hi - lo))
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-size="11">',
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="#fafafa" stroke="#ccc"/>',
        f'<text x="4" y="{top + 10}">{hi:.3g}</text><text x="4" y="{top + h}">{lo:.3g}</text>',
        f'<text x="{left}" y="{height - 8}">{html.escape(xlabel)} (0 .. {longest - 1})</text>',
        f'<text x="4" y="{top + h / 2}">{html.escape(ylabel)}</text>',
    ]
    for j, (name, values) in enumerate(series.items()):
        color = PALETTE[j % len(PALETTE)]
        points = " ".join(xy(i, v, len(values)) for i, v in enumerate(values))
        if len(values) == 1:
            x, y = xy(0, values[0], 1).split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{color}"/>')
        else:
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        parts.append(f'<text x="{left + w + 6}" y="{top + 12 + 14 * j}" fill="{color}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _video(path: Path) -> dict[str, str] | None:
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_EMBED_BYTES:
        return {"src": path.name, "note": "linked (too large to embed)"}
    mime = "video/webm" if path.suffix == ".webm" else "video/mp4"
    return {"src": f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode(), "note": path.name}


def write_report(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    lines = read_trace(run_dir / "trace.jsonl")
    stats = run_stats(run_dir)
    briefs = [x for x in lines if x.get("kind") == "brief"]
    picks = [x for x in lines if x.get("kind") == "pick"]
    evaluation = next((x for x in reversed(lines) if x.get("kind") == "evaluation"), {})
    iterations = [x for x in lines if x.get("kind") == "iteration"]
    best = (iterations[-1].get("best_so_far") if iterations else None) or {}
    inputs = sorted(run_dir.glob("input.*"))
    final_code = run_dir / "final" / "task.py"
    code_path = final_code if final_code.is_file() else Path(best.get("task_path", run_dir / "missing"))
    curves = training_curves(Path(best["log_path"])) if best.get("log_path") else {"success": [], "components": {}}
    success_chart = svg_lines(
        {
            "best variant": [c["best_success"] for c in stats["iterations"]],
            "mean of variants": [c["mean_success"] for c in stats["iterations"]],
        },
        ylabel="success",
        xlabel="iteration",
    )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent)), autoescape=True, undefined=jinja2.StrictUndefined
    )
    page = env.get_template("report.html.j2").render(
        info=info,
        stats=stats,
        brief=briefs[-1] if briefs else None,
        pick=picks[-1] if picks else None,
        evaluation=evaluation,
        best=best,
        input_video=_video(inputs[0]) if inputs else None,
        rollout=_video(run_dir / "final" / "rollout.mp4"),
        code=code_path.read_text() if code_path.is_file() else None,
        success_chart=success_chart,
        training_chart=svg_lines({"success rate": curves["success"]}, ylabel="success", xlabel="log step"),
        components_chart=svg_lines(curves["components"], ylabel="mean per step", xlabel="log step"),
    )
    path = run_dir / "report.html"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(page)
    tmp.replace(path)
    return path
