"""The `models` backend with tiny random Grounding DINO, SAM 2 video and Depth Anything models.

No weights can be downloaded, so each model is built from a tiny configuration, saved with save_pretrained (model
and processor) to a temporary folder, and then loaded and run by the real code through `perceive(...)` on a small
synthetic clip. Random weights find nothing meaningful: the tests check types, shapes, provenance and errors.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from video2policy.scene import SceneSpec
from video2policy.tools.perception import PerceptionError, PerceptionOptions, perceive
from video2policy.tools.perception import models as pm
from video2policy.tools.perception.backends import DepthEstimate
from video2policy.tools.perception.caption import NamedObject
from video2policy.tools.perception.ground import Grounding
from video2policy.tools.perception.store import StageStore
from video2policy.tools.perception.track import Tracks
from video2policy.tools.perception.video import load_video

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

CAPTION = "Pushing [teal block] from right to left"
STRIDE = 2  # 15 of the clip's 30 frames: enough for tracking both ways, half the CPU time
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "teal", "block", "red", "cup", "ball", "the", "a"]


def _grounding_dino(folder: Path) -> None:
    from transformers import (
        BertConfig,
        BertTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoProcessor,
        SwinConfig,
    )
    from transformers.models.grounding_dino.image_processing_pil_grounding_dino import (
        GroundingDinoImageProcessorPil,
    )

    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(VOCAB))
    swin = SwinConfig(
        image_size=64, patch_size=4, embed_dim=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1], window_size=4,
        out_indices=[2, 3, 4],
    )  # fmt: skip
    bert = BertConfig(
        vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
        max_position_embeddings=64,
    )  # fmt: skip
    config = GroundingDinoConfig(
        backbone_config=swin, text_config=bert, num_queries=20, encoder_layers=1, decoder_layers=2, d_model=32,
        encoder_ffn_dim=32, decoder_ffn_dim=32, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_n_points=1, decoder_n_points=1, max_text_len=32,
    )  # fmt: skip
    torch.manual_seed(0)
    GroundingDinoForObjectDetection(config).save_pretrained(folder)
    processor = GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessorPil(size={"shortest_edge": 64, "longest_edge": 96}),
        tokenizer=BertTokenizer(str(folder / "vocab.txt")),
    )
    processor.save_pretrained(folder)


def _sam2_video(folder: Path) -> None:
    from transformers import Sam2VideoConfig, Sam2VideoModel

    S, H = 128, 128  # image size; hidden size (must be a multiple of SAM 2's fixed 64-channel memory)
    hiera = dict(
        model_type="sam2_hiera_det_model", image_size=[S, S], hidden_size=8, blocks_per_stage=[1, 1, 2, 1],
        embed_dim_per_stage=[8, 16, 32, 64], num_attention_heads_per_stage=[1, 1, 1, 1],
        window_size_per_stage=[4, 4, 4, 2], global_attention_blocks=[3],
        window_positional_embedding_background_size=[4, 4],
    )  # fmt: skip
    config = Sam2VideoConfig(
        vision_config=dict(
            model_type="sam2_vision_model", backbone_config=hiera, backbone_channel_list=[64, 32, 16, 8],
            backbone_feature_sizes=[[S // 4, S // 4], [S // 8, S // 8], [S // 16, S // 16]], fpn_hidden_size=H,
        ),
        prompt_encoder_config=dict(hidden_size=H, image_size=S, patch_size=16, mask_input_channels=4),
        mask_decoder_config=dict(
            hidden_size=H, mlp_dim=64, num_hidden_layers=2, num_attention_heads=2, iou_head_hidden_dim=H
        ),
        image_size=S, num_maskmem=3, memory_attention_hidden_size=H, memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=64, memory_attention_rope_feat_sizes=[S // 16, S // 16],
        memory_encoder_hidden_size=H, memory_encoder_output_channels=64, mask_downsampler_embed_dim=H,
        memory_fuser_embed_dim=H, memory_fuser_intermediate_dim=64, memory_fuser_num_layers=1,
    )  # fmt: skip
    torch.manual_seed(0)
    Sam2VideoModel(config).save_pretrained(folder)


def _depth_anything(folder: Path, kind: str = "metric") -> None:
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config
    from transformers.models.dpt.image_processing_pil_dpt import DPTImageProcessorPil

    dinov2 = Dinov2Config(
        image_size=28, patch_size=14, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        out_features=["stage1", "stage2"], reshape_hidden_states=False,
    )  # fmt: skip
    config = DepthAnythingConfig(
        backbone_config=dinov2, reassemble_hidden_size=16, patch_size=14, neck_hidden_sizes=[8, 16],
        fusion_hidden_size=8, head_hidden_size=8, reassemble_factors=[2, 1], depth_estimation_type=kind, max_depth=5,
    )  # fmt: skip
    torch.manual_seed(0)
    DepthAnythingForDepthEstimation(config).save_pretrained(folder)
    DPTImageProcessorPil(
        size={"height": 56, "width": 56}, keep_aspect_ratio=True, ensure_multiple_of=14, do_pad=False
    ).save_pretrained(folder)


def _depth_pro(folder: Path, fov: bool = True) -> None:
    from transformers import DepthProConfig, DepthProForDepthEstimation

    def dinov2() -> dict:
        return dict(
            model_type="dinov2", image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=2,
            num_attention_heads=2, intermediate_size=32,
        )  # fmt: skip

    config = DepthProConfig(
        image_model_config=dinov2(),
        patch_model_config=dinov2(),
        fov_model_config=dinov2(),
        fusion_hidden_size=16,
        patch_size=32,
        intermediate_hook_ids=[1, 0],
        intermediate_feature_dims=[8, 8],
        scaled_images_feature_dims=[16, 16, 8],
        use_fov_model=fov,
        num_fov_head_layers=1,
    )  # fmt: skip  (input side = patch_size / smallest scale ratio 0.25 = 128 pixels)
    torch.manual_seed(0)
    model = DepthProForDepthEstimation(config)
    with torch.no_grad():  # known outputs, so the conversion to metres can be checked: inverse depth 0.5, fov 60 deg
        model.head.layers[4].weight.zero_()
        model.head.layers[4].bias.fill_(0.5)
        if fov:
            model.fov_model.head.layers[2].weight.zero_()
            model.fov_model.head.layers[2].bias.fill_(60.0)
    model.save_pretrained(folder)


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("weights")
    _grounding_dino(root / "grounding_dino")
    _sam2_video(root / "sam2")
    _depth_anything(root / "depth")
    return {key: str(root / key) for key in ("grounding_dino", "sam2", "depth")}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    from video2policy.plugins import load_behaviors
    from video2policy.plugins.synth import synthesize

    out = tmp_path_factory.mktemp("synth")
    synthesize(load_behaviors().get("push_left"), 0, out, size=(160, 120))
    return out / "video.mp4"


@pytest.fixture(autouse=True)
def _no_user_settings(monkeypatch, tmp_path) -> None:
    """Settings come only from what a test sets: no V2P_PERCEPTION_* variables, no v2p.toml."""
    for name in list(os.environ):
        if name.startswith("V2P_PERCEPTION_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _stage(out: Path, stage: str) -> tuple[dict, dict[str, np.ndarray]]:
    """A stage's cached record and arrays, read the way the pipeline reads them on a resume."""
    record = json.loads((out / "stages" / f"{stage}.json").read_text())
    return StageStore(out).load(stage, record["key"])


