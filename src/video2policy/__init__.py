"""video2policy: videos of people handling objects -> simulated robot tasks -> trained policies."""

import os

# MuJoCo picks its OpenGL backend when first imported; headless EGL works on CPUs (Mesa) and GPUs alike.
os.environ.setdefault("MUJOCO_GL", "egl")
# Intel MKL (torch's CPU matrix products) picks its kernels by CPU, and AVX2, AVX-512 and AMX round differently: the
# same seed then trains another policy on another machine (the reach example, seed 0, 80,000 steps: 0.43 success on
# an AVX-512/AMX Xeon, over 0.8 with AVX2 kernels). MKL's conditional numerical reproducibility pinned to AVX2 makes
# runs repeat across x86 machines; MKL_CBWR=AUTO chooses the fastest kernels instead. It must be set before MKL's
# first call, so importing video2policy before torch is enough; the Makefile exports it as well.
os.environ.setdefault("MKL_CBWR", "AVX2")

__version__ = "0.1.0"
