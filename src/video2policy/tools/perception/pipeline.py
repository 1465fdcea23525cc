"""`perceive`: video + caption -> scene.json, assets and a contact sheet, one cached stage at a time.

Stages, in order (each writes out_dir/stages/<stage>.json and .npz, and is reused when its inputs are unchanged):
video (decode) -> depth (intrinsics, depth, camera pose, table plane) -> ground (find each named object) ->
segment (a mask per object per frame) -> mesh (primitive and key frame) -> scale (rho) -> pose (6D per frame)
-> assets (meshes, convex parts) -> scene (scene.json, contact_sheet.png). Depth comes before grounding so that
RGB-D input can find objects as what stands on the table. A failing stage raises PerceptionError; everything
finished so far stays on disk, and out_dir/failure.json says which stage and object failed and why.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from video2policy.scene import Pose, Provenance, SceneObject, SceneSpec, Table
from video2policy.tools.perception import backends
from video2policy.tools.perception.assets import object_mesh, object_parts, write_assets
from video2policy.tools.perception.caption import (
    NamedObject,
    covered_with,
    dropped,
    held_up,
    on_table_throughout,
    openings,
    parse_objects,
    put_into,
    stays_put,
    tipped_over,
    uncovered,
)
from video2policy.tools.perception.colors import color_word, lab, skin_like
from video2policy.tools.perception.contact import keep_apart
from video2policy.tools.perception.depth import DepthFrames, Geometry, estimate_geometry, parse_intrinsics
from video2policy.tools.perception.errors import STAGES, PerceptionError
from video2policy.tools.perception.geometry import PinholeCamera, quat_wxyz
from video2policy.tools.perception.ground import (
    ARM_MIN_AREA,
    SKIN_SHARE,
    Grounding,
    candidates_depth,
    candidates_rgb,
    fill_notches,
    ground_objects,
    joined_parts,
    lit_highlights,
    parse_hint,
    person_arm,
    table_region,
    word_of,
)
from video2policy.tools.perception.hollow import wall_thickness
from video2policy.tools.perception.mesh import MeshFit, build_mesh_fit, depth_points, rho_from_points, size_prior
from video2policy.tools.perception.pose import (
    end_inside,
    end_over,
    near_wall_ignore,
    on_floor,
    track_poses,
    within_footprint,
)
from video2policy.tools.perception.shapes import Solid
from video2policy.tools.perception.sheet import contact_sheet, draw_frame
from video2policy.tools.perception.store import StageStore, stage_key
from video2policy.tools.perception.tipped import refit_tipped_box
from video2policy.tools.perception.track import (
    STATIC_SHARE,
    refine_mask,
    settle_inside,
    shadow_like,
    track_masks,
    unchanged,
)
from video2policy.tools.perception.video import Clip, load_video

Progress = Callable[[str, int, int], None]  # (stage, completed, total)
PIPELINE_VERSION = "36"


@dataclass
class PerceptionOptions:
    """Everything besides the video and caption that changes the result."""

    backend: str = "classical"  # classical | models | per stage, e.g. "ground=models,segment=models"
    depth_dir: str | None = None
    depth_unit: float = 0.001  # metres per depth-PNG unit
    intrinsics: tuple[float, float, float, float] | None = None  # fx, fy, cx, cy in source pixels
    camera: object | None = None  # a scene.Camera (intrinsics and pose in the table frame)
    hints: dict[str, tuple | str] = field(default_factory=dict)
    max_side: int = 640
    stride: int = 1  # keep every stride-th frame (long videos)
    fps: float | None = None
    seed: int = 0
    model_paths: dict[str, str | None] = field(default_factory=dict)  # grounding_dino, sam2, depth
    device: str = "cpu"


def perceive(
    video_path: str | Path,
    caption: str,
    objects: list[str] | None,
    out_dir: str | Path,
    backend: str = "classical",
    depth_dir: str | Path | None = None,
    intrinsics: tuple[float, float, float, float] | str | None = None,
    progress: Progress | None = None,
    *,
    camera: object | None = None,
    hints: list[str] | dict | None = None,
    options: PerceptionOptions | None = None,
) -> SceneSpec:
    """Reconstruct the scene of a video; writes out_dir/scene.json, assets/, stages/ and contact_sheet.png."""
    opts = options or PerceptionOptions()
    opts.backend = backend or opts.backend
    if depth_dir is not None:
        opts.depth_dir = str(depth_dir)
    if isinstance(intrinsics, str):
        intrinsics = parse_intrinsics(intrinsics)
    if intrinsics is not None:
        opts.intrinsics = tuple(float(v) for v in intrinsics)  # type: ignore[assignment]
    if camera is not None:
        opts.camera = camera
    if isinstance(hints, list):
        opts.hints = dict(parse_hint(h) for h in hints)
    elif isinstance(hints, dict):
        opts.hints = hints
    from video2policy.tools.perception import models

    opts.model_paths = models.configured_paths(opts)  # weights named in settings belong in the cache keys too
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = _Run(out, progress)
    try:
        return run.perceive(Path(video_path), caption, objects, opts)
    except PerceptionError as exc:
        run.write_failure(exc)
        raise


class _Run:
    def __init__(self, out: Path, progress: Progress | None):
        self.out = out
        self.store = StageStore(out)
        self.progress = progress or (lambda stage, done, total: None)
        self.provenance: dict[str, dict] = {}
        self.warnings: list[str] = []

    # --- bookkeeping ------------------------------------------------------------------------------------------

    def write_failure(self, exc: PerceptionError) -> None:
        report = {**exc.to_dict(), "completed_stages": self.provenance, "warnings": self.warnings}
        (self.out / "failure.json").write_text(json.dumps(report, indent=1, default=str))

    def cached(self, stage: str, key: str, backend: str, compute: Callable[[], tuple[dict, dict]]) -> tuple[dict, dict]:
        self.progress(stage, 0, 1)
        hit = self.store.load(stage, key)
        if hit is not None:
            record, arrays = hit
            self.provenance[stage] = {**record.get("provenance", {}), "cached": True}
            self.warnings += record.get("warnings", [])
            self.progress(stage, 1, 1)
            return record["data"], arrays
        start, before = time.perf_counter(), len(self.warnings)
        data, arrays = compute()
        seconds = round(time.perf_counter() - start, 3)
        prov = {"backend": backend, "seconds": seconds, **data.pop("_provenance", {})}
        record = {"data": data, "provenance": prov, "warnings": self.warnings[before:]}
        self.store.save(stage, key, record, arrays)
        self.provenance[stage] = {**prov, "cached": False}
        self.progress(stage, 1, 1)
        return data, arrays

    # --- the pipeline -----------------------------------------------------------------------------------------

    def perceive(self, video: Path, caption: str, objects: list[str] | None, opts: PerceptionOptions) -> SceneSpec:
        named = parse_objects(caption, objects)
        stage_backends = backends.resolve(opts.backend)
        self.progress("video", 0, 1)
        start = time.perf_counter()
        clip = load_video(video, opts.max_side, opts.fps, opts.stride)
        self.provenance["video"] = {
            "backend": "pyav",
            "seconds": round(time.perf_counter() - start, 3),
            "frames": len(clip),
            "working_size": list(clip.size),
            "cached": False,
        }
        self.progress("video", 1, 1)
        key = stage_key(PIPELINE_VERSION, clip.info.sha256, opts.max_side, clip.fps, opts.stride)
        depth_frames = self._depth_frames(clip, opts)

        key = stage_key(
            key,
            "depth",
            stage_backends["depth"],
            opts.depth_dir,
            opts.intrinsics,
            _camera_json(opts),
            opts.model_paths.get("depth"),
            opts.seed,
        )
        data, arrays = self.cached(
            "depth",
            key,
            stage_backends["depth"],
            lambda: self._depth(clip, opts, depth_frames, stage_backends["depth"]),
        )
        geometry = Geometry.from_dict(data["geometry"])
        model_depth = {int(t): arrays[f"depth_{t}"].astype(np.float32) for t in data.get("model_depth_frames", [])}

        def depth_at(t: int) -> np.ndarray | None:
            if depth_frames is not None:
                return depth_frames[t]
            return model_depth.get(t)

        late = uncovered(caption, named)
        key = stage_key(
            key,
            "ground",
            stage_backends["ground"],
            [(o.name, o.label) for o in named],
            sorted((k, str(v)) for k, v in opts.hints.items()),
            opts.model_paths.get("grounding_dino"),
            late,
        )
        data, arrays = self.cached(
            "ground",
            key,
            stage_backends["ground"],
            lambda: self._ground(clip, named, geometry, depth_at, opts, stage_backends["ground"], late),
        )
        grounded = data["objects"]
        key_masks = {
            k: (grounded[o.name]["keyframe"], arrays[o.name], arrays[f"{o.name}__core"]) for k, o in enumerate(named)
        }

        into = put_into(caption, named)
        picked = dropped(caption, named)
        key = stage_key(key, "segment", stage_backends["segment"], opts.model_paths.get("sam2"), into, picked)
        data, arrays = self.cached(
            "segment",
            key,
            stage_backends["segment"],
            lambda: self._segment(
                clip, named, key_masks, geometry, depth_at, opts, stage_backends["segment"], into, picked
            ),
        )
        masks, seen, mask_conf = arrays["masks"], arrays["seen"], arrays["confidence"]
        ignore = _ignore_fn(clip, masks)

        tipped = tipped_over(caption, named)
        key_frames = [key_masks[k][0] for k in range(len(named))]
        key = stage_key(key, "mesh", stage_backends["mesh"], tipped)
        data, _ = self.cached(
            "mesh",
            key,
            stage_backends["mesh"],
            lambda: self._mesh(clip, named, masks, seen, geometry, ignore, stage_backends["mesh"], tipped, key_frames),
        )
        fits = {n: MeshFit.from_dict(d) for n, d in data["fits"].items()}

        key = stage_key(key, "scale")
        data, _ = self.cached("scale", key, "classical", lambda: self._scale(named, fits, masks, geometry, depth_at))
        geometry = Geometry.from_dict(data["geometry"])
        solids = {n: Solid.from_dict(d) for n, d in data["solids"].items()}
        rhos = {n: d["rho"] for n, d in data["objects"].items()}

        held = held_up(caption, named)
        slid = on_table_throughout(caption)
        still = stays_put(caption, named)
        cover = covered_with(caption, named)
        key = stage_key(
            key, "pose", stage_backends["pose"], depth_frames is not None, tipped, held, picked, slid, still, cover
        )
        data, _ = self.cached(
            "pose",
            key,
            stage_backends["pose"],
            lambda: self._pose(
                named,
                fits,
                solids,
                masks,
                seen,
                geometry,
                ignore,
                depth_frames,
                stage_backends["pose"],
                clip.fps,
                clip.frames,
                tipped,
                held,
                into,
                slid,
                still,
                picked,
                cover,
            ),
        )
        poses = data["poses"]

        open_sides = openings(caption, named)
        key = stage_key(key, "assets", sorted(open_sides.items()))
        data, _ = self.cached("assets", key, "trimesh + coacd", lambda: self._assets(named, fits, rhos, open_sides))
        files = data["files"]

        self.progress("scene", 0, 1)
        scene = self._scene(clip, caption, named, geometry, fits, solids, rhos, poses, files, masks, mask_conf)
        self.progress("scene", 1, 1)
        return scene

    # --- stages -----------------------------------------------------------------------------------------------

    def _depth_frames(self, clip: Clip, opts: PerceptionOptions) -> DepthFrames | None:
        if not opts.depth_dir:
            return None
        return DepthFrames(opts.depth_dir, clip.info.frame_count, clip.size, opts.depth_unit, clip.stride)

    def _depth(
        self, clip: Clip, opts: PerceptionOptions, frames: DepthFrames | None, backend: str
    ) -> tuple[dict, dict]:
        rng = np.random.default_rng(opts.seed)
        arrays: dict[str, np.ndarray] = {}
        model_frames: list[int] = []
        intrinsics = opts.intrinsics
        depth0, source = (frames[0], "given") if frames is not None else (None, "none")
        notes = []
        if frames is None and backend == "models":
            model_frames = sorted({0, len(clip) - 1})
            estimate = backends.models_depth(clip, model_frames, opts)
            for t, d in estimate.depth.items():
                arrays[f"depth_{t}"] = d.astype(np.float16)
            depth0, source = estimate.depth[0], "model"
            notes.append(f"metric depth from {estimate.model}")
            if intrinsics is None and estimate.focal_px is not None:
                f = estimate.focal_px / clip.scale
                w, h = clip.source_size
                intrinsics = (f, f, w / 2, h / 2)
                notes.append(f"focal length {f:.1f} px estimated by {estimate.model}")
        geometry = estimate_geometry(clip.frames[0], clip.scale, intrinsics, opts.camera, depth0, source, rng)
        if intrinsics is not None and opts.intrinsics is None:
            geometry.intrinsics_source = "estimated"
        geometry.notes = notes + geometry.notes
        for note in geometry.notes:
            if "prior" in note:
                self.warnings.append(f"depth: {note}")
        return {
            "geometry": geometry.to_dict(),
            "model_depth_frames": model_frames,
            "_provenance": {
                "depth_source": source,
                "intrinsics_source": geometry.intrinsics_source,
                "pose_source": geometry.pose_source,
                "notes": geometry.notes,
            },
        }, arrays

    def _ground(
        self,
        clip: Clip,
        named: list[NamedObject],
        geometry: Geometry,
        depth_at,
        opts: PerceptionOptions,
        backend: str,
        late: str | None = None,
    ) -> tuple[dict, dict]:
        """Each named object's mask in the first frame, or in the last where the first does not show it. `late`
        (the object the caption uncovers: "Uncovering [ball]") is looked for in the last frame first: under its
        cover at the start, what its colour matches there is something else (a yellow ball under an orange cup
        was grounded on the cup's lit body)."""
        T = len(clip)
        found: dict[str, tuple[int, Grounding]] = {}
        why: dict[str, str] = {}

        def ground_at(t: int, objects: list[NamedObject], taken: list[np.ndarray]) -> tuple[dict, dict]:
            if backend == "models":
                return backends.models_ground(clip.frames[t], objects, opts, clip.scale)
            return self._ground_classical(
                clip.frames[t], objects, geometry, depth_at(t), opts, clip.scale, taken, named
            )

        if late is not None and T > 1:  # not found there, it is looked for in the first frame as any other
            hits, _ = ground_at(T - 1, [o for o in named if o.name == late], [])
            found.update((name, (T - 1, g)) for name, g in hits.items())
        for t in dict.fromkeys((0, T - 1)):
            rest = [o for o in named if o.name not in found]
            if not rest:
                break
            # what the uncovered object shows at the end is no place taken at the start: its cover stood there
            taken = [g.mask for name, (t_found, g) in found.items() if name != late or t_found == t]
            hits, missing = ground_at(t, rest, taken)
            for name, g in hits.items():
                found[name] = (t, g)
            for name, reason in missing.items():
                why[name] = reason if t == 0 else f"{why.get(name, reason)}; nor in the last frame"
        for obj in named:
            if obj.name not in found:
                raise PerceptionError("ground", obj.name, f"'{obj.label}' not found: {why.get(obj.name, 'no match')}")
        slivers = _prefer_unhidden(clip.frames, named, found, ground_at)
        objects, arrays = {}, {}
        for obj in named:
            t, g = found[obj.name]
            objects[obj.name] = {
                "keyframe": t,
                "box": [v / clip.scale for v in g.box],
                "score": g.score,
                "method": g.method,
                "area": int(g.mask.sum()),
            }
            arrays[obj.name] = g.mask
            arrays[f"{obj.name}__core"] = g.core if g.core is not None else g.mask
            if t != 0 and obj.name == late:
                self.warnings.append(
                    f"ground: '{obj.label}' found in the last frame (the caption uncovers it: hidden at the start)"
                )
            elif t != 0:
                seen = "shows only a sliver" if obj.name in slivers else "is not visible"
                self.warnings.append(f"ground: '{obj.label}' {seen} in the first frame; found in the last")
        return {"objects": objects, "_provenance": {"objects": objects}}, arrays

    def _ground_classical(
        self,
        image: np.ndarray,
        rest: list[NamedObject],
        geometry: Geometry,
        depth: np.ndarray | None,
        opts: PerceptionOptions,
        scale: float,
        taken: list[np.ndarray],
        named: list[NamedObject] = (),
    ) -> tuple[dict, dict]:
        cam = geometry.camera
        h, w = image.shape[:2]
        height, table_px = _height_map(depth, cam) if depth is not None else (None, None)
        if table_px is not None and table_px.sum() < MIN_TABLE_FRACTION * h * w:
            self.warnings.append(
                "ground: the depth map shows almost no table plane (check --depth-unit and the camera); "
                "finding objects by colour instead"
            )
            table_px = None
        if table_px is not None:
            cands = candidates_depth(height, table_px)
            region = table_px
        else:
            cands = candidates_rgb(image)
            region = table_region(lab(image))[1]
        rows = np.flatnonzero(region.any(axis=1))
        search = np.zeros((h, w), bool)
        if len(rows):
            search[max(0, rows[0] - int(0.25 * h)) :] = True
        for mask in taken:
            cands = [c for c in cands if (c.mask & mask).sum() < 0.5 * c.area]
        found, why = ground_objects(
            image,
            rest,
            cam,
            cands,
            opts.hints,
            scale,
            search,
            table=region if depth is None else None,
            other_words=[w for o in named if (w := color_word(o.label))],
        )
        for name, g in found.items():
            if g.method.startswith("colour") or depth is None:
                allowed = None
                if g.core is not None:
                    allowed = cv2.dilate(g.core.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
                refined = refine_mask(image, g.mask, allowed=allowed)
                found[name] = Grounding(refined, g.box, g.score, g.method + " + GrabCut", g.core)
        if depth is None:
            image_lab = lab(image)
            table_px = table_region(image_lab)[0]
            words = {o.name: word_of(o, opts.hints) for o in rest}
            for name, g in found.items():
                others = np.zeros(image.shape[:2], bool)
                for other, o in found.items():
                    if other != name:
                        others |= o.mask
                for mask in taken:
                    others |= mask
                lit = lit_highlights(g.mask, image, others, table_px)
                if lit.any():
                    g = found[name] = g.grown(lit, "highlights")
                if words.get(name):  # a lit rim may have cut it in two
                    joined = joined_parts(g.mask, words[name], image_lab, others, table_px)
                    if joined.any():
                        g = found[name] = g.grown(joined, "joined parts")
                notches = fill_notches(g.mask, image_lab, table_px, others)
                if notches.any():
                    found[name] = g.grown(notches, "notches")
        return found, why

    def _segment(
        self,
        clip: Clip,
        named: list[NamedObject],
        key_masks: dict,
        geometry: Geometry,
        depth_at,
        opts: PerceptionOptions,
        backend: str,
        into: tuple[str, str] | None = None,
        picked: str | None = None,
    ) -> tuple[dict, dict]:
        """Masks of every named object in every frame; `into` (object, container) from the caption settles the
        object inside the container at the end when its track does not (`track.settle_inside`); `picked` (the
        object the caption drops) is carried, then let go (`track_masks`' `let_go`)."""
        total = len(clip) * len(named)
        words = {
            k: (opts.hints.get(o.name) if isinstance(opts.hints.get(o.name), str) else color_word(o.label))
            for k, o in enumerate(named)
        }

        def tick(done: int, _total: int) -> None:
            self.progress("segment", done, total)

        if backend == "models":
            tracks = backends.models_segment(clip, key_masks, opts, tick)
        else:
            support = None
            if opts.depth_dir:

                def support(t: int) -> np.ndarray:
                    d = depth_at(t)
                    return (_height_map(d, geometry.camera)[0] > 0.004) | (d <= 0.05)

            if opts.depth_dir:
                region = _height_map(depth_at(0), geometry.camera)[1]
                region = cv2.dilate(region.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
            else:
                region = table_region(lab(clip.frames[0]))[1]
            let_go = frozenset(k for k, o in enumerate(named) if o.name == picked)
            tracks = track_masks(clip.frames, key_masks, support, tick, words, region, let_go)
        if into:
            k_in, k_out = ({o.name: k for k, o in enumerate(named)}[name] for name in into)
            scale = _area_scale(geometry.camera, key_masks[k_in][1], key_masks[k_out][1])
            settle_inside(clip.frames, tracks, key_masks, k_in, k_out, words, area_scale=scale)
        notes = [
            n.replace(f"object {k}:", f"'{o.label}':")
            for n in tracks.notes
            for k, o in enumerate(named)
            if n.startswith(f"object {k}:")
        ]
        self.warnings += [f"segment: {n}" for n in notes]
        per_object = {
            o.name: {
                "seen_frames": int(tracks.seen[:, k].sum()),
                "mean_confidence": round(float(tracks.confidence[:, k].mean()), 3),
            }
            for k, o in enumerate(named)
        }
        return (
            {"_provenance": {"objects": per_object, "notes": notes}},
            {"masks": tracks.masks, "seen": tracks.seen, "confidence": tracks.confidence},
        )

    def _mesh(
        self,
        clip,
        named,
        masks,
        seen,
        geometry: Geometry,
        ignore,
        backend: str,
        tipped: str | None,
        key_frames: list[int],
    ) -> tuple[dict, dict]:
        """A fitted primitive per object. Frames before an object's grounding key frame do not count as seen: the
        grounding did not find it there (a ball under a cup), so a mask the tracker carried back into them is not
        its outline."""
        if backend != "classical":
            raise PerceptionError("mesh", None, backends.NOT_PACKAGED["mesh"])
        fits = {}
        for k, obj in enumerate(named):
            self.progress("mesh", k, len(named))
            in_view = seen[:, k].copy()
            in_view[: key_frames[k]] = False
            fit = build_mesh_fit(
                obj.label,
                masks[:, k],
                in_view,
                geometry.camera,
                lambda t, k=k: ignore(t, k),
                trust_name=geometry.pose_source == "default",
                image=lambda t: clip.frames[t],
            )
            if obj.name == tipped and geometry.pose_source != "default":  # its depth shows once it lies
                refit_tipped_box(fit, masks[:, k], seen[:, k], geometry.camera, lambda t, k=k: ignore(t, k))
            if fit.iou < 0.5:
                self.warnings.append(f"mesh: '{obj.label}' is poorly explained by a {fit.kind} (IoU {fit.iou:.2f})")
            fits[obj.name] = fit
        info = {
            n: {
                "kind": f.kind,
                "kind_reason": f.kind_reason,
                "keyframe": f.keyframe,
                "keyframe_reason": f.keyframe_reason,
                "iou": round(f.iou, 3),
                **({"height_reason": f.height_reason} if f.height_reason else {}),
            }
            for n, f in fits.items()
        }
        return {"fits": {n: f.to_dict() for n, f in fits.items()}, "_provenance": {"objects": info}}, {}

    def _scale(self, named, fits: dict[str, MeshFit], masks, geometry: Geometry, depth_at) -> tuple[dict, dict]:
        cam = geometry.camera
        objects, solids = {}, {}
        for k, obj in enumerate(named):
            fit = fits[obj.name]
            rho_fit = float(fit.solid.size.max())
            entry = {"rho_silhouette": round(rho_fit, 5)}
            rho, source = rho_fit, "silhouette fit on the table plane"
            depth = depth_at(fit.keyframe)
            if depth is not None:
                pts = depth_points(masks[fit.keyframe, k], depth, cam)
                if len(pts) >= 30:
                    rho_d, measured = rho_from_points(pts, fit, cam)
                    entry.update(measured, rho_depth=round(rho_d, 5))
                    rho, source = rho_d, f"D_image / D_mesh from {geometry.depth_source} depth"
                    if abs(rho_d / rho_fit - 1) > 0.35:
                        self.warnings.append(
                            f"scale: '{obj.label}': depth says {rho_d:.3f} m, the silhouette "
                            f"{rho_fit:.3f} m; using depth"
                        )
            if rho <= 0 or not np.isfinite(rho):
                raise PerceptionError("scale", obj.name, f"no usable size (rho = {rho})")
            entry.update(rho=rho, source=source)
            objects[obj.name] = entry
            size = fit.proportions * rho
            pos = fit.solid.position.copy()
            pos[2] = size[2] / 2 if fit.solid.position[2] - fit.solid.size[2] / 2 < 0.01 else pos[2]
            solids[obj.name] = fit.solid.moved(pos, size=size)
        factor, note = 1.0, None
        if geometry.pose_source == "default":
            ratios = [size_prior(o.label) / objects[o.name]["rho"] for o in named if size_prior(o.label)]
            if ratios:
                factor = float(np.median(ratios))
                note = (
                    f"no depth and no camera pose: the scene is scaled by {factor:.3f} so the named objects get "
                    "their usual sizes"
                )
                self.warnings.append(f"scale: {note}")
            else:
                self.warnings.append(
                    "scale: no depth, no camera pose and no size prior for these names: sizes follow "
                    "the default camera height and may be far off"
                )
        if factor != 1.0:
            geometry.camera.t = geometry.camera.t * factor
            for name, solid in solids.items():
                solids[name] = solid.moved(solid.position * factor, size=solid.size * factor)
                objects[name]["rho"] *= factor
            geometry.notes.append(note)
        return {
            "geometry": geometry.to_dict(),
            "solids": {n: s.to_dict() for n, s in solids.items()},
            "objects": objects,
            "scene_factor": factor,
            "_provenance": {"objects": objects, "scene_factor": factor},
        }, {}

    def _pose(
        self,
        named,
        fits,
        solids,
        masks,
        seen,
        geometry: Geometry,
        ignore,
        depth_frames,
        backend: str,
        fps: float,
        frames: np.ndarray,
        tipped: str | None,
        held: str | None = None,
        into: tuple[str, str] | None = None,
        slid: bool = False,
        still: str | None = None,
        picked: str | None = None,
        cover: tuple[str, str] | None = None,
    ):
        if backend != "classical":
            raise PerceptionError("pose", None, backends.NOT_PACKAGED["pose"])
        T = masks.shape[0]
        total, done = T * len(named), 0
        poses, info = {}, {}

        def tick(n: int) -> None:
            nonlocal done
            done += n
            self.progress("pose", done, total)

        index = {o.name: k for k, o in enumerate(named)}
        labels = {o.name: o.label for o in named}
        if into:
            k_in, k_out = (index[n] for n in into)
            ignore = near_wall_ignore(ignore, masks, seen, k_in, k_out)
        tracks = {}
        for k, obj in enumerate(named):
            fit = fits[obj.name]
            depth = (lambda t: depth_frames[t]) if depth_frames is not None else None
            tracks[obj.name] = track_poses(
                solids[obj.name],
                fit.keyframe,
                masks[:, k],
                seen[:, k],
                geometry.camera,
                lambda t, k=k: ignore(t, k),
                depth,
                tick,
                fps,
                image=lambda t: frames[t],
                tipped=obj.name == tipped,
                held=obj.name == held,
                picked=obj.name == picked,
                slid=slid,
                pushed=slid and k == 0,
                still=obj.name == still,
            )
        if still:
            at = fits[still].keyframe
            where = "the first frame" if at == 0 else "the last frame" if at == T - 1 else f"working frame {at}"
            self.warnings.append(
                f"pose: '{labels[still]}' kept where it is in {where} throughout (the caption covers or uncovers it: "
                "the hand moves the cover, not the object)"
            )
        if cover:
            covered, lid = cover
            k_lid = index[lid]
            moved = end_over(
                tracks[lid],
                solids[lid],
                tracks[covered][-1].position,
                masks[:, k_lid],
                seen[:, k_lid],
                lambda t: ignore(t, k_lid),
                geometry.camera,
            )
            if moved:
                self.warnings.append(
                    f"pose: '{labels[lid]}' put down over '{labels[covered]}' in the last {moved} frames (the caption "
                    "covers it; one view also read it held up in the air)"
                )
        if into:
            inner, outer = into
            last = (masks[-1, k_in], masks[-1, k_out])
            moved = end_inside(
                tracks[inner], seen[:, k_in], solids[inner], tracks[outer], solids[outer], last, geometry.camera
            )
            if moved:
                self.warnings.append(
                    f"pose: '{labels[inner]}' put inside '{labels[outer]}' in the last {moved} frames "
                    "(the caption puts it there; its track ended outside)"
                )
            moved = within_footprint(tracks[inner], solids[inner], tracks[outer], solids[outer])
            if moved:
                self.warnings.append(
                    f"pose: '{labels[inner]}' moved within the footprint of '{labels[outer]}' in the last {moved} "
                    "frames (lying in it, it cannot cross its walls)"
                )
            moved = on_floor(tracks[inner], solids[inner], tracks[outer], solids[outer], geometry.camera)
            if moved:
                self.warnings.append(
                    f"pose: '{labels[inner]}' raised onto the floor of '{labels[outer]}' in {moved} frames (the "
                    "caption puts it in there; it cannot reach through the floor to the table)"
                )
        if slid:
            for name, n in keep_apart(tracks, solids, fps).items():
                if n:
                    self.warnings.append(
                        f"pose: '{labels[name]}' pushed out of another object in {n} frames (solids do not pass "
                        "through each other; the caption slides things together)"
                    )
        for obj in named:
            track = tracks[obj.name]
            poses[obj.name] = [
                {
                    "position": p.position.tolist(),
                    "rotation": p.rotation.tolist(),
                    "confidence": p.confidence,
                    "method": p.method,
                }
                for p in track
            ]
            conf = np.array([p.confidence for p in track])
            info[obj.name] = {
                "mean_confidence": round(float(conf.mean()), 3),
                "low_confidence_frames": int((conf < 0.5).sum()),
            }
            if (conf < 0.5).mean() > 0.3:
                self.warnings.append(
                    f"pose: '{obj.label}' tracked with low confidence in {(conf < 0.5).sum()} of {T} frames"
                )
        return {"poses": poses, "_provenance": {"objects": info}}, {}

    def _assets(self, named, fits: dict[str, MeshFit], rhos: dict[str, float], open_sides: dict[str, str]):
        """Mesh files and convex parts; what the caption puts something into, or covers something with, is a
        shell open on that side (`hollow`), its walls `hollow.wall_thickness` thick once scaled."""
        files, shells = {}, {}
        for obj in named:
            fit = fits[obj.name]
            opening = open_sides.get(obj.name)
            wall = wall_thickness(fit.proportions * rhos[obj.name]) / rhos[obj.name] if opening else 0.0
            mesh = object_mesh(fit.kind, fit.proportions, fit.solid.roundness, opening, wall)
            parts = object_parts(fit.kind, fit.proportions, mesh, opening, wall)
            mesh_path, parts = write_assets(self.out, obj.name, mesh, parts)
            files[obj.name] = {"mesh": mesh_path, "collision": parts}
            if opening:
                shells[obj.name] = {"open": opening, "wall_m": round(wall * rhos[obj.name], 4)}
        return {"files": files, "_provenance": {"files": files, "open": shells}}, {}

    def _scene(
        self, clip: Clip, caption, named, geometry: Geometry, fits, solids, rhos, poses, files, masks, mask_conf
    ) -> SceneSpec:
        objects = []
        reach = np.zeros(2)
        for k, obj in enumerate(named):
            fit, track = fits[obj.name], poses[obj.name]
            key_mask = masks[fit.keyframe, k]
            colour = np.median(clip.frames[fit.keyframe][key_mask], axis=0) / 255.0 if key_mask.any() else (0.6,) * 3
            scene_poses = []
            for t, p in enumerate(track):
                conf = float(np.clip(min(p["confidence"], 0.5 + 0.5 * float(mask_conf[t, k])), 0, 1))
                scene_poses.append(
                    Pose(
                        frame=t * clip.stride,
                        time=round(t / clip.fps, 6),
                        position=tuple(p["position"]),
                        quat=quat_wxyz(np.asarray(p["rotation"])),
                        confidence=conf,
                    )
                )
                reach = np.maximum(reach, np.abs(p["position"][:2]))
            size = tuple(float(v) for v in fits[obj.name].proportions * rhos[obj.name])
            objects.append(
                SceneObject(
                    name=obj.name,
                    label=obj.label,
                    shape="mesh",
                    mesh=files[obj.name]["mesh"],
                    collision=files[obj.name]["collision"],
                    size=size,
                    scale=float(rhos[obj.name]),
                    color=(*(float(c) for c in colour), 1.0),
                    poses=scene_poses,
                    first=scene_poses[0],
                    last=scene_poses[-1],
                )
            )
        table = geometry.table_size or (1.0, 0.8)
        table = (max(table[0], 2 * reach[0] + 0.1), max(table[1], 2 * reach[1] + 0.1))
        self.provenance["scene"] = {
            "backend": "classical",
            "pipeline_version": PIPELINE_VERSION,
            "table_source": "estimated" if geometry.table_size else "default",
        }
        info = clip.info.model_copy()
        scene = SceneSpec(
            task_title=caption or ", ".join(o.label for o in named),
            caption=caption or "",
            video=info,
            camera=geometry.scene_camera(clip.scale),
            table=Table(size=(float(table[0]), float(table[1]))),
            objects=objects,
            provenance=Provenance(stages=self.provenance, warnings=self.warnings, failures={}),
        )
        scene.save(self.out / "scene.json")
        failure = self.out / "failure.json"
        if failure.exists():
            failure.unlink()
        self._sheet(clip, named, geometry, masks, poses, solids)
        return scene

    def _sheet(self, clip: Clip, named, geometry: Geometry, masks, poses, solids) -> None:
        T = len(clip)
        picks = sorted(set(np.linspace(0, T - 1, min(6, T)).round().astype(int).tolist()))
        tiles = []
        for t in picks:
            drawn = []
            for obj in named:
                p = poses[obj.name][t]
                s = solids[obj.name]
                drawn.append(s.moved(p["position"], p["rotation"]))
            tiles.append(
                draw_frame(
                    clip.frames[t],
                    [masks[t, k] for k in range(len(named))],
                    drawn,
                    [o.name for o in named],
                    geometry.camera,
                    f"frame {t}",
                )
            )
        contact_sheet(tiles, self.out / "contact_sheet.png")


def _prefer_unhidden(
    frames: np.ndarray,
    named: list[NamedObject],
    found: dict[str, tuple[int, Grounding]],
    ground_at: Callable[[int, list[NamedObject], list[np.ndarray]], tuple[dict, dict]],
) -> set[str]:
    """Objects found in the first frame as a mere sliver (a block under a cup shows a few pixels of its colour past
    the rim) are looked for in the last frame too; a view there several times larger replaces it in `found`, as for
    an object hidden at the start (its mesh and poses come from the frame that shows it). Returns those names.
    Taken there are the objects grounded in the last frame and those whose first-frame region mostly
    (`STATIC_SHARE`) looks the same in the last: a cup lifted off the block has left its first place, a bowl the
    garlic was thrown into has not (the garlic was grounded on the whole bowl)."""
    T, h, w = frames.shape[:3]
    slivers = [o for o in named if found[o.name][0] == 0 and found[o.name][1].mask.sum() < SLIVER_AREA * h * w]
    if T < 2 or not slivers:
        return set()
    names = {o.name for o in slivers}
    same = unchanged(frames[-1], frames[0])

    def still_there(mask: np.ndarray) -> bool:
        return bool(mask.any()) and float(same[mask].mean()) >= STATIC_SHARE

    taken = [g.mask for name, (t, g) in found.items() if t == T - 1 or (name not in names and still_there(g.mask))]
    hits, _ = ground_at(T - 1, slivers, taken)
    replaced = {name for name, g in hits.items() if g.mask.sum() >= UNHIDDEN_RATIO * found[name][1].mask.sum()}
    for name in replaced:
        found[name] = (T - 1, hits[name])
    return replaced


MIN_TABLE_FRACTION = 0.01  # of the image: below this the depth frame cannot anchor grounding
SLIVER_AREA = 0.001  # of the image: a first-frame view smaller than this may be an object mostly hidden
UNHIDDEN_RATIO = 3.0  # the last frame's view replaces a sliver when it is this many times larger


def _camera_json(opts: PerceptionOptions) -> str | None:
    cam = opts.camera
    return cam.model_dump_json() if cam is not None and hasattr(cam, "model_dump_json") else None


def _height_map(depth: np.ndarray, cam: PinholeCamera) -> tuple[np.ndarray, np.ndarray]:
    """Height above the table of every pixel (NaN where depth is missing) and the table's pixels."""
    h, w = depth.shape
    vv, uu = np.mgrid[0:h, 0:w]
    uv = np.stack([uu.ravel(), vv.ravel()], axis=1).astype(float)
    pts = cam.backproject(uv, depth.ravel())
    height = pts[:, 2].reshape(h, w)
    height[depth <= 0.05] = np.nan
    table = np.abs(np.nan_to_num(height, nan=1.0)) < max(0.008, 0.004 * float(np.nanmedian(depth[depth > 0.05])))
    return np.nan_to_num(height, nan=-1.0), table


def _ignore_fn(clip: Clip, masks: np.ndarray) -> Callable[[int, int], np.ndarray]:
    """Pixels that may hide object k at frame t: other objects, and the hand or arm in front of the background.

    The arm is what is not of the table's colour on the table (or differs from the clip's median background
    beyond it) and enters from the image border. Shadows (the table's colour, darker) and stray pixels next to
    an object (its rim, its own shadow) do not count: a fit allowed to cover them for free grows into them.
    """
    T = len(clip)
    sample = clip.frames[np.linspace(0, T - 1, min(T, 25)).round().astype(int)]
    background = np.median(sample, axis=0).astype(np.int16)
    cache: dict[int, np.ndarray] = {}

    def occluders(t: int) -> np.ndarray:
        if t not in cache:
            frame = clip.frames[t].astype(np.int16)
            frame_lab = lab(clip.frames[t])
            table, region = table_region(frame_lab)
            # on the table, whatever is not of the table's colour (nor a shadow) is in front of it; elsewhere,
            # what differs from the median background (where the arm lingers, the median is the arm)
            diff = np.abs(frame - background).max(axis=-1) > 30
            shadow = shadow_like(frame_lab, np.median(frame_lab[table], axis=0)) if table.any() else False
            fg = np.where(region, ~table, diff) & ~shadow & ~masks[t].any(axis=0)
            fg = cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
            n, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
            h, w = fg.shape
            keep = np.zeros(n, bool)
            skin_px = skin_like(frame_lab)
            skin = np.bincount(labels.ravel(), weights=skin_px.ravel(), minlength=n)
            for i in range(1, n):
                x, y, bw, bh = stats[i, :4]
                keep[i] = x == 0 or y == 0 or x + bw >= w or y + bh >= h  # the arm enters from the border
                # ... or is cut from it where it lingers (the median background there is the arm itself)
                keep[i] |= stats[i, 4] >= ARM_MIN_AREA * h * w and skin[i] > SKIN_SHARE * stats[i, 4]
            # a dark arm on a cream table reads as the table's shadow: skin's colour reaching in from the border
            # is the arm all the same
            arm = person_arm(frame_lab, skin_px) & ~masks[t].any(axis=0)
            cache[t] = cv2.dilate((keep[labels] | arm).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        return cache[t]

    def ignore(t: int, k: int) -> np.ndarray:
        others = np.delete(masks[t], k, axis=0).any(axis=0) if masks.shape[1] > 1 else np.zeros_like(masks[t, k])
        return (others | occluders(t)) & ~masks[t, k]

    return ignore


def _area_scale(camera: PinholeCamera, mask: np.ndarray, place: np.ndarray) -> float:
    """How large an object seen as `mask` looks at `place` (another mask on the table), as a ratio of areas:
    apparent area falls with the squared distance from the camera. 1.0 when either is not on the table."""
    distances = []
    for m in (mask, place):
        ys, xs = np.nonzero(m)
        if not len(ys):
            return 1.0
        point = camera.on_plane(np.array([[xs.mean(), ys.mean()]]))[0]  # about where it stands
        if not np.isfinite(point).all():
            return 1.0
        distances.append(float(np.linalg.norm(point - camera.t)))
    return (distances[0] / distances[1]) ** 2


__all__ = ["STAGES", "PerceptionOptions", "perceive"]
