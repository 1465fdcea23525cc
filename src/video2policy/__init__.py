"""video2policy: videos of people handling objects -> simulated robot tasks -> trained policies."""

import os

# MuJoCo picks its OpenGL backend when first imported; headless EGL works on CPUs (Mesa) and GPUs alike.
os.environ.setdefault("MUJOCO_GL", "egl")

__version__ = "0.1.0"
