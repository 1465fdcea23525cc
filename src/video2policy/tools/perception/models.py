"""The `models` backend: Grounding DINO (ground), SAM 2 video (segment), Depth Anything metric or Depth Pro (depth).

Each function returns what its classical stage returns, so a run may mix backends per stage:
- ground(image, objects, opts, scale) -> (dict name -> ground.Grounding, dict name -> why it was not found)
- segment(clip, key_masks, opts, progress) -> track.Tracks
- estimate_depth(clip, frames, opts) -> backends.DepthEstimate

Weights come from local folders written by `save_pretrained` (nothing is downloaded): PerceptionOptions.model_paths
(keys grounding_dino, sam2, depth) wins, else the settings perception_grounding_model, perception_sam2_model and
perception_depth_model (V2P_* variables or v2p.toml). No torchvision: Grounding DINO and Depth Anything use their
PIL image processors (transformers picks them when torchvision is absent); SAM 2's and Depth Pro's processors need
torchvision, so their preprocessing (square resize, normalisation, SAM 2's prompt coordinates scaled to its input
size) and post-processing (mask upsampling; Depth Pro's inverse depth to metres with its field of view) are done
here with OpenCV and torch, SAM 2's lazily one frame at a time to keep memory flat.
As in the paper, SAM 2 is prompted with each object's box and five positive points from its key-frame mask.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from video2policy.tools.perception.errors import PerceptionError
from video2policy.tools.perception.ground import Grounding
from video2policy.tools.perception.track import Tracks, seeded_grabcut

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
POSITIVE_POINTS = 5  # per object, with its box, as the paper prompts SAM 2
SAME_BOX_IOU = 0.8  # a box this close to one another object took is not offered again

# option key -> (setting, stage, what the folder must hold)
_WEIGHTS = {
    "grounding_dino": ("perception_grounding_model", "ground", "Grounding DINO"),
    "sam2": ("perception_sam2_model", "segment", "SAM 2 video"),
    "depth": ("perception_depth_model", "depth", "Depth Anything (metric) or Depth Pro"),
}


# --- settings, devices and loading ----------------------------------------------------------------------------


def _settings():
    from video2policy.settings import load_settings

    return load_settings()


def weights_path(opts, key: str, stage: str | None = None, required: bool = True) -> Path | None:
    """The local folder for `key`, from the options or the settings; a clear error naming the setting if unusable."""
    setting, default_stage, model = _WEIGHTS[key]
    stage = stage or default_stage
    raw = (getattr(opts, "model_paths", None) or {}).get(key) or getattr(_settings(), setting)
    env = f"V2P_{setting.upper()}"
    if not raw:
        if not required:
            return None
        raise PerceptionError(
            stage,
            None,
            f"the 'models' backend needs {model} weights: set {setting} ({env} or v2p.toml) to a local folder "
            f"written by save_pretrained, or use --backend classical (or {stage}=classical)",
        )
    path = Path(raw).expanduser()
    if not (path / "config.json").is_file():
        raise PerceptionError(
            stage, None, f"{setting} = {raw!r}: no config.json there; expected a {model} folder from save_pretrained"
        )
    return path


def configured_paths(opts=None) -> dict[str, str | None]:
    """Every weights folder the models backend would use (options first, then settings), e.g. for cache keys."""
    given = (getattr(opts, "model_paths", None) or {}) if opts is not None else {}
    settings = _settings()
    return {key: given.get(key) or getattr(settings, setting) for key, (setting, _, _) in _WEIGHTS.items()}


def device_for(opts, stage: str) -> str:
    """opts.device when it names an accelerator, else the perception_device setting; 'auto' = cuda if available."""
    import torch

    choice = getattr(opts, "device", "cpu")
    if choice in (None, "", "cpu", "auto"):
        choice = _settings().perception_device or "auto"
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice.startswith("cuda") and not torch.cuda.is_available():
        raise PerceptionError(stage, None, f"device {choice!r} asked for, but torch sees no CUDA device")
    return choice


def _model_type(path: Path) -> str:
    return json.loads((path / "config.json").read_text()).get("model_type", "")


def _load_failure(stage: str, model: str, path: Path, exc: Exception) -> PerceptionError:
    return PerceptionError(stage, None, f"cannot load {model} from {path}: {type(exc).__name__}: {exc}")


@functools.lru_cache(maxsize=2)
def _grounding_dino(path: str, device: str):
    from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

    model = AutoModelForZeroShotObjectDetection.from_pretrained(path).to(device).eval()
    return model, AutoProcessor.from_pretrained(path)


@functools.lru_cache(maxsize=2)
def _sam2_video(path: str, device: str):
    from transformers import Sam2VideoModel

    return Sam2VideoModel.from_pretrained(path).to(device).eval()


@functools.lru_cache(maxsize=2)
def _depth_anything(path: str, device: str):
    from transformers import AutoImageProcessor, DepthAnythingForDepthEstimation

    model = DepthAnythingForDepthEstimation.from_pretrained(path).to(device).eval()
    return model, AutoImageProcessor.from_pretrained(path)


def _load(stage: str, key: str, loader: Callable, path: Path, device: str, types: tuple[str, ...]):
    model = _WEIGHTS[key][2]
    found = _model_type(path)
    if found not in types:
        raise PerceptionError(
            stage, None, f"{_WEIGHTS[key][0]} = {path}: model_type {found!r}, expected {' or '.join(types)} ({model})"
        )
    try:
        return loader(str(path), device)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, ImportError) as exc:
        raise _load_failure(stage, model, path, exc) from None


# --- ground: Grounding DINO boxes, SAM 2 (or GrabCut) masks -----------------------------------------------------


def ground(image: np.ndarray, objects, opts, scale: float) -> tuple[dict[str, Grounding], dict[str, str]]:
    """A box per named object from Grounding DINO (one text query per name), turned into a mask.

    The mask comes from SAM 2 prompted with the box when perception_sam2_model is set, else from GrabCut inside
    the box. A box hint (--hint name=x0,y0,x1,y1) replaces the detector; a colour hint is prepended to the query.
    """
    import torch

    path = weights_path(opts, "grounding_dino", "ground")
    device = device_for(opts, "ground")
    model, processor = _load(
        "ground", "grounding_dino", _grounding_dino, path, device, ("grounding-dino", "mm-grounding-dino")
    )
    settings = _settings()
    box_t, text_t = settings.perception_box_threshold, settings.perception_text_threshold
    h, w = image.shape[:2]
    pil = _pil(image)
    boxes: dict[str, tuple[tuple[int, int, int, int], float, str]] = {}
    why: dict[str, str] = {}
    for obj in objects:
        hint = (getattr(opts, "hints", None) or {}).get(obj.name)
        if isinstance(hint, tuple):
            box = _clip_box([v * scale for v in hint], w, h)
            boxes[obj.name] = (box, 1.0, "hint box")
            continue
        query = f"{hint} {obj.label}" if isinstance(hint, str) else obj.label
        inputs = processor(images=pil, text=_query(query), return_tensors="pt").to(device)
        with torch.inference_mode():
            outputs = model(**inputs)
        result = processor.post_process_grounded_object_detection(
            outputs, inputs["input_ids"], threshold=0.0, text_threshold=text_t, target_sizes=[(h, w)]
        )[0]
        scores = result["scores"].float().cpu().numpy()
        candidates = result["boxes"].float().cpu().numpy()
        taken = [b for b, _, _ in boxes.values()]
        best_seen = float(scores.max()) if len(scores) else 0.0
        for j in np.argsort(-scores):
            box = _clip_box(candidates[j], w, h)
            degenerate = box[2] - box[0] < 2 or box[3] - box[1] < 2
            if scores[j] >= box_t and not degenerate and all(_iou(box, o) <= SAME_BOX_IOU for o in taken):
                boxes[obj.name] = (box, float(scores[j]), f"Grounding DINO '{query}'")
                break
        if obj.name not in boxes:
            why[obj.name] = (
                f"Grounding DINO found no box for '{query}' scoring at least perception_box_threshold={box_t} "
                f"(best {best_seen:.2f}, {Path(path).name})"
            )
    found: dict[str, Grounding] = {}
    sam_path = weights_path(opts, "sam2", "ground", required=False)
    masks = _sam2_box_masks(image, boxes, sam_path, device) if sam_path and boxes else {}
    for name, (box, score, method) in boxes.items():
        mask, how = masks.get(name), "SAM 2"
        if mask is None or mask.sum() < 4:
            mask, how = _grabcut(image, box), "GrabCut"
        if mask.sum() < 4:
            mask, how = _box_mask(box, h, w), "the box itself"
        found[name] = Grounding(mask, _mask_box(mask), score, f"{method} + {how}", core=_core(mask))
    return found, why


def _query(label: str) -> str:
    """Grounding DINO wants lower-case phrases ending in a full stop."""
    text = " ".join(label.lower().split())
    return text if text.endswith(".") else text + "."


def _sam2_box_masks(image: np.ndarray, boxes: dict, path: Path, device: str) -> dict[str, np.ndarray]:
    model = _load("ground", "sam2", _sam2_video, path, device, ("sam2_video", "sam2"))
    names = list(boxes)
    prompts = {k: (boxes[n][0], np.zeros((0, 2))) for k, n in enumerate(names)}
    per_object = _sam2_track(model, image[None], 0, prompts, device, None)
    return {n: per_object[k][0][0] for k, n in enumerate(names)}


# --- segment: SAM 2 video with a box and five positive points per object ---------------------------------------


def segment(clip, key_masks: dict, opts, progress: Callable[[int, int], None] | None) -> Tracks:
    """Masks (T, K, H, W) from SAM 2 video, propagated both ways from each object's key frame.

    Where SAM 2 says the object is absent (object score <= 0) or gives an empty mask, the last mask seen is kept
    and the frame counts as not seen, as the classical tracker does for occlusions.
    """
    path = weights_path(opts, "sam2", "segment")
    device = device_for(opts, "segment")
    model = _load("segment", "sam2", _sam2_video, path, device, ("sam2_video", "sam2"))
    frames = clip.frames
    T, H, W = frames.shape[:3]
    K = len(key_masks)
    masks = np.zeros((T, K, H, W), bool)
    conf = np.zeros((T, K), np.float32)
    seen = np.zeros((T, K), bool)
    notes: list[str] = []
    by_frame: dict[int, dict[int, tuple]] = {}
    for k, (t0, mask, _core) in key_masks.items():
        if not mask.any():
            raise PerceptionError("segment", None, f"object {k}: the key-frame mask from grounding is empty")
        by_frame.setdefault(int(t0), {})[k] = (_mask_box(mask), positive_points(mask, POSITIVE_POINTS))
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, T * K)

    for t0, prompts in by_frame.items():
        tracked = _sam2_track(model, frames, t0, prompts, device, tick)
        for k, (probs, scores) in tracked.items():
            for t in _outward(t0, T):
                prev = t - 1 if t > t0 else t + 1
                present = scores[t] > 0 and probs[t].any()
                if present:
                    masks[t, k], seen[t, k] = probs[t], True
                    conf[t, k] = float(1 / (1 + np.exp(-scores[t])))
                else:
                    masks[t, k] = masks[prev, k] if t != t0 else key_masks[k][1]
                    conf[t, k] = 0.2 * float(1 / (1 + np.exp(-scores[t])))
    lost = (~seen).sum(axis=0)
    for k in range(K):
        if lost[k]:
            notes.append(f"object {k}: SAM 2 lost it in {int(lost[k])} of {T} frames (last mask kept)")
    return Tracks(masks, conf, seen, notes)


def _outward(t0: int, T: int) -> list[int]:
    """t0, then forward to the end, then backward to 0: each frame after the one it inherits a mask from."""
    return [t0, *range(t0 + 1, T), *range(t0 - 1, -1, -1)]


def positive_points(mask: np.ndarray, n: int = POSITIVE_POINTS) -> np.ndarray:
    """n (x, y) points well inside the mask: the deepest pixel, then farthest-point sampling over the interior."""
    dist = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    inner = dist >= max(1.0, 0.35 * float(dist.max()))
    ys, xs = np.nonzero(inner if inner.sum() >= n else mask)
    pts = np.stack([xs, ys], axis=1).astype(np.float32)
    chosen = [int(np.argmax(dist[ys, xs]))]
    gap = np.linalg.norm(pts - pts[chosen[0]], axis=1)
    while len(chosen) < min(n, len(pts)):
        j = int(np.argmax(gap))
        chosen.append(j)
        gap = np.minimum(gap, np.linalg.norm(pts - pts[j], axis=1))
    out = pts[chosen]
    if len(out) < n:  # tiny masks: repeat the deepest point
        out = np.concatenate([out, np.repeat(out[:1], n - len(out), axis=0)])
    return out + 0.5  # pixel centres


class _LazyFrames:
    """SAM 2's preprocessed frames, made when the model asks for them (a 1024² float frame is 12 MB)."""

    def __init__(self, frames: np.ndarray, size: int):
        self.frames, self.size = frames, size

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, t: int):
        import torch

        image = cv2.resize(self.frames[t], (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        image = (image.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


def _sam2_track(
    model, frames: np.ndarray, t0: int, prompts: dict, device: str, tick: Callable[[int], None] | None
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Prompt objects at frame t0 with a box and positive points; propagate forward then backward.

    prompts: object index -> (box x0,y0,x1,y1, points (n, 2) x,y) in working pixels.
    Returns object index -> (masks (T, H, W) bool, object score logits (T,)).
    """
    import torch
    from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession

    T, H, W = frames.shape[:3]
    size = int(model.config.image_size)
    session = Sam2VideoInferenceSession(
        video=None,
        video_height=H,
        video_width=W,
        inference_device=device,
        inference_state_device=device,
        video_storage_device="cpu",
        dtype=torch.float32,
    )
    session.processed_frames = _LazyFrames(frames, size)
    to_model = np.array([size / W, size / H], np.float32)
    for k, (box, points) in prompts.items():
        corners = np.array([[box[0], box[1]], [box[2], box[3]]], np.float32)
        coords = np.concatenate([corners, np.asarray(points, np.float32).reshape(-1, 2)]) * to_model
        labels = [2, 3] + [1] * (len(coords) - 2)
        idx = session.obj_id_to_idx(k)
        session.add_point_inputs(
            idx,
            t0,
            {
                "point_coords": torch.from_numpy(coords)[None, None].to(device),
                "point_labels": torch.tensor(labels, dtype=torch.int32)[None, None].to(device),
            },
        )
        session.remove_mask_inputs(idx, t0)
    session.obj_with_new_inputs = list(prompts)
    order = list(session.obj_ids)
    probs = {k: np.zeros((T, H, W), bool) for k in order}
    scores = {k: np.full(T, -1.0, np.float32) for k in order}

    def keep(out) -> None:
        t = int(out.frame_idx)
        logits = torch.nn.functional.interpolate(out.pred_masks.float(), (H, W), mode="bilinear", align_corners=False)
        masks = (logits[:, 0] > 0).cpu().numpy()
        obj_scores = out.object_score_logits.float().reshape(-1).cpu().numpy()
        for i, k in enumerate(out.object_ids):
            probs[k][t], scores[k][t] = masks[i], obj_scores[i]
        if tick:
            tick(len(out.object_ids))

    with torch.inference_mode():
        keep(model(inference_session=session, frame_idx=t0))
        if T > 1:
            for out in model.propagate_in_video_iterator(session, start_frame_idx=t0):
                if out.frame_idx != t0:
                    keep(out)
            for out in model.propagate_in_video_iterator(session, start_frame_idx=t0, reverse=True):
                if out.frame_idx != t0:
                    keep(out)
    return {k: (probs[k], scores[k]) for k in order}


# --- depth: Depth Anything (metric) or Depth Pro (metric depth and focal length) ---------------------------------


def estimate_depth(clip, frames: list[int], opts):
    """Metric depth (metres, working size) for the given frames, and the focal length when Depth Pro estimates it."""
    from video2policy.tools.perception.backends import DepthEstimate

    path = weights_path(opts, "depth", "depth")
    device = device_for(opts, "depth")
    if _model_type(path) == "depth_pro":
        model = _load("depth", "depth", _depth_pro, path, device, ("depth_pro",))
        depth, focal = _depth_pro_frames(model, path, clip, frames, opts, device)
        return DepthEstimate(depth=depth, focal_px=focal, model=f"Depth Pro ({path.name})")
    model, processor = _load("depth", "depth", _depth_anything, path, device, ("depth_anything", "depth_pro"))
    if getattr(model.config, "depth_estimation_type", "relative") != "metric":
        raise PerceptionError(
            "depth",
            None,
            f"perception_depth_model = {path}: a relative-depth Depth Anything; the pipeline needs metres "
            "(depth_estimation_type 'metric', e.g. Depth-Anything-V2-Metric-Indoor-*-hf)",
        )
    import torch

    H, W = clip.frames.shape[1:3]
    depth: dict[int, np.ndarray] = {}
    for t in frames:
        inputs = processor(images=_pil(clip.frames[t]), return_tensors="pt").to(device)
        with torch.inference_mode():
            outputs = model(**inputs)
        result = processor.post_process_depth_estimation(outputs, target_sizes=[(H, W)])[0]["predicted_depth"]
        depth[int(t)] = _usable(result.float().cpu().numpy().reshape(H, W), t, path)
    return DepthEstimate(depth=depth, focal_px=None, model=f"Depth Anything metric ({path.name})")


@functools.lru_cache(maxsize=2)
def _depth_pro(path: str, device: str):
    from transformers import DepthProForDepthEstimation

    return DepthProForDepthEstimation.from_pretrained(path).to(device).eval()


def _depth_pro_frames(model, path: Path, clip, frames: list[int], opts, device: str):
    """Depth Pro without its processor (which needs torchvision): resize to its square input, normalise to [-1, 1];
    its inverse depth becomes metres with the focal length from its field-of-view head, or from given intrinsics."""
    import torch

    cfg = model.config
    side = _processor_side(path) or round(cfg.patch_size / min(cfg.scaled_images_ratios))
    H, W = clip.frames.shape[1:3]
    given = getattr(opts, "intrinsics", None)
    if not cfg.use_fov_model and given is None:
        raise PerceptionError(
            "depth", None, f"{path.name}: Depth Pro without its field-of-view head needs --intrinsics for metric depth"
        )
    depth: dict[int, np.ndarray] = {}
    focals = []
    for t in frames:
        image = cv2.resize(clip.frames[t], (side, side), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        pixels = torch.from_numpy((image / 127.5 - 1.0).transpose(2, 0, 1)[None].copy()).to(device)
        with torch.inference_mode():
            out = model(pixel_values=pixels)
        if given is not None:
            focal = float(given[0]) * clip.scale
        else:
            fov = float(out.field_of_view.float().reshape(-1)[0])
            if not 1.0 < fov < 179.0:
                raise PerceptionError(
                    "depth", None, f"frame {t}: {path.name} estimated a field of view of {fov:.1f} deg"
                )
            focal = 0.5 * W / float(np.tan(np.radians(fov) / 2))
        focals.append(focal)
        canonical = out.predicted_depth.float().reshape(1, 1, *out.predicted_depth.shape[-2:]) * W / focal
        canonical = torch.nn.functional.interpolate(canonical, (H, W), mode="bilinear", align_corners=False)
        metres = 1.0 / torch.clamp(canonical[0, 0], min=1e-4, max=1e4)
        depth[int(t)] = _usable(metres.cpu().numpy(), t, path)
    return depth, (None if given is not None else float(np.median(focals)))


def _processor_side(path: Path) -> int | None:
    config = path / "preprocessor_config.json"
    if not config.is_file():
        return None
    size = json.loads(config.read_text()).get("size") or {}
    return int(size["height"]) if "height" in size else None


def _usable(depth: np.ndarray, t: int, path: Path) -> np.ndarray:
    if not np.isfinite(depth).all() or (depth <= 0).all():
        raise PerceptionError("depth", None, f"frame {t}: {path.name} returned no usable depth (non-finite or <= 0)")
    return depth.astype(np.float32)


# --- small helpers ---------------------------------------------------------------------------------------------


def _pil(image: np.ndarray):
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(image))


def _clip_box(box, w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return (
        int(np.clip(np.floor(x0), 0, w - 1)),
        int(np.clip(np.floor(y0), 0, h - 1)),
        int(np.clip(np.ceil(x1), 1, w)),
        int(np.clip(np.ceil(y1), 1, h)),
    )


def _iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _box_mask(box, h: int, w: int) -> np.ndarray:
    mask = np.zeros((h, w), bool)
    mask[box[1] : box[3], box[0] : box[2]] = True
    return mask


def _mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _core(mask: np.ndarray) -> np.ndarray:
    """The mask's inner part (for the classical tracker's colour model when segment=classical)."""
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    return inner if inner.sum() >= 20 else mask


def _grabcut(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    h, w = image.shape[:2]
    x0, y0, x1, y1 = box
    if x1 - x0 < 3 or y1 - y0 < 3 or (x1 - x0) * (y1 - y0) >= 0.95 * h * w:
        return _box_mask(box, h, w)
    mask = np.zeros((h, w), np.uint8)
    try:
        seeded_grabcut(
            cv2.cvtColor(image, cv2.COLOR_RGB2BGR), mask, (x0, y0, x1 - x0, y1 - y0), 3, cv2.GC_INIT_WITH_RECT
        )
    except cv2.error:
        return _box_mask(box, h, w)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
