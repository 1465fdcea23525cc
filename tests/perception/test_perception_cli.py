"""`v2p perceive` from the command line: bad input fails at a named stage without a traceback, partial output kept."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from video2policy.scene import SceneSpec


def v2p(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "video2policy.cli.main", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    done = v2p("synth", "push_right", "--seed", "1", "--out", str(out), "--size", "160x120")
    assert done.returncode == 0, done.stderr
    return out


def test_perceive_command_writes_the_scene_and_reports_json(clip: Path, tmp_path: Path) -> None:
    caption = SceneSpec.load(clip / "gt.json").caption
    out = tmp_path / "scene"
    done = v2p(
        "perceive",
        str(clip / "video.mp4"),
        "--caption",
        caption,
        "--out",
        str(out),
        "--camera",
        str(clip / "gt.json"),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    stages = [e["stage"] for e in events if e["event"] == "progress"]
    for stage in ("video", "depth", "ground", "segment", "mesh", "scale", "pose", "assets", "scene"):
        assert f"perceive {stage}" in stages
    result = events[-1]
    assert result["event"] == "result" and Path(result["scene"]).is_file() and Path(result["contact_sheet"]).is_file()
    assert SceneSpec.load(out / "scene.json").objects[0].label in caption
    again = v2p(
        "perceive",
        str(clip / "video.mp4"),
        "--caption",
        caption,
        "--out",
        str(out),
        "--camera",
        str(clip / "gt.json"),
        "--json",
    )
    cached = json.loads(again.stdout.splitlines()[-1])["stages"]
    assert all(cached[s]["cached"] for s in ("depth", "ground", "segment", "mesh", "scale", "pose", "assets"))


def _expect_failure(done: subprocess.CompletedProcess, stage: str, obj: str | None, out: Path) -> dict:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"stage '{stage}'" in done.stderr
    if obj:
        assert f"object '{obj}'" in done.stderr
    report = json.loads((out / "failure.json").read_text())
    assert report["stage"] == stage and report["object"] == obj
    return report


def test_unreadable_and_empty_videos(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"this is not a video" * 100)
    frames = tmp_path / "frames"
    frames.mkdir()
    for video in (empty, garbage, frames, tmp_path / "missing.mp4"):
        out = tmp_path / f"out-{video.name}"
        done = v2p("perceive", str(video), "--caption", "Pushing [cup] from right to left", "--out", str(out))
        _expect_failure(done, "video", None, out)


def test_caption_without_objects(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = v2p("perceive", str(clip / "video.mp4"), "--caption", "Pushing something to the left", "--out", str(out))
    _expect_failure(done, "ground", None, out)
    assert "square brackets" in done.stderr


def test_object_not_found_keeps_the_finished_stages(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = v2p(
        "perceive",
        str(clip / "video.mp4"),
        "--caption",
        "Pushing [magenta elephant] from left to right",
        "--out",
        str(out),
        "--camera",
        str(clip / "gt.json"),
        "--json",
    )
    report = _expect_failure(done, "ground", "magenta_elephant", out)
    assert "magenta elephant" in report["message"]
    assert (out / "stages" / "depth.json").is_file()  # the stages before it are kept (and reused by a re-run)
    assert "depth" in report["completed_stages"]
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[-1]["event"] == "error" and any(e["event"] == "failure" for e in events)


def test_models_backend_seam_fails_at_its_stage(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = v2p(
        "perceive",
        str(clip / "video.mp4"),
        "--caption",
        "Pushing [cup] from left to right",
        "--out",
        str(out),
        "--backend",
        "models",
    )
    report = _expect_failure(done, "depth", None, out)
    assert "classical" in report["message"]
    bad = v2p(
        "perceive",
        str(clip / "video.mp4"),
        "--caption",
        "Pushing [cup] from left to right",
        "--out",
        str(out),
        "--backend",
        "mesh=models",
    )
    _expect_failure(bad, "mesh", None, out)


def test_bench_perception_runs_the_seeds_asked_for(tmp_path: Path) -> None:
    # --first-seed picks clips the rules were not tuned on (held-out seeds), not only seeds 0..N-1
    done = v2p(
        "bench", "perception", "--families", "tip_over", "--seeds", "1", "--first-seed", "7",
        "--work-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert [(r["family"], r["seed"]) for r in result["rows"]] == [("tip_over", 7)]
    assert (tmp_path / "tip_over" / "7" / "gt.json").is_file() and result["summary"]["clips"] == 1
    # each clip is replayed in the simulator and checked with its family's ground truth
    assert isinstance(result["rows"][0]["replay"]["success"], bool) and result["summary"]["replay"]["clips"] == 1
