"""Facts the agents read about a scene: objects, first/last poses and their differences, and video key frames.

The differences are computed here, not by a model: "block moved 0.30 m to the left (-x)" is arithmetic, and the
paper's prompts give the coder exactly these tracked first/last states.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from video2policy.scene import SceneSpec

AXES = (("right", "left"), ("away from the camera", "towards the camera"), ("up", "down"))


def _direction(delta: np.ndarray, threshold: float = 0.02) -> str:
    words = [
        AXES[i][0 if d > 0 else 1] + f" ({'+' if d > 0 else '-'}{'xyz'[i]}) by {abs(d):.2f} m"
        for i, d in enumerate(delta)
        if abs(d) >= threshold
    ]
    return ", ".join(words) if words else "no clear translation"


def _angle(q1: tuple[float, ...], q2: tuple[float, ...]) -> float:
    dot = abs(sum(a * b for a, b in zip(q1, q2, strict=False)))
    return math.degrees(2 * math.acos(min(1.0, dot)))


def scene_facts(scene: SceneSpec, tracking: bool = True) -> dict[str, Any]:
    """Objects with sizes, and (with tracking) first/last poses, per-object changes and pairwise relations."""
    objects = [
        {"name": o.name, "label": o.label or o.name, "shape": o.shape, "size": [round(v, 3) for v in o.size]}
        for o in scene.objects
    ]
    facts: dict[str, Any] = {
        "caption": scene.caption,
        "objects": objects,
        "table_size": list(scene.table.size),
        "tracking": tracking,
        "changes": [],
        "relations": [],
    }
    if not tracking:
        return facts
    for obj, entry in zip(scene.objects, objects, strict=False):
        if obj.first is None or obj.last is None:
            continue
        first, last = np.array(obj.first.position), np.array(obj.last.position)
        delta = last - first
        entry["first"] = [round(v, 3) for v in first]
        entry["last"] = [round(v, 3) for v in last]
        facts["changes"].append(
            {
                "object": obj.name,
                "delta": [round(v, 3) for v in delta],
                "distance": round(float(np.linalg.norm(delta)), 3),
                "direction": _direction(delta),
                "rotation_deg": round(_angle(obj.first.quat, obj.last.quat), 1),
                "lifted": bool(delta[2] > 0.03),
            }
        )
    posed = [o for o in scene.objects if o.first is not None and o.last is not None]
    for i, a in enumerate(posed):
        for b in posed[i + 1 :]:
            for when in ("first", "last"):
                pa, pb = np.array(getattr(a, when).position), np.array(getattr(b, when).position)
                facts["relations"].append(
                    {
                        "when": when,
                        "a": a.name,
                        "b": b.name,
                        "offset": [round(v, 3) for v in pb - pa],
                        "distance": round(float(np.linalg.norm(pb - pa)), 3),
                        "b_relative_to_a": _direction(pb - pa),
                    }
                )
    return facts


def video_path(scene: SceneSpec, scene_path: Path) -> Path | None:
    if scene.video is None:
        return None
    path = Path(scene.video.path)
    path = path if path.is_absolute() else scene_path.parent / path
    return path if path.is_file() else None


def key_frames(video: Path, out_dir: Path, count: int = 3, max_side: int = 512) -> list[str]:
    """`count` evenly spaced frames (first and last included) as JPEG files; [] when the video cannot be read."""
    import av
    import cv2

    out_dir.mkdir(parents=True, exist_ok=True)
    done = sorted(out_dir.glob("frame_*.jpg"))
    if len(done) == count:
        return [str(p) for p in done]
    try:
        with av.open(str(video)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    except (av.error.FFmpegError, OSError, ValueError):
        return []
    if not frames:
        return []
    picks = sorted({round(i * (len(frames) - 1) / max(count - 1, 1)) for i in range(count)})
    paths = []
    for j, idx in enumerate(picks):
        frame = frames[idx]
        scale = max_side / max(frame.shape[:2])
        if scale < 1:
            frame = cv2.resize(frame, (round(frame.shape[1] * scale), round(frame.shape[0] * scale)))
        path = out_dir / f"frame_{j}_{idx:05d}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
        paths.append(str(path))
    return paths
