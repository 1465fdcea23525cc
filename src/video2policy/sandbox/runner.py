"""The isolated runner: one untrusted command in a subprocess, contained, killed on time, explained on failure.

`run_isolated` starts `argv` (a Python interpreter gets `-I`) with a clean environment (no API keys, no proxies),
rlimits (memory, CPU seconds, file size, open files, processes), inside bubblewrap when it works here
(see isolation.py), with the job folder as the only writable place. A wall-clock timeout sends SIGTERM and, after
a grace period, SIGKILL to everything the command started. Results come back through files in the job folder;
the `RunResult` says how the process ended and why, in the failure taxonomy shared with training.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from pydantic import BaseModel, Field

from video2policy.failures import FailureReason
from video2policy.sandbox.isolation import (
    bwrap_argv,
    fallback_warning,
    interpreter_paths,
    isolation_level,
    minimal_roots,
    new_sandbox_uid,
    setpriv_path,
    world_readable,
)
from video2policy.sandbox.limits import CHECK_LIMITS, TRAIN_LIMITS, Limits, apply_rlimits, rlimits

TAIL_CHARS = 4000
POLL_S = 0.05
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION|PROXY", re.IGNORECASE)
PASSED_THROUGH = ("MUJOCO_GL", "PYOPENGL_PLATFORM", "HF_HUB_OFFLINE", "TZ")
MEMORY_TEXT = re.compile(
    r"MemoryError|Cannot allocate memory|can't allocate memory|std::bad_alloc|out of memory", re.IGNORECASE
)
RLIMIT_FLAGS = {"DATA": "--data", "CPU": "--cpu", "FSIZE": "--fsize", "NOFILE": "--nofile", "NPROC": "--nproc"}
RLIMIT_FLAGS |= {"CORE": "--core", "AS": "--as"}


class RunResult(BaseModel):
    """How a sandboxed command ended. `reason` is None when it exited with code 0 inside its limits."""

    argv: list[str]
    job_dir: str
    level: str = Field(description="'bwrap' or 'process'")
    returncode: int | None = Field(description="exit code; negative: killed by that signal")
    signal: str | None = None
    timed_out: bool = False
    killed_by_memory: bool = False
    reason: FailureReason | None = None
    message: str = ""
    stdout_tail: str = ""
    stderr_tail: str = ""
    wall_s: float = 0.0
    warnings: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reason is None


def clean_env(job_dir: Path, level: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A minimal environment. Extra variables that look like credentials or proxies are refused."""
    scratch = "/tmp" if level == "bwrap" else str(job_dir / "tmp")
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": scratch,
        "TMPDIR": scratch,
        "XDG_CACHE_HOME": f"{scratch}/.cache",
        "LANG": "C.UTF-8",
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env |= {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
    for key, value in (extra or {}).items():
        if SECRET_NAME.search(key):
            raise ValueError(f"environment variable {key} looks like a credential or proxy; it is never passed")
        env[key] = str(value)
    return env


def paths_named_by(argv: list[str], job_dir: Path) -> tuple[str, ...]:
    """Existing paths the command names (a file: its folder), and the paths inside JSON job files it names.

    These become visible read-only inside the bwrap sandbox, so a worker can read its scene, task code and assets.
    """
    found: set[str] = set()

    def add(value: str, depth: int = 0) -> None:
        if "/" not in value or len(value) > 4096:
            return
        path = Path(value)
        if not path.is_absolute() or not path.exists():
            return
        path = path.resolve()
        if path.is_file() and path.suffix == ".json" and depth == 0 and path.stat().st_size < 1_000_000:
            try:
                for inner in _strings(json.loads(path.read_text())):
                    add(inner, depth + 1)
            except (json.JSONDecodeError, UnicodeDecodeError):
                pass
        found.add(str(path.parent if path.is_file() else path))

    for arg in argv[1:]:
        add(arg)
    return tuple(p for p in minimal_roots(found) if p != "/")


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for v in data.values() for s in _strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return []


def _with_isolated_flag(argv: list[str]) -> list[str]:
    """`python ...` becomes `python -I ...`: no user site-packages, no PYTHON* variables, no cwd on sys.path."""
    if argv and Path(argv[0]).name.startswith("python") and "-I" not in argv[1:2]:
        return [argv[0], "-I", *argv[1:]]
    return list(argv)


def _user_threads(uid: int) -> int:
    """Processes and threads of `uid` now: RLIMIT_NPROC counts them all, so the limit is added on top."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("Uid", "-1 0").split()[0]) == uid:
            total += int(fields.get("Threads", "1"))
    return total


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            with contextlib.suppress(OSError):
                os.lchown(os.path.join(folder, name), uid, gid)
    os.lchown(root, uid, gid)


def _signal_uid(uid: int, sig: int) -> None:
    """Send `sig` to every process of the sandbox user at once: a forked helper takes the uid and kill(-1)s."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only makes three system calls
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, sig)
        except BaseException:
            pass
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                children = Path(f"/proc/{current}/task/{tid}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                out.append(child)
                todo.append(child)
    return out


def _signal_all(proc: subprocess.Popen, uid: int | None, sig: int) -> None:
    for pid in _descendants(proc.pid):
        with contextlib.suppress(OSError):
            os.kill(pid, sig)
    if uid is not None:
        _signal_uid(uid, sig)
    if sig == signal.SIGKILL:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, sig)


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - TAIL_CHARS))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def _wrap_limits(prlimit: str, command: list[str], table: dict[int, int]) -> list[str]:
    """prlimit sets the rlimits and execs the command (no Python code between fork and exec: thread-safe)."""
    args = [prlimit]
    for name, flag in RLIMIT_FLAGS.items():
        which = getattr(resource, f"RLIMIT_{name}")
        if which in table:
            value = table[which]
            hard = value + 2 if name == "CPU" else value
            args.append(f"{flag}={value}:{hard}")
    return [*args, "--", *command]


