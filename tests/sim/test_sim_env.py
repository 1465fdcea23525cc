"""The batched environment: determinism, batched equals single, state dictionary contract, rendering."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch

from video2policy.failures import FailureReason, TaskCodeError
from video2policy.scene import SceneSpec
from video2policy.tools.sim import TaskEnv, load_task_class
from video2policy.tools.sim.render import SceneRenderer, record_rollout


@pytest.fixture
def scene(block_scene_path) -> SceneSpec:
    return SceneSpec.load(block_scene_path)


def _actions(n: int, steps: int, seed: int = 7) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.rand(n, 7, generator=gen) * 2 - 1 for _ in range(steps)]


def test_same_seed_same_trajectory(scene, example_task):
    task_cls = load_task_class(example_task("push_block_left"))
    runs = []
    for _ in range(2):
        env = TaskEnv(scene, task_cls(), num_envs=8, seed=3)
        states = [env.physics_state()]
        for action in _actions(8, 130):  # crosses the 60-step horizon: auto-resets use the seed too
            env.step(action)
            states.append(env.physics_state())
        runs.append(np.stack(states))
    assert np.array_equal(runs[0], runs[1])
    other = TaskEnv(scene, task_cls(), num_envs=8, seed=4)
    assert not np.array_equal(other.physics_state(), runs[0][0])


def test_batched_worlds_step_exactly_like_single_worlds(scene, example_task):
    task_cls = load_task_class(example_task("push_block_left"))
    n, steps = 5, 40
    batched = TaskEnv(scene, task_cls(), num_envs=n, seed=11)
    singles = [TaskEnv(scene, task_cls(), num_envs=1, seed=0) for _ in range(n)]
    for i, single in enumerate(singles):
        single.set_physics_state(batched.physics_state()[i : i + 1], batched.ctrl[i : i + 1])
    for action in _actions(n, steps):
        batched.step(action)
        for i, single in enumerate(singles):
            single.step(action[i : i + 1])
    for i, single in enumerate(singles):
        assert np.array_equal(single.physics_state()[0], batched.physics_state()[i])


def test_state_dictionary_contract(scene, example_task):
    env = TaskEnv(scene, load_task_class(example_task("grasp_block"))(), num_envs=6)
    s = env.states
    expected = {
        "eef_pos": (6, 3),
        "eef_quat": (6, 4),
        "eef_vel_linear": (6, 3),
        "gripper_width": (6,),
        "table_height": (6,),
        "block_pos": (6, 3),
        "block_quat": (6, 4),
        "block_vel_linear": (6, 3),
        "block_vel_angular": (6, 3),
        "block_size": (6, 3),
        "block_init_pos": (6, 3),
    }
    for key, shape in expected.items():
        assert tuple(s[key].shape) == shape, key
        assert s[key].dtype == torch.float32, key
    assert torch.allclose(torch.linalg.vector_norm(s["eef_quat"], dim=1), torch.ones(6))
    assert torch.allclose(s["block_size"], torch.tensor([0.05, 0.05, 0.05]).expand(6, 3))
    obs, reward, done, info = env.step(torch.zeros(6, 7))
    assert obs.shape == (6, env.task.get_observation_space()) == (6, env.observation_width)
    assert reward.shape == (6,) and done.dtype == torch.bool and info["success"].dtype == torch.bool
    assert set(info["reward_components"]) == {"reach_reward", "closing_reward", "lift_reward"}


def test_default_task_parts_are_consistent(scene):
    from video2policy.tools.sim import Task

    class Minimal(Task):
        def compute_success(self, states):
            return states["block_pos"][:, 2] > 0.1

        def compute_reward(self, actions, states):
            return -states["block_pos"][:, 2], {}

    env = TaskEnv(scene, Minimal(), num_envs=3)
    assert env.obs.shape[1] == env.observation_width
    assert env.observation_width == 3 + 4 + 1 + 10


def test_auto_reset_reports_finished_episodes(scene, example_task):
    env = TaskEnv(scene, load_task_class(example_task("reach_block"))(), num_envs=4, horizon=10)
    start = env.states["block_pos"].clone()
    for _t in range(10):
        _, _, done, info = env.step(torch.zeros(4, 7))
    assert done.all()
    episodes = info["episodes"]
    assert list(episodes["length"]) == [10] * 4
    assert set(episodes["components"]) == {"reach_reward", "approach_penalty", "open_reward", "action_penalty"}
    assert not torch.allclose(env.states["block_pos"], start)  # new random placement
    assert torch.allclose(env.states["block_init_pos"], env.states["block_pos"])


def test_wrong_observation_width_is_a_typed_error(scene, example_task):
    task_cls = load_task_class(example_task("reach_block"))

    class Wrong(task_cls):
        def get_observation_space(self):
            return 8

    with pytest.raises(TaskCodeError) as err:
        TaskEnv(scene, Wrong(), num_envs=2)
    assert err.value.reason is FailureReason.SHAPE_MISMATCH
    assert "get_observation_space() returns 8" in str(err.value)


def test_non_finite_reward_is_a_typed_error(scene, example_task):
    task_cls = load_task_class(example_task("reach_block"))

    class NaNReward(task_cls):
        def compute_reward(self, actions, states):
            reward, parts = super().compute_reward(actions, states)
            return reward / 0.0 * 0.0, parts

    env = TaskEnv(scene, NaNReward(), num_envs=2)
    with pytest.raises(TaskCodeError) as err:
        env.step(torch.zeros(2, 7))
    assert err.value.reason is FailureReason.NON_FINITE


def test_unknown_scene_info_object_is_named(scene, example_task):
    task_cls = load_task_class(example_task("reach_block"))

    class Other(task_cls):
        scene_info = {"objects": ["mug"]}

    with pytest.raises(ValueError, match="'mug'"):
        TaskEnv(scene, Other(), num_envs=1)


def test_render_rgb_segmentation_and_rollout(scene, example_task, tmp_path):
    env = TaskEnv(scene, load_task_class(example_task("reach_block"))(), num_envs=2)
    renderer = SceneRenderer(env.compiled, 256, 256)
    renderer.set_state(env.physics_state()[0])
    rgb = renderer.rgb("front")
    seg = renderer.segmentation("front")
    assert rgb.shape == (256, 256, 3) and rgb.dtype == np.uint8 and rgb.std() > 10
    labels = set(np.unique(seg).tolist())
    assert {0, 1, 2} <= labels  # background/table, the block, the gripper
    block_pixels = rgb[seg == 1].mean(axis=0)
    assert block_pixels[0] > block_pixels[1] + 40  # the block is red
    depth = renderer.depth("front")
    assert depth.shape == (256, 256) and 0.2 < float(np.median(depth)) < 3.0
    result = record_rollout(env, lambda obs: torch.zeros(2, 7), tmp_path / "rollout.mp4", steps=15)
    with av.open(str(tmp_path / "rollout.mp4")) as video:
        frames = [f.to_ndarray(format="rgb24") for f in video.decode(video=0)]
    assert len(frames) == result["steps"] + 1 == 16
    assert frames[0].shape == (256, 256, 3)