def _options(weights: dict[str, str]) -> PerceptionOptions:
    return PerceptionOptions(model_paths=dict(weights), device="cpu", stride=STRIDE)


@pytest.mark.slow  # ~8 s alone (transformers import, three model loads); over 20 s on a busy 2-core machine
def test_each_model_stage_returns_the_classical_types(weights, clip) -> None:
    frames = load_video(clip, max_side=160, stride=STRIDE)
    T, H, W = frames.frames.shape[:3]
    opts = _options(weights)
    found, why = pm.ground(frames.frames[0], [NamedObject("teal_block", "teal block")], opts, frames.scale)
    assert set(found) | set(why) == {"teal_block"}
    for g in found.values():
        assert isinstance(g, Grounding) and g.mask.shape == (H, W) and g.mask.dtype == bool and g.mask.any()
        assert "Grounding DINO" in g.method and g.method.endswith(("SAM 2", "GrabCut", "the box itself"))
        x0, y0, x1, y1 = g.box
        assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
    key = np.zeros((H, W), bool)
    key[50:80, 60:100] = True
    points = pm.positive_points(key)
    assert points.shape == (5, 2) and key[points[:, 1].astype(int), points[:, 0].astype(int)].all()
    assert len({tuple(p) for p in points.round(1)}) == 5  # spread, not one point five times
    ticks: list[tuple[int, int]] = []
    tracks = pm.segment(frames, {0: (T - 1, key, key)}, opts, lambda d, n: ticks.append((d, n)))
    assert isinstance(tracks, Tracks)
    assert tracks.masks.shape == (T, 1, H, W) and tracks.masks.dtype == bool
    assert tracks.confidence.shape == (T, 1) and tracks.seen.shape == (T, 1) and tracks.seen.dtype == bool
    assert ((tracks.confidence >= 0) & (tracks.confidence <= 1)).all()
    assert ticks[-1] == (T, T)  # every frame of the one object reported, from the last frame backwards
    assert all(n.startswith("object 0:") for n in tracks.notes)
    estimate = pm.estimate_depth(frames, [0, T - 1], opts)
    assert isinstance(estimate, DepthEstimate) and sorted(estimate.depth) == [0, T - 1]
    for d in estimate.depth.values():
        assert d.shape == (H, W) and d.dtype == np.float32 and np.isfinite(d).all() and (d > 0).all()
    assert estimate.focal_px is None and "Depth Anything" in estimate.model


