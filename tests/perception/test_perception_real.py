"""The real clips in ../shared/data/real (skipped where absent): a plausible scene or a clear per-stage failure.

Plausible: the named objects found, sizes within a factor of 2 of the real ones (that folder's README), and for
the RGB-D clip the plush toy ending inside the bin, also once the scene is replayed in the simulator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from video2policy.tools.perception import PerceptionError, perceive
from video2policy.tools.sim.replay import replay

ROOT = Path(__file__).resolve().parents[2]
REAL_DATA = ROOT.parent / "shared" / "data" / "real"
pytestmark = pytest.mark.skipif(not REAL_DATA.is_dir(), reason=f"no real clips at {REAL_DATA}")


def within_factor_two(measured: float, real: float) -> bool:
    return real / 2 <= measured <= 2 * real


@pytest.mark.slow
def test_plush_into_bin_with_depth(tmp_path: Path) -> None:
    clip = REAL_DATA / "plush_into_bin"
    try:
        scene = perceive(
            clip / "rgb",
            "Putting [plush toy] into [bin]",
            None,
            tmp_path,
            depth_dir=clip / "depth",
            intrinsics=(527.887, 524.794, 321.715, 230.282),
        )
    except PerceptionError as exc:  # a clear per-stage failure is an allowed outcome; it must say where
        assert exc.stage and (tmp_path / "failure.json").is_file()
        pytest.xfail(str(exc))
    plush, bin_ = scene.object("plush_toy"), scene.object("bin")
    assert within_factor_two(max(plush.size), 0.25)
    assert 0.1 < max(bin_.size) < 0.8  # the README gives no size for the bin: a plastic tub
    half = np.array(bin_.size[:2]) / 2 + 0.03
    offset = np.abs(np.subtract(plush.last.position[:2], bin_.last.position[:2]))
    assert (offset <= half).all(), (plush.last.position, bin_.last.position, bin_.size)
    assert np.linalg.norm(np.subtract(plush.first.position[:2], plush.last.position[:2])) > 0.15  # it moved
    assert scene.camera.intrinsics_source == "given"
    # in the simulator the toy sits in the open bin, not on top of it (a solid bin held it above its rim)
    settled = replay(scene, tmp_path).settled["last"]
    toy, tub = settled["plush_toy"][:3], settled["bin"][:3]
    assert (np.abs(toy[:2] - tub[:2]) <= np.array(bin_.size[:2]) / 2).all(), (toy, tub)
    assert toy[2] - plush.size[2] / 2 < tub[2] + bin_.size[2] / 2, (toy, tub)


def test_cups_shell_game_without_depth(tmp_path: Path) -> None:
    try:
        scene = perceive(
            REAL_DATA / "cups_shell_game.mp4", "Covering [ball] with [cup]", None, tmp_path, options=_small()
        )
    except PerceptionError as exc:
        assert exc.stage and (tmp_path / "failure.json").is_file()
        pytest.xfail(str(exc))
    ball, cup = scene.object("ball"), scene.object("cup")
    assert within_factor_two(max(ball.size), 0.04)
    assert within_factor_two(cup.size[2], 0.12) and within_factor_two(max(cup.size[:2]), 0.09)
    assert scene.camera.intrinsics_source == "default"  # estimated from priors, and said so
    assert any("prior" in w for w in scene.provenance.warnings)


def _small():
    from video2policy.tools.perception import PerceptionOptions

    return PerceptionOptions(max_side=320, stride=5)
