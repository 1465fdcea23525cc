# Every target installs what it needs: a fresh clone needs only `make demo` or `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
V2P := $(VENV)/bin/v2p
export HF_HUB_OFFLINE := 1
export MUJOCO_GL ?= egl
# the same numbers on every x86 CPU (src/video2policy/__init__.py says why)
export MKL_CBWR ?= AVX2

.PHONY: setup demo test test-fast bench lint clean

setup: $(VENV)/.installed

# torch first: an existing (e.g. CUDA) torch on the system is kept via --system-site-packages; otherwise the
# pinned CPU build torch==2.13.0 is installed before anything that could pull torch from a range.
$(VENV)/.installed: pyproject.toml
	@if python3 -c "import torch" 2>/dev/null; then \
		echo "keeping the system's torch $$(python3 -c 'import torch; print(torch.__version__)')"; \
		python3 -m venv --system-site-packages $(VENV); \
	else python3 -m venv $(VENV); fi
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev,models]"
	@command -v bwrap >/dev/null || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get install -y -q bubblewrap >/dev/null 2>&1) || echo "bwrap not installed: sandbox falls back to rlimits"
	@touch $@

demo: setup
	$(V2P) demo

test: setup
	$(PY) -m pytest -q -ra

test-fast: setup
	$(PY) -m pytest -q -ra -m "not slow"

# Every benchmark; each prints a table on stderr (add --json for machine-readable rows). Takes about an hour on
# 2 cores, most of it `bench behaviors` (12 families x 3 seeds of PPO).
bench: setup
	$(V2P) bench sim
	$(V2P) bench rl
	$(V2P) bench sandbox
	$(V2P) bench perception --seeds 3
	$(V2P) bench behaviors --seeds 3

lint: setup
	$(VENV)/bin/ruff check src tests examples
	$(VENV)/bin/ruff format --check src tests examples

clean:
	rm -rf $(VENV) runs .pytest_cache
