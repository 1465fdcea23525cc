"""`v2p train SCENE --task-code FILE` and `v2p eval POLICY`: PPO training and ground-truth evaluation."""

from __future__ import annotations

from pathlib import Path

import typer

from video2policy.cli.output import Output


def _hyperparameters(pairs: list[str], out: Output) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            from video2policy.cli.main import fail

            raise fail(out, f"--hp {pair!r}: expected NAME=VALUE, e.g. --hp learning_rate=3e-4")
        parsed[key.strip()] = value.strip()
    return parsed


def train_cmd(
    scene: Path = typer.Argument(..., help="scene.json"),
    task_code: Path = typer.Option(..., "--task-code", help="task code file (a Task subclass with the six parts)"),
    steps: int | None = typer.Option(None, "--steps", help="environment steps (default: setting train_env_steps)"),
    envs: int | None = typer.Option(None, "--envs", help="parallel worlds (default: setting train_num_envs)"),
    seed: int = typer.Option(0, "--seed"),
    out_dir: Path | None = typer.Option(None, "--out", help="output folder (default: runs/train/<task>-s<seed>)"),
    hp: list[str] = typer.Option([], "--hp", help="PPO hyperparameter override NAME=VALUE (repeatable)"),
    timeout: float | None = typer.Option(None, "--timeout", help="seconds (default: setting train_timeout_s)"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Train a policy for the task code with rl-games PPO; writes train.json, log.jsonl and policy.pt."""
    from video2policy.cli.main import fail
    from video2policy.settings import load_settings

    out = Output(json_out)
    for path, what in ((scene, "scene"), (task_code, "task code")):
        if not path.is_file():
            raise fail(out, f"{what} file {path} does not exist")
    settings = load_settings()
    from video2policy.tools.rl.hyperparams import PPOConfig
    from video2policy.tools.rl.train import TrainJob, train

    overrides = {**settings.train_hyperparameters, **_hyperparameters(hp, out)}
    try:
        PPOConfig.from_overrides(overrides)
    except ValueError as exc:
        raise fail(out, str(exc)) from None
    job = TrainJob(
        scene_path=scene,
        task_code_path=task_code,
        out_dir=out_dir or Path(settings.runs_dir) / "train" / f"{task_code.stem}-s{seed}",
        env_steps=steps or settings.train_env_steps,
        num_envs=envs or settings.train_num_envs,
        seed=seed,
        success_weight=settings.success_weight,
        hyperparameters=overrides,
        timeout_s=timeout or settings.train_timeout_s,
        sim_threads=settings.sim_threads,
    )
    out.info(
        f"training {task_code.name} on {scene.name}: {job.env_steps} env steps, {job.num_envs} worlds, "
        f"seed {seed} → {job.out_dir}"
    )
    with out.progress("train", total=job.env_steps) as bar:

        def progress(record: dict) -> None:
            rate = record.get("success_rate")
            status = f"success {rate:.2f}" if rate is not None else ""
            bar.update(
                min(record["env_steps"], job.env_steps),
                status,
                env_steps=record["env_steps"],
                success_rate=rate,
                episode_return=record.get("episode_return"),
            )

        result = train(job, progress=progress)
    data = result.model_dump(mode="json")
    out.result(data)
    m = result.metrics
    if not result.ok:
        where = "" if result.in_task_code else " (in the trainer, not the task code)"
        raise fail(out, f"training failed{where}: {result.reason}: {result.message}\n{result.traceback}", code=1)
    out.info(
        f"done: {m['env_steps']} env steps in {m['train_wall_s']:.1f} s ({m['env_steps_per_s']:.0f} steps/s, "
        f"{m['env_share'] or 0:.0%} of it in the environment), training success {m['final_success_rate']}; "
        f"policy {result.files.get('policy')}"
    )


def eval_cmd(
    policy: Path = typer.Argument(..., help="policy.pt"),
    scene: Path | None = typer.Option(None, "--scene", help="scene.json (default: the one the policy was trained on)"),
    task_code: Path | None = typer.Option(
        None, "--task-code", help="task code (default: the one the policy was trained on)"
    ),
    success: str | None = typer.Option(
        None,
        "--success",
        help="ground truth: a .py file defining success(states), 'behavior[:NAME]' (the plugin's "
        "check, roles from the scene caption), or 'task' (the task code's own check, not ground truth) "
        "(default: behavior)",
    ),
    episodes: int | None = typer.Option(None, "--episodes", help="episodes per seed (default: setting eval_episodes)"),
    seeds: str | None = typer.Option(None, "--seeds", help="comma-separated seeds (default: setting eval_seeds)"),
    video: Path | None = typer.Option(None, "--video", help="write a rollout mp4 here"),
    out_path: Path | None = typer.Option(None, "--out", help="write eval.json here"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Evaluate a trained policy, deterministic, over episodes × seeds with a ground-truth success check."""
    from video2policy.cli.main import fail
    from video2policy.settings import load_settings

    out = Output(json_out)
    settings = load_settings()
    from video2policy.tools.rl.evaluate import evaluate
    from video2policy.tools.rl.policy import load_policy

    try:
        loaded = load_policy(policy)
    except (OSError, ValueError) as exc:
        raise fail(out, str(exc)) from None
    scene = scene or _from_metadata(loaded.metadata, "scene_path")
    task_code = task_code or _from_metadata(loaded.metadata, "task_code_path")
    if scene is None or task_code is None:
        raise fail(out, f"{policy} does not name its scene and task code; pass --scene and --task-code")
    for path, what in ((scene, "scene"), (task_code, "task code")):
        if not path.is_file():
            raise fail(out, f"{what} file {path} does not exist")
    try:
        success_fn, source = _success_check(success, scene, task_code)
        seed_list = tuple(int(s) for s in seeds.split(",")) if seeds else tuple(settings.eval_seeds)
    except ValueError as exc:
        raise fail(out, str(exc)) from None
    if source.startswith("task code"):
        out.warn("evaluating with the task code's own compute_success, not a ground-truth check")
    n = episodes or settings.eval_episodes
    out.info(f"evaluating {policy} on {task_code.name}: {n} episodes × seeds {list(seed_list)}; success: {source}")
    with out.progress("eval", total=len(seed_list)) as bar:
        result = evaluate(
            scene,
            task_code,
            loaded,
            success_fn,
            episodes=n,
            seeds=seed_list,
            video_path=video,
            progress=lambda i, total: bar.update(i, f"seed {i}/{total}"),
        )
    data = result.model_dump(mode="json") | {"success_source": source, "policy": str(policy)}
    if out_path:
        result.save(out_path)
    out.result(data)
    out.info(
        f"success {result.success_rate:.2f} ± {result.success_std:.2f} (at the end: {result.success_at_end:.2f})"
        + (f"; video {result.video}" if result.video else "")
    )


def _from_metadata(metadata: dict, key: str) -> Path | None:
    value = metadata.get(key)
    return Path(value) if value else None


def _success_check(spec: str | None, scene: Path, task_code: Path):
    """(success_fn, description) for --success."""
    from video2policy.scene import SceneSpec
    from video2policy.tools.rl import ground_truth

    spec = spec or "behavior"
    if spec == "task":
        from video2policy.tools.sim.task import load_task_class

        task = load_task_class(task_code)()
        return task.compute_success, f"task code {task_code.name} compute_success"
    if spec == "behavior" or spec.startswith("behavior:"):
        name = spec.partition(":")[2] or None
        return ground_truth.from_behavior(SceneSpec.load(scene), name)
    if spec.endswith(".py"):
        return ground_truth.from_file(spec), f"success() in {spec}"
    raise ValueError(f"--success {spec!r}: expected a .py file, 'behavior[:NAME]' or 'task'")
