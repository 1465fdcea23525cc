"""The runner contains every attack of the suite with no lint in front of it, and reports the right reason.

Each attack runs as a plain script (`python -I attack.py CTX.json`): nothing checks its source, so these tests
show what the runner alone stops. Only torch_load_pickle imports torch.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import time
import uuid
from pathlib import Path

import pytest
from sandbox_attacks import ATTACKS, PRELUDE

from video2policy.failures import FailureReason
from video2policy.sandbox import Limits, run_isolated
from video2policy.sandbox.isolation import bwrap_works, interpreter_paths, world_readable
from video2policy.sandbox.runner import clean_env, paths_named_by

BWRAP_OK, BWRAP_WHY = bwrap_works()
needs_bwrap = pytest.mark.skipif(not BWRAP_OK, reason=f"bwrap level unavailable: {BWRAP_WHY}")
# At the process level the fork bomb, daemons and /proc/<parent>/environ are contained only under a user id of
# the sandbox's own (we are root and the Python installation is readable by others).
OWN_UID = os.geteuid() == 0 and world_readable(interpreter_paths())
ATTACK_LIMITS = Limits(memory_mb=256, address_space_mb=1024, processes=32, open_files=64, term_grace_s=1.0)
TORCH_LIMITS = Limits(memory_mb=2048, processes=64, term_grace_s=1.0)
HOST_PASSWD_LINE = Path("/etc/passwd").read_text().splitlines()[0]
SOURCE_DIR = Path(__file__).resolve().parents[2] / "src" / "video2policy"


class _Payload:
    """Unpickling this runs a shell command: what a malicious 'policy.pt' would carry."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _survivors(marker: str) -> list[int]:
    """Host processes whose command line names `marker` (the attack's script)."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline:
                pids.append(int(entry.name))
    return pids


def _run_attack(name: str, tmp_path: Path, level: str, server, secret: str):
    attack = ATTACKS[name]
    job, outside = tmp_path / "job", tmp_path / "outside"
    job.mkdir()
    outside.mkdir()
    tag = uuid.uuid4().hex[:8]
    targets = [
        str(outside / "direct.txt"),
        str(SOURCE_DIR / f"pwned-{tag}.txt"),
        f"/tmp/v2p-pwned-{tag}.txt",
        f"{sys.prefix}/pwned-{tag}.txt",
    ]
    ctx = {"port": server.port, "outside": str(outside), "targets": targets, "payload": str(job / "policy.pt")}
    if name == "torch_load_pickle":
        import torch

        torch.save(_Payload(f"echo pwned > {outside}/pickle.txt; echo ran > {job}/pickle-ran.txt"), job / "policy.pt")
    (job / "ctx.json").write_text(json.dumps(ctx))
    script = job / f"attack-{name}-{tag}.py"
    script.write_text(PRELUDE + attack.body)
    limits = TORCH_LIMITS if name == "torch_load_pickle" else ATTACK_LIMITS
    try:
        start = time.monotonic()
        result = run_isolated(
            [sys.executable, str(script), str(job / "ctx.json")], job, limits, attack.timeout_s, level=level
        )
        elapsed = time.monotonic() - start
        deadline = time.monotonic() + 3
        while _survivors(script.name) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = _survivors(script.name)
        loot = (job / "loot.txt").read_text() if (job / "loot.txt").exists() else ""
        escaped_files = [t for t in targets if Path(t).exists()] + [str(p) for p in outside.iterdir()]
    finally:
        for target in targets[1:]:
            Path(target).unlink(missing_ok=True)
    return result, elapsed, survivors, loot, escaped_files


def _assert_contained(name, result, elapsed, survivors, loot, escaped, server, secret, tmp_path) -> None:
    attack = ATTACKS[name]
    assert not escaped, f"{name} wrote outside the job folder: {escaped}"
    assert server.accepted == 0, f"{name} reached a server on the host's 127.0.0.1"
    assert secret not in loot, f"{name} read the parent's secrets"
    assert HOST_PASSWD_LINE not in loot, f"{name} read the host's /etc/passwd"
    assert not survivors, f"{name} left processes behind: {survivors}"
    expected = FailureReason(attack.reason) if attack.reason else None
    assert result.reason == expected, f"{name}: {result.reason} ({result.message}); stderr: {result.stderr_tail}"
    if expected == FailureReason.TIMEOUT:
        assert result.timed_out
        assert elapsed < attack.timeout_s + ATTACK_LIMITS.term_grace_s + 5
    if expected == FailureReason.MEMORY_LIMIT:
        assert result.killed_by_memory
    if attack.ran:
        assert attack.ran in loot, f"{name} did not run as intended: {loot[:300]!r} {result.stderr_tail[-300:]!r}"
    if name == "torch_load_pickle":  # the default refuses the pickle; weights_only=False runs it, contained
        assert (tmp_path / "job" / "pickle-ran.txt").exists()


@needs_bwrap
@pytest.mark.parametrize("name", list(ATTACKS))
def test_bwrap_contains_attack(name, tmp_path, loopback_server, secrets_in_env):
    result, elapsed, survivors, loot, escaped = _run_attack(name, tmp_path, "bwrap", loopback_server, secrets_in_env)
    assert result.level == "bwrap"
    _assert_contained(name, result, elapsed, survivors, loot, escaped, loopback_server, secrets_in_env, tmp_path)


PROCESS_CONTAINED = ["memory_bomb", "memory_bomb_shared_mapping", "infinite_loop", "ignore_sigterm"]
PROCESS_CONTAINED_WITH_OWN_UID = ["fork_bomb", "daemon_escape", "parent_environment"]


@pytest.mark.parametrize("name", PROCESS_CONTAINED + PROCESS_CONTAINED_WITH_OWN_UID)
def test_process_level_contains_resource_attacks(name, tmp_path, loopback_server, secrets_in_env):
    """Without bwrap the rlimits, the clean environment and the kill sweep still hold (files/network do not)."""
    if name in PROCESS_CONTAINED_WITH_OWN_UID and not OWN_UID:
        pytest.skip("needs a sandbox user id of its own (root, Python readable by other users)")
    result, elapsed, survivors, loot, escaped = _run_attack(name, tmp_path, "process", loopback_server, secrets_in_env)
    assert result.level == "process"
    assert any("sandbox level 'process'" in w for w in result.warnings)
    _assert_contained(name, result, elapsed, survivors, loot, escaped, loopback_server, secrets_in_env, tmp_path)


@pytest.mark.parametrize("name", ["read_passwd", "network_loopback"])
def test_control_the_checks_see_an_escape(name, tmp_path, loopback_server, secrets_in_env):
    """Control: at the process level these attacks succeed, and the assertions above would catch it."""
    _, _, _, loot, _ = _run_attack(name, tmp_path, "process", loopback_server, secrets_in_env)
    assert HOST_PASSWD_LINE in loot or loopback_server.accepted == 1


def test_clean_environment_refuses_credentials(tmp_path, secrets_in_env):
    env = clean_env(tmp_path, "bwrap", {"OMP_NUM_THREADS": "2"})
    assert env["OMP_NUM_THREADS"] == "2"
    assert secrets_in_env not in json.dumps(env)
    assert not any("PROXY" in k.upper() for k in env)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        clean_env(tmp_path, "bwrap", {"OPENAI_API_KEY": "x"})
    with pytest.raises(ValueError, match="https_proxy"):
        clean_env(tmp_path, "bwrap", {"https_proxy": "http://p:1"})


@needs_bwrap
def test_only_named_paths_are_visible_and_results_come_back_through_the_job_folder(tmp_path):
    """The job file's paths are readable, everything else of the host's tree is not; outputs stay owned by us."""
    data, job, hidden = tmp_path / "data", tmp_path / "job", tmp_path / "hidden"
    for folder in (data, job, hidden):
        folder.mkdir()
    (data / "scene.json").write_text('{"ok": 1}')
    (hidden / "other.txt").write_text("not for the sandbox")
    (job / "job.json").write_text(json.dumps({"scene_path": str(data / "scene.json"), "out_dir": str(job)}))
    script = job / "read.py"
    script.write_text(
        "import json, sys, os\n"
        "job = json.load(open(sys.argv[1]))\n"
        f"seen = {{'scene': open(job['scene_path']).read(), 'hidden': os.path.exists({str(hidden / 'other.txt')!r}),\n"
        "        'flags': sys.flags.isolated}\n"
        "json.dump(seen, open('result.json', 'w'))\n"
    )
    result = run_isolated([sys.executable, str(script), str(job / "job.json")], job, timeout_s=30)
    assert result.ok, result.message
    seen = json.loads((job / "result.json").read_text())
    assert seen == {"scene": '{"ok": 1}', "hidden": False, "flags": 1}
    assert (job / "result.json").stat().st_uid == os.getuid()  # handed back after the run
    assert str(data) in paths_named_by([sys.executable, str(script), str(job / "job.json")], job)


def test_exit_codes_and_output_tails_are_reported(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text("import sys\nprint('to stdout')\nsys.stderr.write('boom: the reason\\n')\nsys.exit(3)\n")
    result = run_isolated([sys.executable, str(script)], tmp_path, timeout_s=30)
    assert result.returncode == 3
    assert result.reason == FailureReason.RUNTIME_ERROR
    assert "exited with code 3" in result.message and "boom: the reason" in result.message
    assert result.stdout_tail == "to stdout\n"


def test_pickled_payload_never_runs_in_the_sandbox_package():
    """The probe and the tiers never unpickle: no torch.load / pickle.load anywhere in video2policy.sandbox."""
    package = SOURCE_DIR / "sandbox"
    for path in package.glob("*.py"):
        text = path.read_text()
        assert "torch.load(" not in text and "pickle.load" not in text, path
    assert pickle.dumps(_Payload("true"))  # the payload class used above is a real pickle gadget
