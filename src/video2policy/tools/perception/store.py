"""Per-stage artifacts in out_dir/stages/: a stage whose inputs did not change is loaded instead of recomputed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np


def stage_key(*parts: object) -> str:
    """A short hash of everything a stage's output depends on (the previous stage's key included)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class StageStore:
    def __init__(self, out_dir: Path):
        self.dir = Path(out_dir) / "stages"
        self.dir.mkdir(parents=True, exist_ok=True)

    def load(self, stage: str, key: str) -> tuple[dict, dict[str, np.ndarray]] | None:
        meta = self.dir / f"{stage}.json"
        if not meta.is_file():
            return None
        try:
            record = json.loads(meta.read_text())
        except json.JSONDecodeError:
            return None
        if record.get("key") != key:
            return None
        arrays: dict[str, np.ndarray] = {}
        npz = self.dir / f"{stage}.npz"
        if record.get("arrays"):
            if not npz.is_file():
                return None
            with np.load(npz) as data:
                arrays = {k: data[k] for k in data.files}
            for name, shape in record.get("packed", {}).items():
                arrays[name] = np.unpackbits(arrays[name])[: int(np.prod(shape))].reshape(shape).astype(bool)
        return record, arrays

    def save(self, stage: str, key: str, record: dict, arrays: dict[str, np.ndarray] | None = None) -> None:
        arrays = dict(arrays or {})
        packed = {}
        for name, value in list(arrays.items()):
            if value.dtype == bool:
                packed[name] = list(value.shape)
                arrays[name] = np.packbits(value.ravel())
        if arrays:
            tmp = self.dir / f"{stage}.tmp.npz"
            np.savez_compressed(tmp, **arrays)
            tmp.replace(self.dir / f"{stage}.npz")
        record = {**record, "key": key, "arrays": sorted(arrays), "packed": packed}
        tmp = self.dir / f"{stage}.json.tmp"
        tmp.write_text(json.dumps(record, indent=1, default=_plain))
        tmp.replace(self.dir / f"{stage}.json")


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