def run_isolated(
    argv: list[str],
    job_dir: str | Path,
    limits: Limits | None = None,
    timeout_s: float = 600.0,
    *,
    read_only: list[str | Path] | tuple[str | Path, ...] = (),
    env: dict[str, str] | None = None,
    level: str | None = None,
    start_marker: str | Path | None = None,
    startup_timeout_s: float = 120.0,
) -> RunResult:
    """Run `argv` contained; the job folder is its working directory and its only writable place.

    `read_only`: more paths to make visible (the paths `argv` names, and those inside JSON files it names, always
    are). `env`: extra variables (credentials are refused). `level`: 'auto' (default), 'bwrap' or 'process'.
    `start_marker`: a file the command creates when its start-up is done; the timeout then counts from that
    moment, and start-up itself gets `startup_timeout_s` (importing torch can be slow on a loaded machine).
    """
    limits = limits or TRAIN_LIMITS
    job_dir = Path(job_dir).resolve()
    job_dir.mkdir(parents=True, exist_ok=True)
    chosen = isolation_level(level)
    warnings = [] if chosen == "bwrap" else [fallback_warning()]
    argv = _with_isolated_flag([str(a) for a in argv])
    visible = tuple(str(Path(p).resolve()) for p in read_only) + paths_named_by(argv, job_dir)
    env_vars = clean_env(job_dir, chosen, env)

    uid = new_sandbox_uid()
    if uid is not None and not setpriv_path():
        warnings.append("setpriv is missing: the command runs as root and the process limit is not enforced")
        uid = None
    if uid is not None and chosen == "process" and not world_readable(interpreter_paths() + visible):
        warnings.append(
            "the Python installation is not readable by other users: the command runs as root (no process limit)"
        )
        uid = None
    marker = Path(start_marker) if start_marker else None
    if marker is not None:
        marker.unlink(missing_ok=True)
    if chosen == "process":
        (job_dir / "tmp").mkdir(exist_ok=True)
    extra_processes = _user_threads(os.getuid()) if uid is None else 0
    total_timeout = timeout_s + (startup_timeout_s if marker else 0)
    table = rlimits(limits, total_timeout, extra_processes)

    if chosen == "bwrap":
        command = bwrap_argv(argv, job_dir, visible, limits.tmpfs_mb * 1024 * 1024, uid)
    else:
        drop = ["--reuid", str(uid), "--regid", str(uid), "--clear-groups"] if uid is not None else []
        command = [setpriv_path(), "--pdeathsig", "KILL", *drop, "--", *argv] if setpriv_path() else argv
    prlimit = shutil.which("prlimit")
    if prlimit:
        command = _wrap_limits(prlimit, command, table)

    if uid is not None:
        _chown_tree(job_dir, uid, uid)
    stdout_path, stderr_path = job_dir / "stdout.log", job_dir / "stderr.log"
    start = time.perf_counter()
    timed_out, code = False, None
    try:
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            proc = subprocess.Popen(
                command,
                cwd=job_dir,
                env=env_vars,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
                preexec_fn=None if prlimit else functools.partial(apply_rlimits, table),
            )
            timed_out = _wait(proc, uid, limits, timeout_s, marker, startup_timeout_s)
            _signal_all(proc, uid, signal.SIGKILL)  # whatever it left behind, daemons included
            code = proc.returncode
    finally:
        if uid is not None:
            _chown_tree(job_dir, os.getuid(), os.getgid())
    wall = time.perf_counter() - start
    return _result(argv, job_dir, chosen, code, timed_out, limits, wall, warnings, stdout_path, stderr_path)


