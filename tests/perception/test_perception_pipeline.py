"""perceive() end to end on a small synthetic clip from `v2p synth`, scored against its gt.json; the stage cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from video2policy.scene import SceneSpec
from video2policy.tools.perception import perceive
from video2policy.tools.perception.bench import score_clip, sorted_size, summarize

FAMILY, SEED, SIZE = "drop_in_front_of", 0, (160, 120)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    from video2policy.plugins import load_behaviors
    from video2policy.plugins.synth import synthesize

    out = tmp_path_factory.mktemp("synth")
    synthesize(load_behaviors().get(FAMILY), SEED, out, size=SIZE, masks=True)
    return out


@pytest.fixture(scope="module")
def perceived(clip: Path, tmp_path_factory) -> tuple[SceneSpec, SceneSpec, Path]:
    gt = SceneSpec.load(clip / "gt.json")
    out = tmp_path_factory.mktemp("perceived")
    scene = perceive(clip / "video.mp4", gt.caption, None, out, camera=gt.camera)
    return gt, scene, out


def test_sizes_and_positions_meet_the_benchmark_targets(perceived) -> None:
    gt, scene, out = perceived
    assert [o.label for o in scene.objects] == list(gt.provenance.stages["synth"]["labels"].values())
    size_errors, position_errors = [], []
    for obj in scene.objects:
        true = next(o for o in gt.objects if o.label == obj.label)
        size_errors += list(np.abs(sorted_size(obj.size) - sorted_size(true.size)) / sorted_size(true.size))
        for est, tru in ((obj.first, true.first), (obj.last, true.last)):
            position_errors.append(100 * np.linalg.norm(np.subtract(est.position, tru.position)))
        assert len(obj.poses) == len(true.poses)
    assert np.median(size_errors) <= 0.10, size_errors
    assert np.median(position_errors) <= 1.5, position_errors
    # what a simulator and a person need is on disk
    assert SceneSpec.load(out / "scene.json").objects[0].mesh == f"assets/{scene.objects[0].name}.obj"
    for obj in scene.objects:
        assert (out / obj.mesh).is_file() and obj.collision and all((out / c).is_file() for c in obj.collision)
    assert (out / "contact_sheet.png").stat().st_size > 1000
    assert not (out / "failure.json").exists()
    assert set(scene.provenance.stages) >= {"video", "depth", "ground", "segment", "mesh", "scale", "pose", "assets"}


def test_benchmark_scoring_on_the_same_clip(clip: Path, perceived) -> None:
    _, _, out = perceived
    row = score_clip(clip, out)  # the cache makes this a re-read, not a re-run
    assert row["failed_stage"] is None
    assert all(o["ground_iou"] >= 0.5 and o["segment_iou"] >= 0.5 for o in row["objects"]), row["objects"]
    summary = summarize([{"family": FAMILY, "seed": SEED, **row}])
    assert summary["failure_rate"]["ground"] == 0.0 and summary["objects"] == len(row["objects"])
    # the whole track is scored frame by frame against the true poses, not only its ends
    gt, scene, _ = perceived
    for o, obj in zip(row["objects"], scene.objects, strict=True):
        true = next(t for t in gt.objects if t.label == obj.label)
        pairs = zip(obj.poses, true.poses, strict=True)
        per_frame = [np.linalg.norm(np.subtract(e.position, t.position)) for e, t in pairs]
        assert o["track_cm"] == pytest.approx(100 * np.mean(per_frame), abs=0.01)
    tracks = [o["track_cm"] for o in row["objects"]]
    assert summary["median_track_cm"] == pytest.approx(np.median(tracks), abs=0.01)
    assert summary["mean_track_cm"] == pytest.approx(np.mean(tracks), abs=0.01)
    # replayed in the simulator: the scene stands as perceived at the start; no behavior given, no success checked
    assert row["replay"]["first_cm"] < 1.0 and row["replay"]["success"] is None, row["replay"]
    assert summary["replay"]["moved"]["first"] == 0 and summary["replay"]["success"] is None


def test_rerun_resumes_from_the_stage_cache(clip: Path, perceived, tmp_path: Path) -> None:
    gt, scene, out = perceived
    copy = tmp_path / "again"
    shutil.copytree(out, copy)
    (copy / "stages" / "pose.json").unlink()  # as if killed during the pose stage
    seen: list[str] = []
    again = perceive(
        clip / "video.mp4",
        gt.caption,
        None,
        copy,
        camera=gt.camera,
        progress=lambda stage, done, total: seen.append(stage),
    )
    stages = again.provenance.stages
    assert all(stages[s]["cached"] for s in ("depth", "ground", "segment", "mesh", "scale"))
    assert stages["pose"]["cached"] is False
    assert again.objects[0].last.position == pytest.approx(scene.objects[0].last.position, abs=1e-9)
    assert "pose" in seen
    # a changed input invalidates the stages that depend on it
    record = json.loads((copy / "stages" / "ground.json").read_text())
    other = perceive(
        clip / "video.mp4", gt.caption, None, copy, camera=gt.camera, hints=[f"{scene.objects[0].name}=red"]
    )
    assert other.provenance.stages["depth"]["cached"] is True
    assert json.loads((copy / "stages" / "ground.json").read_text())["key"] != record["key"]


def test_depth_without_a_table_plane_falls_back_to_colour_with_a_warning(clip: Path, tmp_path: Path) -> None:
    """A depth folder that shows no table (wrong units, a far wall) must not crash grounding: it says so and goes on."""
    import cv2

    gt = SceneSpec.load(clip / "gt.json")
    frames = gt.video.frame_count if gt.video is not None and gt.video.frame_count else 30
    depth = tmp_path / "depth"
    depth.mkdir()
    for i in range(frames):
        cv2.imwrite(str(depth / f"{i:05d}.png"), np.full((SIZE[1], SIZE[0]), 3000, np.uint16))  # 3 m everywhere
    out = tmp_path / "out"
    try:
        perceive(clip / "video.mp4", gt.caption, None, out, camera=gt.camera, depth_dir=depth)
    except Exception as exc:  # an expected failure must be a PerceptionError naming its stage, not a cv2.error
        from video2policy.tools.perception import PerceptionError

        assert isinstance(exc, PerceptionError), repr(exc)
    ground = out / "stages" / "ground.json"
    warnings = json.loads(ground.read_text())["warnings"] if ground.is_file() else []
    failure = json.loads((out / "failure.json").read_text()) if (out / "failure.json").is_file() else {}
    assert any("no table plane" in w for w in warnings + failure.get("warnings", [])), (warnings, failure)


def test_an_object_found_as_a_sliver_at_the_start_is_taken_where_the_last_frame_shows_it_whole() -> None:
    from video2policy.tools.perception.caption import NamedObject
    from video2policy.tools.perception.ground import Grounding
    from video2policy.tools.perception.pipeline import _prefer_unhidden

    h, w = 240, 320
    frames = np.zeros((10, h, w, 3), np.uint8)

    def seen(y0: int, y1: int, x0: int, x1: int) -> Grounding:
        mask = np.zeros((h, w), bool)
        mask[y0:y1, x0:x1] = True
        return Grounding(mask, (x0, y0, x1, y1), 0.9, "colour")

    named = [NamedObject("green_block", "green block"), NamedObject("purple_cup", "purple cup")]
    asked, last = [], seen(100, 115, 120, 135)  # 225 pixels in the last frame

    def ground_at(t: int, objects: list[NamedObject], taken: list[np.ndarray]) -> tuple[dict, dict]:
        asked.append((t, [o.name for o in objects], len(taken)))
        return {"green_block": last}, {}

    # 15 pixels past the cup's rim at the start; the cup, lifted off it, has left its place (its pixels changed)
    frames[-1, 80:130, 40:90] = 200
    found = {"green_block": (0, seen(100, 103, 50, 55)), "purple_cup": (0, seen(80, 130, 40, 90))}
    assert _prefer_unhidden(frames, named, found, ground_at) == {"green_block"}
    assert asked == [(9, ["green_block"], 0)]  # the cup is not asked for, and its first place is not taken
    assert found["green_block"][0] == 9 and found["green_block"][1].mask.sum() == 225 and found["purple_cup"][0] == 0
    # a last-frame view not several times larger is no fuller view: the first frame's stays
    last = seen(100, 110, 120, 132)  # 120 pixels against 50
    found = {"green_block": (0, seen(100, 105, 50, 60)), "purple_cup": (0, seen(80, 130, 40, 90))}
    assert _prefer_unhidden(frames, named, found, ground_at) == set() and found["green_block"][0] == 0
    # synthetic throw_into 15: the garlic, a sliver in the hand at the start, was grounded on the whole bowl it lies
    # in at the end (42.8 cm off at the start, sized like the bowl); a place that looks the same at the end is taken
    frames[-1] = frames[0]
    asked.clear()
    found = {"green_block": (0, seen(100, 103, 50, 55)), "purple_cup": (0, seen(80, 130, 40, 90))}
    _prefer_unhidden(frames, named, found, ground_at)
    assert asked == [(9, ["green_block"], 1)]
