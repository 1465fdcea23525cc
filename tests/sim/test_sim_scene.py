"""The scene.json contract: valid files load, bad ones fail naming the file and the field, and nothing is written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from video2policy.scene import SceneError, SceneSpec


def _write(tmp_path: Path, scene: dict) -> Path:
    path = tmp_path / "scene.json"
    path.write_text(json.dumps(scene))
    return path


def _base(block_scene_path: Path) -> dict:
    return json.loads(block_scene_path.read_text())


def test_example_scene_loads_and_round_trips(block_scene_path, tmp_path):
    scene = SceneSpec.load(block_scene_path)
    assert scene.objects[0].name == "block"
    out = scene.save(tmp_path / "copy.json")
    assert SceneSpec.load(out) == scene


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda s: s["objects"][0].update(size=[0.05, -0.05, 0.05]), "objects[0].size", "positive"),
        (
            lambda s: s["objects"][0]["first"].update(position=[float("nan"), 0, 0]),
            "objects[0].first.position",
            "finite",
        ),
        (lambda s: s["objects"].append(dict(s["objects"][0])), "objects[1].name", "used twice"),
        (lambda s: s["objects"][0].update(name="red block"), "objects[0].name", "not a Python identifier"),
        (lambda s: s["objects"][0].update(name="class"), "objects[0].name", "not a Python identifier"),
        (lambda s: s["objects"][0].update(shape="mesh", mesh="meshes/missing.obj"), "objects[0].mesh", "not found"),
        (lambda s: s["objects"][0].update(shape="mesh"), "objects[0]", "no mesh path"),
        (lambda s: s.update(objects=[]), "objects", "at least 1"),
    ],
)
def test_bad_scene_names_file_and_field(block_scene_path, tmp_path, mutate, field, words):
    scene = _base(block_scene_path)
    mutate(scene)
    path = tmp_path / "scene.json"
    path.write_text(json.dumps(scene).replace("NaN", "NaN"))
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(SceneError) as err:
        SceneSpec.load(path)
    message = str(err.value)
    assert str(path) in message
    assert field in message
    assert words in message
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_not_json_and_missing_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SceneError, match="not valid JSON"):
        SceneSpec.load(bad)
    with pytest.raises(SceneError, match="no such scene file"):
        SceneSpec.load(tmp_path / "absent.json")


def test_save_refuses_invalid_scene_and_writes_nothing(block_scene_path, tmp_path):
    scene = SceneSpec.load(block_scene_path)
    broken = scene.model_copy(deep=True)
    broken.objects[0].__dict__["mesh"] = "nowhere.obj"  # bypass assignment validation, as a buggy caller might
    broken.objects[0].__dict__["shape"] = "mesh"
    with pytest.raises(SceneError, match="not found"):
        broken.save(tmp_path / "out.json")
    assert not any(tmp_path.iterdir())


def test_schema_command_prints_json_schema():
    out = subprocess.run(
        [sys.executable, "-m", "video2policy.cli.main", "schema", "scene"], capture_output=True, text=True, check=True
    )
    schema = json.loads(out.stdout)
    assert schema["title"] == "SceneSpec"
    assert "objects" in schema["properties"]
    assert "SceneObject" in schema["$defs"]
