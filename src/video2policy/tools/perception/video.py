"""Load a video (mp4, webm, anything FFmpeg reads, or a folder of frames) into RGB frames at working size."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from video2policy.scene import VideoInfo
from video2policy.tools.perception.errors import PerceptionError

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
FOLDER_FPS = 10.0


@dataclass
class Clip:
    """Frames (T, H, W, 3) uint8 RGB at working size; `scale` = working size / source size."""

    frames: np.ndarray
    fps: float
    source_size: tuple[int, int]  # (width, height) of the source
    scale: float
    info: VideoInfo
    frame_files: list[Path] | None = None  # for a folder of frames, the files in order
    stride: int = 1  # every stride-th source frame was kept

    @property
    def size(self) -> tuple[int, int]:
        return self.frames.shape[2], self.frames.shape[1]

    def __len__(self) -> int:
        return len(self.frames)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.name.encode())
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _resize(frame: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return frame
    h, w = frame.shape[:2]
    return cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def load_video(path: str | Path, max_side: int = 640, fps: float | None = None, stride: int = 1) -> Clip:
    """Decode every `stride`-th frame, shrunk so the longer side is at most `max_side` (geometry is rescaled)."""
    path = Path(path)
    if not path.exists():
        raise PerceptionError("video", None, f"{path}: no such file or folder")
    frames, files = _read_folder(path) if path.is_dir() else (_read_file(path), None)
    if not frames:
        raise PerceptionError("video", None, f"{path}: the video has no frames")
    h, w = frames[0].shape[:2]
    if any(f.shape[:2] != (h, w) for f in frames):
        raise PerceptionError("video", None, f"{path}: frames have different sizes")
    scale = min(1.0, max_side / max(h, w))
    small = np.stack([_resize(f, scale) for f in frames[::stride]])
    rate = fps or (FOLDER_FPS if path.is_dir() else _file_fps(path))
    # absolute: scene.json resolves a relative video path against its own folder, not the caller's working directory
    info = VideoInfo(
        path=str(path.resolve()), fps=rate, width=w, height=h, frame_count=len(frames), sha256=sha256_of(path)
    )
    return Clip(
        frames=small,
        fps=rate / stride,
        source_size=(w, h),
        scale=scale,
        info=info,
        frame_files=files[::stride] if files else None,
        stride=stride,
    )


def _file_fps(path: Path) -> float:
    with av.open(str(path)) as container:
        rate = container.streams.video[0].average_rate
    return float(rate) if rate else 30.0


def _read_file(path: Path) -> list[np.ndarray]:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise PerceptionError("video", None, f"{path}: no video stream in the file")
            return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    except PerceptionError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise PerceptionError("video", None, f"{path}: cannot read the video ({exc})") from None


def _read_folder(path: Path) -> tuple[list[np.ndarray], list[Path]]:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)
    if not files:
        raise PerceptionError("video", None, f"{path}: the folder holds no frames ({', '.join(FRAME_SUFFIXES)})")
    frames = []
    for file in files:
        image = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if image is None:
            raise PerceptionError("video", None, f"{file}: cannot read the image")
        frames.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return frames, files
