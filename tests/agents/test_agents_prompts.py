"""Prompt templates render with the run's real data (StrictUndefined: a missing variable is an error)."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from video2policy.agents.scene_facts import scene_facts
from video2policy.agents.toolbox import behavior_roles, behaviors
from video2policy.prompts.render import add_to_pool, example_pool, messages, render
from video2policy.scene import SceneSpec


def test_prompts_carry_hints_poses_and_examples(block_scene_path: Path, tmp_path: Path) -> None:
    scene = SceneSpec.load(block_scene_path)
    facts = scene_facts(scene)
    assert facts["changes"][0]["direction"].startswith("left (-x) by 0.30 m")
    b = behaviors().get("push_left")
    view = {
        "name": b.name,
        "description": b.description,
        "roles": behavior_roles(b),
        "hints": list(b.prompt_hints),
        "cot_examples": list(b.cot_examples),
    }
    brief = {
        "behavior": "push_left",
        "roles": {"target": "block"},
        "task_description": "Push the block left.",
        "success_description": "15 cm left",
    }
    analyst = messages("analyst", facts=facts, behaviors=[view], behavior_hint=None, visual=True, images=["x"])
    assert "left (-x) by 0.30 m" in analyst[1]["content"] and "push_left" in analyst[1]["content"]
    pool = example_pool()
    assert [p["title"].split(":")[0] for p in pool] == [
        "Grasp the block and lift it 10 cm above the table.",
        "Reach the block",
    ]
    coder = messages(
        "coder", brief=brief, behavior=view, facts=facts, examples=pool, previous=None, success_weight=100.0
    )
    text = coder[1]["content"]
    assert "class ReachBlock(Task)" in text and b.prompt_hints[0] in text and "first position" in text
    assert "block_init_pos" in coder[0]["content"]  # the state dictionary is documented
    previous = {
        "tier": "smoke",
        "reason": "shape_mismatch",
        "message": "get_observation_space() returns 9",
        "code": "class X: pass",
    }
    repair = render(
        "coder",
        "user",
        brief=brief,
        behavior=view,
        facts=scene_facts(scene, tracking=False),
        examples=[],
        previous=previous,
        success_weight=100.0,
    )
    assert "failed the sandbox's smoke check (shape_mismatch)" in repair and "first position" not in repair
    critic = render(
        "critic",
        "user",
        brief=brief,
        candidates=[{"k": 0, "ok": True, "smoke": {"success_rate": 0.0}, "code": "x", "reason": None, "message": None}],
    )
    assert "Candidate 0" in critic
    reflector = render(
        "reflector",
        "user",
        brief=brief,
        code="x",
        feedback="success_rate: [0.0]",
        iteration=1,
        sample=0,
        human_feedback=["it pushes too slowly"],
    )
    assert "it pushes too slowly" in reflector and "success_rate: [0.0]" in reflector
    with pytest.raises(jinja2.UndefinedError):
        render("critic", "user", brief=brief)
    add_to_pool(tmp_path, "push_left_run1", "Push the block left.", "class PushLeft: pass")
    assert example_pool(tmp_path, limit=3)[2]["code"] == "class PushLeft: pass"