@pytest.mark.slow  # ~5 s alone, far more under load
def test_perceive_runs_the_models_for_ground_and_segment(weights, clip, tmp_path) -> None:
    out = tmp_path / "out"
    try:
        scene = perceive(clip, CAPTION, None, out, backend="ground=models,segment=models", options=_options(weights))
    except PerceptionError as exc:  # random weights: the later classical stages may reject the random masks
        assert exc.stage in ("mesh", "scale", "pose"), exc
        scene = None
    ground = json.loads((out / "stages" / "ground.json").read_text())
    assert ground["provenance"]["backend"] == "models"
    method = ground["data"]["objects"]["teal_block"]["method"]
    assert method.startswith("Grounding DINO 'teal block' + ")
    record, arrays = _stage(out, "segment")
    T = arrays["seen"].shape[0]
    assert T == 15 and arrays["masks"].shape == (T, 1, 120, 160) and arrays["masks"].dtype == bool
    assert record["provenance"]["backend"] == "models"
    assert record["provenance"]["objects"]["teal_block"]["seen_frames"] == int(arrays["seen"].sum())
    if scene is not None:
        assert scene.provenance.stages["segment"]["backend"] == "models"
        assert len(scene.objects[0].poses) == T


def test_depth_model_through_perceive(weights, clip, tmp_path) -> None:
    out = tmp_path / "out"
    try:
        perceive(clip, CAPTION, None, out, backend="depth=models", options=_options(weights))
    except PerceptionError as exc:  # a constant random depth map may leave no table to find: fine, after depth
        assert exc.stage != "depth", exc
    record, arrays = _stage(out, "depth")
    assert record["provenance"]["backend"] == "models" and record["provenance"]["depth_source"] == "model"
    assert any("Depth Anything" in note for note in record["provenance"]["notes"])
    assert (
        sorted(arrays) == sorted(f"depth_{t}" for t in record["data"]["model_depth_frames"]) == ["depth_0", "depth_14"]
    )
    assert all(a.shape == (120, 160) and (a > 0).all() for a in arrays.values())