def _wait(
    proc: subprocess.Popen,
    uid: int | None,
    limits: Limits,
    timeout_s: float,
    marker: Path | None,
    startup_timeout_s: float,
) -> bool:
    """Wait for the command; at its deadline SIGTERM everything, then SIGKILL after the grace period."""
    started = time.monotonic()
    deadline = started + (startup_timeout_s if marker else timeout_s)
    counting = marker is None
    while True:
        try:
            proc.wait(timeout=POLL_S)
            return False
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if not counting and marker is not None and marker.exists():
            counting, deadline = True, now + timeout_s
        if now >= deadline:
            break
    _signal_all(proc, uid, signal.SIGTERM)
    try:
        proc.wait(timeout=limits.term_grace_s)
    except subprocess.TimeoutExpired:
        _signal_all(proc, uid, signal.SIGKILL)
        proc.wait()
    return True


def _result(
    argv: list[str],
    job_dir: Path,
    level: str,
    code: int | None,
    timed_out: bool,
    limits: Limits,
    wall: float,
    warnings: list[str],
    stdout_path: Path,
    stderr_path: Path,
) -> RunResult:
    stderr = _tail(stderr_path)
    if level == "bwrap" and code is not None and code > 128 and code - 128 < signal.NSIG:
        code = -(code - 128)  # bwrap reports a signal death of its child as 128 + signal
    sig = signal.Signals(-code).name if code is not None and code < 0 and -code < signal.NSIG else None
    memory = not timed_out and (bool(MEMORY_TEXT.search(stderr)) or sig == "SIGKILL")
    reason, message = None, ""
    if stderr.startswith("bwrap:") and code == 1:
        reason, message = FailureReason.RUNTIME_ERROR, f"the sandbox could not start: {stderr.strip()[:300]}"
    elif timed_out:
        reason, message = FailureReason.TIMEOUT, "it ran past its wall-clock time limit and was killed"
    elif sig == "SIGXCPU":
        reason, message = FailureReason.TIMEOUT, f"it used more than its {limits.cpu_seconds or ''} CPU seconds"
    elif memory:
        reason = FailureReason.MEMORY_LIMIT
        message = f"it ran out of memory (limit {limits.memory_mb} MiB)"
    elif sig == "SIGXFSZ":
        reason, message = FailureReason.RUNTIME_ERROR, f"it wrote a file larger than {limits.file_size_mb} MiB"
    elif code != 0:
        what = f"was killed by {sig}" if sig else f"exited with code {code}"
        reason, message = FailureReason.RUNTIME_ERROR, f"it {what}: {stderr.strip()[-800:]}"
    return RunResult(
        argv=argv,
        job_dir=str(job_dir),
        level=level,
        returncode=code,
        signal=sig,
        timed_out=timed_out,
        killed_by_memory=reason == FailureReason.MEMORY_LIMIT,
        reason=reason,
        message=message,
        stdout_tail=_tail(stdout_path),
        stderr_tail=stderr,
        wall_s=round(wall, 3),
        warnings=warnings,
    )


def run_worker(
    job_json_path: str | Path,
    limits: Limits | None = None,
    timeout_s: float | None = None,
    *,
    env: dict[str, str] | None = None,
    module: str = "video2policy.tools.rl.worker",
    level: str | None = None,
) -> RunResult:
    """Run `python -I -m <module> JOB.json` (default: the RL training worker) in the sandbox.

    The job's `out_dir` is the writable job folder; the paths the job file names (scene, task code, policy) are
    visible read-only. The timeout defaults to the job's `timeout_s` plus a minute for start-up and saving.
    """
    job_path = Path(job_json_path).resolve()
    try:
        job = json.loads(job_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{job_path}: cannot read the job file: {exc}") from None
    if "out_dir" not in job:
        raise ValueError(f"{job_path}: the job file has no 'out_dir' (the worker's writable folder)")
    timeout = timeout_s if timeout_s is not None else float(job.get("timeout_s", 3600)) + 60
    argv = [sys.executable, "-I", "-m", module, str(job_path)]
    return run_isolated(argv, job["out_dir"], limits or TRAIN_LIMITS, timeout, env=env, level=level)


__all__ = ["CHECK_LIMITS", "TRAIN_LIMITS", "Limits", "RunResult", "run_isolated", "run_worker"]
