"""The offline provider (no language model): analyst, coder, critic and reflector rules, and reward rescaling that
runs in the real MuJoCo environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from video2policy.agents import rewards
from video2policy.agents.llm import LLMClient, LLMError, LLMRequest
from video2policy.agents.offline import OfflineProvider, smoke_score
from video2policy.agents.schemas import PickAnswer, TaskBrief, TaskCodeAnswer
from video2policy.agents.toolbox import behaviors
from video2policy.scene import SceneSpec
from video2policy.tools.sim import TaskEnv, load_task_class
from video2policy.trace.ledger import Trace


@pytest.fixture(scope="module")
def registry():
    return behaviors()


def _client(tmp_path: Path, registry) -> LLMClient:
    return LLMClient(OfflineProvider(registry), tmp_path / "cache", Trace(tmp_path / "trace.jsonl"))


def _ask(client: LLMClient, agent: str, schema, context: dict, fmt: str = "json", sample: int = 0, validation=None):
    request = LLMRequest(
        agent=agent,
        output=schema.__name__,
        output_format=fmt,
        sample=sample,
        context=context,
        messages=[{"role": "user", "content": "(rendered prompt)"}],
    )
    return client.ask(request, schema, validation)


def test_analyst_maps_caption_to_behavior_and_roles(tmp_path: Path, registry) -> None:
    client = _client(tmp_path, registry)
    objects = [{"name": "plate", "label": "plate"}, {"name": "red_cup", "label": "cup"}]
    brief, response = _ask(
        client, "analyst", TaskBrief, {"caption": "Pushing [cup] from right to left", "objects": objects}
    )
    assert brief.behavior == "push_left" and brief.roles == {"target": "red_cup"}
    assert response.provider == "offline"
    brief, _ = _ask(
        client, "analyst", TaskBrief, {"caption": "something odd", "objects": objects, "behavior_hint": "lift_up"}
    )
    assert brief.behavior == "lift_up" and brief.roles == {"target": "plate"}
    with pytest.raises(LLMError, match="no behavior's caption patterns match"):
        _ask(client, "analyst", TaskBrief, {"caption": "juggling three balls", "objects": objects})


def test_coder_renders_seeded_variations_that_differ(tmp_path: Path, registry) -> None:
    client = _client(tmp_path, registry)
    ctx = {"behavior": "push_left", "roles": {"target": "block"}, "attempt": 0}
    codes = [_ask(client, "coder", TaskCodeAnswer, ctx, "code", sample=k)[0].code for k in range(3)]
    assert len(set(codes)) == 3
    assert all(c.startswith("# provider: offline") for c in codes)
    assert codes[0].count("block") > 2


def test_critic_prefers_a_promising_smoke_run(tmp_path: Path, registry) -> None:
    client = _client(tmp_path, registry)
    candidates = [
        {"k": 0, "ok": False, "smoke": {}},
        {"k": 1, "ok": True, "smoke": {"success_rate": 1.0, "reward_std": 0.3}},  # trivially true success
        {"k": 2, "ok": True, "smoke": {"success_rate": 0.0, "reward_std": 0.2}},
    ]
    pick, _ = _ask(client, "critic", PickAnswer, {"candidates": candidates}, validation={"runnable": [1, 2]})
    assert pick.choice == 2
    pick, _ = _ask(client, "critic", PickAnswer, {"candidates": candidates, "no_success_picking": True})
    assert pick.choice == 1
    assert smoke_score({"success_rate": 0.0, "reward_std": 0.0}) < smoke_score({"success_rate": 0.0, "reward_std": 0.1})


def _rewards_of(path: Path, scene_path: Path, steps: int = 5) -> list[tuple[torch.Tensor, dict]]:
    scene = SceneSpec.load(scene_path)
    env = TaskEnv(scene, load_task_class(path)(), num_envs=4, seed=3, scene_dir=scene_path.parent, nthread=1)
    gen = torch.Generator().manual_seed(0)
    out = []
    for _ in range(steps):
        actions = torch.rand(4, 7, generator=gen) * 2 - 1
        _, reward, _, info = env.step(actions)
        out.append((reward, info["reward_components"]))
    return out


def test_rescaled_reward_equals_original_plus_scaled_components(
    tmp_path: Path, example_task, block_scene_path: Path
) -> None:
    code = example_task("push_block_left").read_text()
    names = rewards.reward_components(code)
    assert names == ["approach_reward", "progress_reward", "drift_penalty"]
    same = tmp_path / "same.py"
    same.write_text(rewards.apply_scales(code, dict.fromkeys(names, 1.0)))
    doubled = tmp_path / "doubled.py"
    doubled.write_text(rewards.apply_scales(code, {"progress_reward": 2.0, "drift_penalty": 0.5}))
    assert rewards.current_scales(doubled.read_text()) == {"progress_reward": 2.0, "drift_penalty": 0.5}
    rescaled = rewards.apply_scales(doubled.read_text(), {"progress_reward": 3.0})  # replaces the table
    assert rewards.current_scales(rescaled) == {"progress_reward": 3.0}
    assert rewards.reward_components(rescaled) == names
    original = _rewards_of(example_task("push_block_left"), block_scene_path)
    for (r0, c0), (r1, _), (r2, _) in zip(
        original, _rewards_of(same, block_scene_path), _rewards_of(doubled, block_scene_path), strict=True
    ):
        torch.testing.assert_close(r1, r0)
        torch.testing.assert_close(r2, r0 + c0["progress_reward"] - 0.5 * c0["drift_penalty"])


def test_reflector_rules(tmp_path: Path, registry, example_task) -> None:
    scales = {"approach_reward": 1.0, "progress_reward": 1.0, "drift_penalty": 1.0}
    curves = {
        "success": [0.0, 0.0],
        "components": {
            "approach_reward": [0.1, 0.2, 0.4, 0.6],  # improving bonus
            "progress_reward": [0.05, 0.05, 0.05, 0.05],  # flat bonus: no signal
            "drift_penalty": [-30.0, -31.0, -29.0, -30.0],
        },
    }  # dominates
    new, reasons = rewards.reflect_by_rules(scales, curves, success_rate=0.0, human_feedback=[])
    assert new["drift_penalty"] < 1.0 and new["progress_reward"] == 2.0 and new["approach_reward"] == 1.5
    assert any("dominates" in r for r in reasons)
    slow, reasons = rewards.reflect_by_rules(scales, {"components": {}}, 0.9, ["it pushes too slowly"])
    assert slow["progress_reward"] == 1.5 and "too slowly" in reasons[0]
    # through the provider: the answer is valid task code with the new scales in it
    client = _client(tmp_path, registry)
    code = example_task("push_block_left").read_text()
    answer, _ = _ask(
        client,
        "reflector",
        TaskCodeAnswer,
        {"mode": "reflect", "code": code, "curves": curves, "success_rate": 0.0, "human_feedback": []},
        "code",
    )
    assert rewards.current_scales(answer.code)["progress_reward"] == 2.0
    sample, _ = _ask(client, "reflector", TaskCodeAnswer, {"mode": "sample", "code": code}, "code", sample=3)
    assert set(rewards.current_scales(sample.code)) == set(scales)
    assert json.dumps(rewards.current_scales(sample.code)) != json.dumps(scales)
