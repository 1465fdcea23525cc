"""Resource limits for sandboxed processes, applied with setrlimit in the child before it executes anything.

Memory is bounded by RLIMIT_DATA, not RLIMIT_AS. Since Linux 4.7 RLIMIT_DATA counts private writable mappings
(heap, anonymous mmap, thread stacks), i.e. memory the process can actually fill, while RLIMIT_AS also counts
address space that is only reserved: glibc reserves 64 MiB per thread arena, OpenMP and MuJoCo start a thread per
core, and CUDA maps tens of GiB. An AS limit tight enough to stop a memory bomb therefore breaks thread creation
on machines with many cores. RLIMIT_AS is still set, as an outer net for shared mappings that RLIMIT_DATA does not
count, at the data limit plus generous room for reservations (4 GiB plus 80 MiB per core).

Measured here (`python -I` importing torch and video2policy.tools.sim, then 20 steps of an 8-world TaskEnv and
one PPO-sized backward pass): VmData 0.53 GiB, VmSize 1.25 GiB with 6 threads on 2 cores.
"""

from __future__ import annotations

import os
import resource

from pydantic import BaseModel, Field

MIB = 1024 * 1024


class Limits(BaseModel):
    """Per-process limits. The defaults suit an RL training worker; `CHECK_LIMITS` suits a tier check."""

    memory_mb: int = Field(8192, gt=0, description="RLIMIT_DATA: heap, anonymous mappings and thread stacks")
    address_space_mb: int | None = Field(
        None, ge=0, description="RLIMIT_AS; None: memory_mb + 4096 + 80 per core; 0: not set"
    )
    cpu_seconds: int | None = Field(None, gt=0, description="RLIMIT_CPU; None: the wall-clock timeout x cores + 10")
    file_size_mb: int = Field(1024, gt=0, description="RLIMIT_FSIZE: the largest file it may write")
    open_files: int = Field(1024, gt=0, description="RLIMIT_NOFILE")
    processes: int = Field(512, gt=0, description="RLIMIT_NPROC: processes and threads of the sandbox user")
    tmpfs_mb: int = Field(512, gt=0, description="size of the private /tmp and /dev/shm (bwrap level)")
    term_grace_s: float = Field(3.0, ge=0, description="time between SIGTERM and SIGKILL at the timeout")

    def address_space_bytes(self) -> int | None:
        if self.address_space_mb == 0:
            return None
        mb = self.address_space_mb or self.memory_mb + 4096 + 80 * (os.cpu_count() or 1)
        return mb * MIB

    def cpu_limit(self, timeout_s: float) -> int:
        return self.cpu_seconds or int(timeout_s * (os.cpu_count() or 1)) + 10


CHECK_LIMITS = Limits(memory_mb=2048, file_size_mb=64, open_files=256, processes=128, tmpfs_mb=128, term_grace_s=1.0)
TRAIN_LIMITS = Limits()


def rlimits(limits: Limits, timeout_s: float, extra_processes: int = 0) -> dict[int, int]:
    """The setrlimit table for a child; `extra_processes` is added to the process limit (see runner)."""
    table = {
        resource.RLIMIT_DATA: limits.memory_mb * MIB,
        resource.RLIMIT_CPU: limits.cpu_limit(timeout_s),
        resource.RLIMIT_FSIZE: limits.file_size_mb * MIB,
        resource.RLIMIT_NOFILE: limits.open_files,
        resource.RLIMIT_NPROC: limits.processes + extra_processes,
        resource.RLIMIT_CORE: 0,
    }
    address_space = limits.address_space_bytes()
    if address_space:
        table[resource.RLIMIT_AS] = address_space
    return table


def apply_rlimits(table: dict[int, int]) -> None:
    """In the child, before exec: lower soft and hard limits (never raise them above what we were given)."""
    for which, value in table.items():
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        if which == resource.RLIMIT_CPU:  # SIGXCPU at the soft limit, SIGKILL two seconds later
            hard_value = value + 2 if hard == resource.RLIM_INFINITY else min(value + 2, hard)
            resource.setrlimit(which, (value, hard_value))
        else:
            resource.setrlimit(which, (value, value))
