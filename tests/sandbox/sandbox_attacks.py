"""The attack suite: what generated code might try, as script bodies run by the runner and linted as task code.

Each body gets `CTX` (paths and the port of a real server on 127.0.0.1) and `loot(text)`, which appends to
loot.txt in the job folder, so a test can see from the host what the attack managed to read or do.
`lint_rules`: rules the lint must raise for it (None: it slips past the lint; only the runner can stop it).
`reason`: the FailureReason the runner must report (None: it exits normally, contained).
`ran`: text loot.txt must hold afterwards, proof that the attack really ran (and was contained, not skipped).
"""

from __future__ import annotations

from dataclasses import dataclass

PRELUDE = """\
import json, sys
CTX = json.load(open(sys.argv[1]))
def loot(text):
    with open("loot.txt", "a") as f:
        f.write(str(text) + "\\n")
"""


@dataclass(frozen=True)
class Attack:
    body: str
    lint_rules: frozenset[str] | None
    reason: str | None = None
    timeout_s: float = 20.0
    ran: str | None = None


ATTACKS: dict[str, Attack] = {
    "network_loopback": Attack(
        """
import socket
try:
    conn = socket.create_connection(("127.0.0.1", CTX["port"]), timeout=2)
    conn.sendall(b"pwned")
    loot("connected")
except OSError as exc:
    loot(f"refused: {exc}")
""",
        frozenset({"import-not-allowed"}),
        ran="refused",
    ),
    "read_passwd": Attack(
        """
try:
    loot(open("/etc/passwd").read())
except OSError as exc:
    loot(f"passwd: {exc}")
""",
        frozenset({"forbidden-builtin"}),
        ran="passwd: ",
    ),
    "parent_environment": Attack(
        """
import os
found = [f"{k}={v}" for k, v in os.environ.items()]
for pid in ["1", "self", str(os.getppid()), *[p for p in os.listdir("/proc") if p.isdigit()]]:
    try:
        found.append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
    except OSError:
        pass
loot("\\n".join(found))
""",
        frozenset({"import-not-allowed", "forbidden-builtin"}),
        ran="USER=sandbox",
    ),
    "write_outside": Attack(
        """
for target in CTX["targets"]:
    try:
        with open(target, "w") as f:
            f.write("pwned")
        loot(f"wrote {target}")
    except OSError as exc:
        loot(f"{target}: {exc}")
""",
        frozenset({"forbidden-builtin"}),
        ran="wrote /tmp/v2p-pwned",
    ),
    "fork_bomb": Attack(
        """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
""",
        frozenset({"import-not-allowed"}),
        reason="timeout",
        timeout_s=2.0,
    ),
    "memory_bomb": Attack(
        """
chunks = []
while True:
    chunks.append(bytearray(32 * 1024 * 1024))
""",
        None,
        reason="memory_limit",
    ),
    "memory_bomb_shared_mapping": Attack(
        """
import mmap
maps = []
while True:
    maps.append(mmap.mmap(-1, 64 * 1024 * 1024))
""",
        frozenset({"import-not-allowed"}),
        reason="memory_limit",
    ),
    "infinite_loop": Attack("\nwhile True:\n    pass\n", None, reason="timeout", timeout_s=2.0),
    "os_system": Attack(
        """
import os
os.system(f"echo pwned > {CTX['outside']}/system.txt; cat /etc/passwd >> loot.txt; env >> loot.txt")
""",
        frozenset({"import-not-allowed"}),
        ran="USER=sandbox",
    ),
    "subprocess": Attack(
        """
import subprocess
command = f"echo pwned > {CTX['outside']}/subprocess.txt; cat /etc/passwd; env"
done = subprocess.run(["sh", "-c", command], capture_output=True, text=True)
loot(done.stdout + done.stderr)
""",
        frozenset({"import-not-allowed"}),
        ran="USER=sandbox",
    ),
    "ctypes": Attack(
        """
import ctypes
libc = ctypes.CDLL(None)
loot(f"setuid(0) -> {libc.setuid(0)}")
libc.system(f"echo pwned > {CTX['outside']}/ctypes.txt".encode())
""",
        frozenset({"import-not-allowed"}),
        ran="setuid(0) -> -1",
    ),
    "subclasses_escape": Attack(
        """
for cls in ().__class__.__base__.__subclasses__():
    if cls.__name__ == "_wrap_close":
        system = cls.__init__.__globals__["system"]
        system(f"echo pwned > {CTX['outside']}/subclasses.txt; cat /etc/passwd >> loot.txt")
        loot("found os.system through object.__subclasses__()")
""",
        frozenset({"dunder-attribute", "dunder-string"}),
        ran="found os.system",
    ),
    "importlib": Attack(
        """
import importlib
importlib.import_module("os").system(f"echo pwned > {CTX['outside']}/importlib.txt")
loot("imported os through importlib")
""",
        frozenset({"import-not-allowed"}),
        ran="imported os",
    ),
    "builtins_tricks": Attack(
        """
import builtins
builtins.__dict__["__import__"]("os").system(f"echo pwned > {CTX['outside']}/builtins.txt")
try:
    with builtins.open(CTX["outside"] + "/builtins-open.txt", "w") as f:
        f.write("pwned")
except OSError as exc:
    loot(f"builtins.open: {exc}")
loot(getattr(__builtins__, "eval")("1 + 1"))
""",
        frozenset({"import-not-allowed", "dunder-attribute", "dunder-string", "dunder-name"}),
        ran="builtins.open: ",
    ),
    "torch_load_pickle": Attack(
        """
import torch
for weights_only in (True, False):
    try:
        torch.load(CTX["payload"], weights_only=weights_only)
        loot(f"weights_only={weights_only}: loaded")
    except Exception as exc:
        loot(f"weights_only={weights_only}: {type(exc).__name__}")
""",
        frozenset({"forbidden-attribute"}),
        timeout_s=60.0,
        ran="weights_only=True: UnpicklingError",
    ),
    "ignore_sigterm": Attack(
        """
import signal
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
""",
        frozenset({"import-not-allowed"}),
        reason="timeout",
        timeout_s=2.0,
    ),
    "daemon_escape": Attack(
        """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            time.sleep(0.1)
    os._exit(0)
loot("left a daemon behind")
""",
        frozenset({"import-not-allowed"}),
        ran="left a daemon behind",
    ),
}

TASK_TEMPLATE = '''"""An otherwise valid task with an attack inside."""

import torch

from video2policy.tools.sim import Task

{attack}

class AttackTask(Task):
    scene_info = {{"objects": ["block"], "horizon": 50}}

    def reset_objects_states(self, env_ids):
        positions = self.random_table_positions(env_ids, ["block"])
        self.set_object_pose("block", env_ids, positions["block"])

    def compute_observation_key(self, states):
        return ["eef_pos", "block_pos"]

    def get_observation_space(self):
        return 6

    def compute_success(self, states):
        return torch.linalg.vector_norm(states["block_pos"] - states["eef_pos"], dim=1) < 0.03

    def compute_reward(self, actions, states):
        distance = torch.linalg.vector_norm(states["block_pos"] - states["eef_pos"], dim=1)
        return -distance, {{"distance": -distance}}
'''


def as_task_code(body: str) -> str:
    """The attack at module level of an otherwise valid task file (what a coder agent could emit)."""
    return TASK_TEMPLATE.format(attack=body.strip())
