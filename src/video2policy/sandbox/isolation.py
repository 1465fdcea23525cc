"""How a sandboxed command is wrapped: the isolation level, the sandbox user, the bubblewrap command line.

Two levels. `bwrap`: bubblewrap gives the command new network, PID, IPC and UTS namespaces and a file system
that holds only the system's /usr, the Python installation (computed from `sys.path`), the paths the job names
(read-only) and the job folder (writable), with a private, size-limited /tmp. `process`: no namespaces, only the
rlimits, a clean environment and, when we are root, a throw-away user id. The level is chosen once per process:
bwrap when it is installed and can start a namespace here, unless V2P_SANDBOX_LEVEL says otherwise.

When we run as root, the sandboxed command runs under a throw-away user id: the kernel never applies
RLIMIT_NPROC to root, so without it a fork bomb would not be stopped, and a user id of its own also lets the
runner kill every process the command left behind, daemons included.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

LEVELS = ("bwrap", "process")
SANDBOX_UID_BASE = 0x3F000000  # far above any real account; one id per run
_run_counter = itertools.count()
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime")


@functools.cache
def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def bwrap_works() -> tuple[bool, str]:
    """Whether bubblewrap can start a network+PID namespace here (containers often forbid it)."""
    bwrap = bwrap_path()
    if bwrap is None:
        return False, "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    args = [bwrap, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--proc", "/proc", "--die-with-parent"]
    try:
        probe = subprocess.run([*args, "true"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bwrap could not start: {exc}"
    if probe.returncode != 0:
        return False, f"bwrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return True, ""


def isolation_level(requested: str | None = None) -> str:
    """'bwrap' or 'process'. `requested` (or V2P_SANDBOX_LEVEL): 'auto' (default), 'bwrap' or 'process'."""
    wanted = (requested or os.environ.get("V2P_SANDBOX_LEVEL") or "auto").lower()
    if wanted not in (*LEVELS, "auto"):
        raise ValueError(f"sandbox level must be auto, bwrap or process, got {wanted!r}")
    if wanted == "process":
        return "process"
    ok, why = bwrap_works()
    if wanted == "bwrap" and not ok:
        raise RuntimeError(f"sandbox level 'bwrap' was asked for, but {why}")
    return "bwrap" if ok else "process"


def fallback_warning() -> str:
    """The visible warning printed when the runner falls back to the process level."""
    _, why = bwrap_works()
    why = why or "asked for (level=process or V2P_SANDBOX_LEVEL)"
    return (
        f"sandbox level 'process': {why}; generated code runs with resource limits and a clean environment "
        "but can read the file system and use the network"
    )


def new_sandbox_uid() -> int | None:
    """A throw-away user id for one run when we are root (see module docstring); None otherwise."""
    if os.geteuid() != 0:
        return None
    return SANDBOX_UID_BASE + (os.getpid() % 4096) * 4096 + next(_run_counter) % 4096


@functools.cache
def setpriv_path() -> str | None:
    return shutil.which("setpriv")


# --- what the interpreter needs ------------------------------------------------------------------------------


@functools.cache
def interpreter_paths(executable: str = sys.executable) -> tuple[str, ...]:
    """Everything `executable -I` reads to start and import the installed packages: its prefixes, the real
    binary behind the venv's symlinks, and its isolated sys.path (which includes an editable install's source)."""
    probe = subprocess.run(
        [executable, "-I", "-c", "import sys, json; print(json.dumps([sys.prefix, sys.base_prefix, *sys.path]))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    paths = [Path(p) for p in json.loads(probe.stdout) if p]
    paths.append(Path(executable).parent)
    paths.append(Path(os.path.realpath(executable)).parent.parent)  # the real installation (pyenv, /usr)
    existing = {str(p.resolve()) for p in paths if p.exists()}
    existing |= {str(p) for p in paths if p.exists()}  # symlinked spellings are bound too
    return minimal_roots(existing)


def minimal_roots(paths: set[str] | list[str]) -> tuple[str, ...]:
    """Drop paths inside other paths of the set (a bind of the parent already covers them); sorted."""
    out: list[str] = []
    for path in sorted({os.path.normpath(p) for p in paths}):
        if path == "/" or any(path == root or path.startswith(root.rstrip("/") + "/") for root in out):
            continue
        out.append(path)
    return tuple(out)


def _inside(path: str, roots: tuple[str, ...] | list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def world_readable(paths: tuple[str, ...]) -> bool:
    """Whether another user could reach these paths (every parent folder searchable by others)."""
    for path in paths:
        current = Path(path)
        for part in [current, *current.parents]:
            try:
                mode = part.stat().st_mode
            except OSError:
                return False
            if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
                return False
    return True


# --- the bubblewrap command line -----------------------------------------------------------------------------


def bwrap_argv(
    argv: list[str],
    job_dir: Path,
    read_only: tuple[str, ...],
    tmpfs_bytes: int,
    uid: int | None,
) -> list[str]:
    """bwrap [namespaces, mounts] -- [setpriv to the sandbox uid] argv."""
    bwrap = bwrap_path()
    assert bwrap is not None
    args = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        args.append("--unshare-user")
    args += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in SYSTEM_FILES:
        args += ["--ro-bind-try", path, path]
    args += ["--proc", "/proc", "--dev", "/dev"]
    size = str(tmpfs_bytes)
    args += ["--perms", "1777", "--size", size, "--tmpfs", "/tmp"]
    args += ["--perms", "1777", "--size", size, "--tmpfs", "/dev/shm"]
    system = tuple(p for p in SYSTEM_DIRS if os.path.isdir(p) and not os.path.islink(p))
    binds = [p for p in minimal_roots([*interpreter_paths(), *read_only]) if not _inside(p, system)]
    for path in binds:
        args += ["--ro-bind", path, path]
    job = str(job_dir)
    args += ["--bind", job, job]
    # bwrap creates the folders leading to a bind with the host folder's mode (/root is 0700): open them up so
    # the sandbox user can reach its files; they are the sandbox's own empty folders, not the host's.
    from_host = (*system, *binds, job)
    parents = {str(a) for p in (*binds, job, *SYSTEM_FILES) for a in Path(p).parents}
    for parent in sorted(parents - {"/", "/tmp", "/dev", "/proc"}):
        if not _inside(parent, from_host):
            args += ["--chmod", "0755", parent]
    args += ["--remount-ro", "/", "--chdir", job]
    if uid is not None and setpriv_path():
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP", "--"]
        args += [setpriv_path(), "--reuid", str(uid), "--regid", str(uid), "--clear-groups"]
        args += ["--inh-caps=-all", "--bounding-set=-all", "--"]
    else:
        args.append("--")
    return args + list(argv)
