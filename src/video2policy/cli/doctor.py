"""`v2p doctor`: what this machine has, what is missing, and how to get it."""

from __future__ import annotations

import importlib.metadata
import os
import platform

import typer
from rich.markup import escape

from video2policy.cli.output import Output

PACKAGES = [
    "torch",
    "mujoco",
    "rl-games",
    "langgraph",
    "langgraph-checkpoint-sqlite",
    "openai",
    "av",
    "trimesh",
    "coacd",
    "opencv-python-headless",
    "transformers",
]
HOW_TO_GET = {
    "transformers": "pip install -e '.[models]' (for the foundation-model perception backend)",
    "bwrap": "apt-get install bubblewrap (stronger sandbox for generated code)",
    "rendering": "install Mesa EGL (apt-get install libegl1 libgl1) or set MUJOCO_GL=osmesa",
}


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _rendering() -> dict:
    backend = os.environ.get("MUJOCO_GL", "egl")
    try:
        import mujoco

        model = mujoco.MjModel.from_xml_string("<mujoco><worldbody><geom size='.1'/></worldbody></mujoco>")
        with mujoco.Renderer(model, 32, 32) as renderer:
            data = mujoco.MjData(model)
            mujoco.mj_forward(model, data)
            renderer.update_scene(data)
            renderer.render()
        return {"backend": backend, "ok": True}
    except Exception as exc:  # rendering failures come in many types; report, never crash
        return {"backend": backend, "ok": False, "error": str(exc).splitlines()[0]}


def sandbox_level() -> str:
    """'bwrap' when bubblewrap can start a namespace here, else 'process' (rlimits and a clean environment only)."""
    from video2policy.sandbox import isolation_level

    return isolation_level()


def gather() -> dict:
    import torch

    report = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cuda": torch.cuda.is_available(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "packages": {name: _version(name) for name in PACKAGES},
        "rendering": _rendering(),
        "sandbox": sandbox_level(),
    }
    missing = [name for name, version in report["packages"].items() if version is None]
    if report["sandbox"] != "bwrap":
        missing.append("bwrap")
    if not report["rendering"]["ok"]:
        missing.append("rendering")
    report["missing"] = {name: HOW_TO_GET.get(name, f"pip install {name}") for name in missing}
    return report


def doctor(json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout")) -> None:
    """Versions, rendering backend, sandbox level, CPU/GPU, and what is missing."""
    out = Output(json_out)
    report = gather()
    out.info(
        f"python {report['python']} on {report['platform']}, {report['cpus']} CPUs, GPU: {report['gpu'] or 'none'}"
    )
    for name, version in report["packages"].items():
        out.info(f"  {name:30s} {version or '[red]missing[/]'}")
    r = report["rendering"]
    state = "ok" if r["ok"] else "[red]failed[/]: " + escape(r.get("error", ""))
    out.info(f"rendering: MUJOCO_GL={r['backend']} {state}")
    out.info(f"sandbox level: {report['sandbox']}")
    for name, how in report["missing"].items():
        out.info(f"[yellow]missing[/] {name}: {how}")
    out.result(report)
