"""Discovery through the `video2policy.behaviors` entry points: built-ins, a broken plugin, the example plugin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from video2policy.plugins import Behavior, load_behaviors
from video2policy.plugins.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
BUILTINS = {
    "push_left", "push_right", "lift_up", "tip_over", "cover", "uncover", "push_with", "push_next_to",
    "drop_in_front_of", "insert", "slide_to", "throw_into",
}  # fmt: skip


def v2p(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "video2policy.cli.main", *args], capture_output=True, text=True, env=env, timeout=300
    )


def with_path(path: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(path), env.get("PYTHONPATH", "")])
    return env


def test_builtins_are_found_through_entry_points():
    registry = load_behaviors()
    assert set(registry.names()) >= BUILTINS
    assert not {k: v for k, v in registry.errors.items() if k in BUILTINS}
    for name in BUILTINS:  # registered as any distribution's plugin would be: source is the distribution
        assert registry.sources[name].startswith("video2policy ")


def test_registry_rejects_bad_plugins_and_keeps_the_rest():
    class NoRoles(Behavior):
        name = "no_roles"

    class OldApi(Behavior):
        name = "old_api"
        api_version = 0
        roles = {"target": "x"}

    class Duplicate(Behavior):
        name = "push_left"
        roles = {"target": "x"}

    class UndeclaredRole(Behavior):
        name = "undeclared"
        roles = {"target": "x"}
        caption_patterns = ("Pushing [target] with [tool]",)

    registry = load_behaviors(extra=[NoRoles, OldApi, Duplicate, UndeclaredRole, "not a plugin"])
    assert "declares no object roles" in registry.errors["no_roles"]
    assert "API version 0" in registry.errors["old_api"]
    assert "already taken" in registry.errors["push_left"]
    assert "['tool']" in registry.errors["undeclared"]
    assert any("not a video2policy.plugins.Behavior" in e for e in registry.errors.values())
    assert set(registry.names()) >= BUILTINS  # the good ones still load


def _fake_distribution(root: Path, name: str, entry_points: str, module: str | None = None) -> None:
    dist = root / f"{name}-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(entry_points)
    if module:
        (root / f"{name}.py").write_text(module)


def test_broken_plugin_is_reported_by_cli_and_does_not_break_others(tmp_path):
    _fake_distribution(
        tmp_path,
        "broken_plugin",
        "[video2policy.behaviors]\nbroken = broken_plugin:Broken\nmissing = no_such_module_xyz:Thing\n",
        "raise RuntimeError('this plugin is broken on purpose')\n",
    )
    proc = v2p("behaviors", "list", "--json", env=with_path(tmp_path))
    assert proc.returncode == 0, proc.stderr
    result = [json.loads(line) for line in proc.stdout.splitlines()][-1]
    assert "this plugin is broken on purpose" in result["errors"]["broken"]
    assert "No module named 'no_such_module_xyz'" in result["errors"]["missing"]
    assert {b["name"] for b in result["behaviors"]} >= BUILTINS
    assert "failed to load" in proc.stderr


def test_show_unknown_behavior_is_a_clear_error():
    proc = v2p("behaviors", "show", "juggling")
    assert proc.returncode == 2
    assert "no behavior named 'juggling'" in proc.stderr and "push_left" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_show_json_has_everything_agents_need():
    proc = v2p("behaviors", "show", "cover", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.splitlines()[-1])
    assert info["roles"].keys() == {"target", "cover"}
    assert "Covering [something] with [something]" in info["something_templates"]
    assert info["prompt_hints"] and info["cot_examples"]
    assert "class CoverTarget(Task)" in info["reference_code"]


@pytest.mark.slow
def test_example_plugin_installs_and_works(tmp_path):
    """pip-install examples/plugins/v2p-stack into a folder, then discover it, render its code and run it."""
    source = tmp_path / "src"
    shutil.copytree(ROOT / "examples" / "plugins" / "v2p-stack", source)
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target)]
    subprocess.run([*pip, str(source)], check=True, capture_output=True, timeout=300)
    proc = v2p("behaviors", "list", "--json", env=with_path(target))
    result = json.loads(proc.stdout.splitlines()[-1])
    stack = [b for b in result["behaviors"] if b["name"] == "stack_on"]
    assert stack and stack[0]["source"] == "v2p-stack 0.1.0"

    code = textwrap.dedent(
        """
        import json, sys, torch
        from video2policy.plugins import load_behaviors
        registry = load_behaviors()
        behavior, roles = registry.match("Putting [red block] on top of [blue box]")
        print(json.dumps({"name": behavior.name, "roles": roles}))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=with_path(target))
    assert json.loads(out.stdout) == {"name": "stack_on", "roles": {"top": "red block", "base": "blue box"}}

    gt_dir = tmp_path / "synth"
    proc = v2p("synth", "stack_on", "--seed", "0", "--out", str(gt_dir), "--size", "96x72", "--json",
               env=with_path(target))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["success"] is True


def test_registry_get_names_the_failure():
    registry = Registry(errors={"broken": "ImportError: nope"})
    with pytest.raises(KeyError, match="failed to load: ImportError: nope"):
        registry.get("broken")


def test_match_maps_captions_to_families_and_roles():
    registry = load_behaviors()
    cases = {
        "Covering [ball] with [cup]": ("cover", {"target": "ball", "cover": "cup"}),
        "Uncovering [ball]": ("uncover", {"target": "ball"}),
        "Pushing [cup] from left to right": ("push_right", {"target": "cup"}),
        "Pushing [cup] from right to left": ("push_left", {"target": "cup"}),
        "Putting [plush toy] into [bin]": ("throw_into", {"target": "plush toy", "container": "bin"}),
        "Pushing [cup] with [pen]": ("push_with", {"target": "cup", "tool": "pen"}),
        "Pushing [cup] next to [box]": ("push_next_to", {"target": "cup", "anchor": "box"}),
        "Dropping [keys] in front of [mug]": ("drop_in_front_of", {"target": "keys", "anchor": "mug"}),
        "lifting the red mug up": ("lift_up", {"target": "red mug"}),
        "Tipping [bottle] over.": ("tip_over", {"target": "bottle"}),
        "Inserting [fork] into [container]": ("insert", {"tool": "fork", "container": "container"}),
        "Sliding [remote] to [mouse]": ("slide_to", {"target": "remote", "anchor": "mouse"}),
        "Throwing [garlic] into [bowl]": ("throw_into", {"target": "garlic", "container": "bowl"}),
    }
    for caption, (name, roles) in cases.items():
        found = registry.match(caption)
        assert found is not None, caption
        assert (found[0].name, found[1]) == (name, roles), caption
    assert registry.match("Juggling [three balls]") is None


def test_success_checks_return_batched_bools():
    registry = load_behaviors()
    behavior = registry.get("lift_up")
    states = {
        "target_pos": torch.tensor([[0.0, 0.0, 0.2], [0.0, 0.0, 0.03]]),
        "target_init_pos": torch.tensor([[0.0, 0.0, 0.03], [0.0, 0.0, 0.03]]),
    }
    assert behavior.success(states, {"target": "target"}).tolist() == [True, False]
