"""`v2p doctor` and `v2p bench sim` answer in JSON on stdout."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from video2policy.cli.main import app


def _result(output: str) -> dict:
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return next(e for e in events if e["event"] == "result")


def test_doctor_reports_versions_rendering_and_sandbox():
    res = CliRunner().invoke(app, ["doctor", "--json"])
    assert res.exit_code == 0, res.output
    report = _result(res.stdout)
    assert report["packages"]["mujoco"] and report["packages"]["torch"]
    assert report["rendering"]["ok"] is True
    assert report["sandbox"] in {"bwrap", "process"}
    assert isinstance(report["missing"], dict)


def test_bench_sim_measures_both_sides():
    res = CliRunner().invoke(app, ["bench", "sim", "--sizes", "1,8", "--env-steps", "400", "--json"])
    assert res.exit_code == 0, res.output
    rows = _result(res.stdout)["rows"]
    assert [r["num_envs"] for r in rows] == [1, 8]
    for row in rows:
        assert row["raw_env_steps_per_s"] > 0 and row["batched_env_steps_per_s"] > 0
        assert abs(row["ratio"] - row["batched_env_steps_per_s"] / row["raw_env_steps_per_s"]) < 0.01


def test_output_keeps_caption_brackets_and_any_event_field(capsys):
    """Captions are full of [brackets] and progress rows may carry a field named `kind`: neither may be lost."""
    from video2policy.cli.output import Output

    out = Output(json_mode=True)
    out.warn("no object for 'Pushing [cup] from right to left'")
    out.event("progress", kind="run", row={"task": "reach_block"})
    captured = capsys.readouterr()
    assert "[cup]" in captured.err
    events = [json.loads(line) for line in captured.out.splitlines()]
    assert events[-1] == {"event": "progress", "kind": "run", "row": {"task": "reach_block"}}
    assert events[0]["event"] == "warning" and "[cup]" in events[0]["message"]
