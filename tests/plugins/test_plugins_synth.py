"""`v2p synth`: video, gt.json (a valid SceneSpec with per-frame poses), depth and masks that agree."""

from __future__ import annotations

import json
import subprocess
import sys

import av
import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from video2policy.scene import SceneSpec


def project(scene: SceneSpec, point) -> tuple[float, float, float]:
    """Table-frame point -> (u, v, depth) with the OpenCV-convention camera in gt.json."""
    cam = scene.camera
    w, x, y, z = cam.quat
    rot = Rotation.from_quat([x, y, z, w]).as_matrix()
    p = rot.T @ (np.asarray(point) - np.asarray(cam.position))
    k = cam.intrinsics
    return k.fx * p[0] / p[2] + k.cx, k.fy * p[1] / p[2] + k.cy, p[2]


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "cover"
    cmd = [sys.executable, "-m", "video2policy.cli.main", "synth", "cover", "--seed", "4", "--out", str(out),
           "--size", "160x120", "--fps", "12", "--depth", "--masks", "--distractors", "1", "--json"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["success"] is True
    return out


def test_gt_is_a_valid_scene_with_poses_for_every_frame(synth_dir):
    scene = SceneSpec.load(synth_dir / "gt.json")
    assert scene.behavior == "cover" and scene.caption.startswith("Covering [")
    assert len(scene.objects) == 3
    n = scene.video.frame_count
    for obj in scene.objects:
        assert [p.frame for p in obj.poses] == list(range(n))
        assert obj.first == obj.poses[0] and obj.last == obj.poses[-1]
    cup = next(o for o in scene.objects if o.label.endswith("cup"))
    assert cup.shape == "mesh" and cup.collision and (synth_dir / cup.mesh).is_file()
    stage = scene.provenance.stages["synth"]
    assert stage["roles"]["cover"] == cup.name and stage["success"] is True
    k = scene.camera.intrinsics
    assert (k.width, k.height, k.cx, k.cy) == (160, 120, 80.0, 60.0)


def test_video_is_readable_and_matches_gt(synth_dir):
    scene = SceneSpec.load(synth_dir / "gt.json")
    with av.open(str(synth_dir / "video.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == scene.video.frame_count
    assert frames[0].shape == (120, 160, 3)
    assert frames[0].std() > 10  # not a blank image
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 1  # something moved


def test_objects_are_visible_in_the_first_frame_where_the_camera_says(synth_dir):
    scene = SceneSpec.load(synth_dir / "gt.json")
    mask = cv2.imread(str(synth_dir / "masks" / "00000.png"), cv2.IMREAD_UNCHANGED)
    depth = cv2.imread(str(synth_dir / "depth" / "00000.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == depth.shape == (120, 160) and depth.dtype == np.uint16
    for label, obj in enumerate(scene.objects, start=1):
        pixels = np.argwhere(mask == label)
        assert len(pixels) >= 30, f"{obj.name} shows {len(pixels)} pixels in the first frame"
        u, v, z = project(scene, obj.first.position)
        assert 0 <= u < 160 and 0 <= v < 120, f"{obj.name} projects outside the image"
        centroid = pixels.mean(axis=0)[::-1]  # (u, v)
        assert np.linalg.norm(centroid - [u, v]) < 20, f"{obj.name}: mask centroid {centroid} vs projection {(u, v)}"
        measured = np.median(depth[mask == label]) / 1000.0
        assert abs(measured - z) < 0.06, f"{obj.name}: depth {measured:.3f} m vs camera distance {z:.3f} m"


def test_bad_arguments_are_clear_errors(tmp_path):
    base = [sys.executable, "-m", "video2policy.cli.main", "synth"]
    proc = subprocess.run([*base, "push_left", "--out", str(tmp_path), "--size", "big"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--size must be WxH" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([*base, "juggle", "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "no behavior named 'juggle'" in proc.stderr


def test_the_same_frames_always_encode_to_the_same_video(tmp_path):
    """Benchmark clips must be reproducible: x264's macroblock tree had read stale memory, so the same frames gave a
    different video once the process had decoded one (this clip's frames encoded five times, a decode between each:
    five different files)."""
    from video2policy.tools.sim.render import VideoWriter

    out = tmp_path / "tip_over"
    cmd = [sys.executable, "-m", "video2policy.cli.main", "synth", "tip_over", "--seed", "1", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with av.open(str(out / "video.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    encoded = []
    for k in range(4):
        with VideoWriter(tmp_path / f"{k}.mp4", fps=15) as video:
            for frame in frames:
                video.write(frame)
        with av.open(str(tmp_path / f"{k}.mp4")) as container:
            assert sum(1 for _ in container.decode(video=0)) == len(frames)
        encoded.append((tmp_path / f"{k}.mp4").read_bytes())
    assert all(e == encoded[0] for e in encoded[1:])