def test_an_object_the_detector_cannot_find_fails_at_ground_naming_it(weights, clip, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("V2P_PERCEPTION_BOX_THRESHOLD", "1.01")  # no score reaches it: nothing is found
    out = tmp_path / "out"
    with pytest.raises(PerceptionError) as err:
        perceive(clip, CAPTION, None, out, backend="ground=models", options=_options(weights))
    assert err.value.stage == "ground" and err.value.object == "teal_block"
    assert "Grounding DINO found no box for 'teal block'" in err.value.message
    assert "perception_box_threshold=1.01" in err.value.message
    report = json.loads((out / "failure.json").read_text())
    assert report["stage"] == "ground" and "depth" in report["completed_stages"]  # partial results kept


def test_missing_or_wrong_weights_are_clear_errors(weights, clip, tmp_path, monkeypatch) -> None:
    with pytest.raises(PerceptionError) as err:
        perceive(clip, CAPTION, None, tmp_path / "a", backend="ground=models", options=PerceptionOptions())
    assert err.value.stage == "ground" and "perception_grounding_model" in err.value.message
    assert "V2P_PERCEPTION_GROUNDING_MODEL" in err.value.message

    monkeypatch.setenv("V2P_PERCEPTION_SAM2_MODEL", str(tmp_path))  # from settings; a folder with no config.json
    with pytest.raises(PerceptionError) as err:
        pm.segment(load_video(clip), {0: (0, np.ones((120, 160), bool), None)}, PerceptionOptions(), None)
    assert err.value.stage == "segment" and "perception_sam2_model" in err.value.message
    assert "no config.json" in err.value.message

    wrong = PerceptionOptions(model_paths={"depth": weights["sam2"]})  # a SAM 2 folder named as the depth model
    with pytest.raises(PerceptionError) as err:
        perceive(clip, CAPTION, None, tmp_path / "b", backend="depth=models", options=wrong)
    assert err.value.stage == "depth" and "model_type 'sam2_video'" in err.value.message

    relative = tmp_path / "relative"
    _depth_anything(relative, kind="relative")
    with pytest.raises(PerceptionError) as err:
        pm.estimate_depth(load_video(clip), [0], PerceptionOptions(model_paths={"depth": str(relative)}))
    assert err.value.stage == "depth" and "metric" in err.value.message


def test_device_setting(monkeypatch) -> None:
    monkeypatch.setenv("V2P_PERCEPTION_DEVICE", "auto")
    assert pm.device_for(PerceptionOptions(), "ground") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(PerceptionError) as err:
            pm.device_for(PerceptionOptions(device="cuda"), "segment")
        assert err.value.stage == "segment" and "CUDA" in err.value.message


def test_depth_pro_gives_metres_and_a_focal_length(weights, clip, tmp_path, monkeypatch) -> None:
    _depth_pro(tmp_path / "depth_pro")
    frames = load_video(clip, max_side=160, stride=STRIDE)
    opts = PerceptionOptions(model_paths={"depth": str(tmp_path / "depth_pro")})
    estimate = pm.estimate_depth(frames, [0], opts)
    focal = 80 / np.tan(np.radians(30))  # half the working width over tan(half the 60 deg field of view)
    assert estimate.model.startswith("Depth Pro") and estimate.focal_px == pytest.approx(focal, rel=1e-4)
    # Depth Pro's canonical inverse depth c means depth = focal / (c * width) metres
    assert estimate.depth[0].shape == (120, 160)
    np.testing.assert_allclose(estimate.depth[0], focal / (0.5 * 160), rtol=1e-4)
    out = tmp_path / "out"
    camera = SceneSpec.load(clip.parent / "gt.json").camera  # its pose: a constant depth map holds no table plane
    monkeypatch.setenv("V2P_PERCEPTION_BOX_THRESHOLD", "1.01")  # stop at ground, right after the depth stage
    both = PerceptionOptions(model_paths={**weights, "depth": str(tmp_path / "depth_pro")})
    with pytest.raises(PerceptionError, match="stage 'ground'"):
        perceive(clip, CAPTION, None, out, backend="depth=models,ground=models", options=both, camera=camera)
    record, _ = _stage(out, "depth")
    assert record["provenance"]["intrinsics_source"] == "estimated"
    assert any("estimated by Depth Pro" in note for note in record["provenance"]["notes"])

    _depth_pro(tmp_path / "no_fov", fov=False)
    with pytest.raises(PerceptionError) as err:
        pm.estimate_depth(frames, [0], PerceptionOptions(model_paths={"depth": str(tmp_path / "no_fov")}))
    assert err.value.stage == "depth" and "--intrinsics" in err.value.message
    given = PerceptionOptions(model_paths={"depth": str(tmp_path / "no_fov")}, intrinsics=(150.0, 150.0, 80.0, 60.0))
    estimate = pm.estimate_depth(frames, [0], given)  # the given focal length is used, not estimated
    assert estimate.focal_px is None
    np.testing.assert_allclose(estimate.depth[0], 150.0 / (0.5 * 160), rtol=1e-4)


def test_configured_paths_prefer_options_over_settings(monkeypatch) -> None:
    monkeypatch.setenv("V2P_PERCEPTION_SAM2_MODEL", "/weights/sam2")
    monkeypatch.setenv("V2P_PERCEPTION_DEPTH_MODEL", "/weights/depth")
    paths = pm.configured_paths(PerceptionOptions(model_paths={"depth": "/mine/depth"}))
    assert paths == {"grounding_dino": None, "sam2": "/weights/sam2", "depth": "/mine/depth"}
