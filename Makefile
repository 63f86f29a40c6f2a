# Set-up and everyday commands. `make demo` and `make test` each install what they need on a fresh
# machine (Debian packages via apt-get as root, Python packages into .venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned to the CPU build on this machine's disk; for a CUDA build elsewhere:
#   make TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu124" venv
TORCH_SPEC ?= torch==2.13.0
APT_PACKAGES := wordnet-base wordnet-sense-index apertium apertium-eng-spa apertium-eo-en apertium-en-gl apertium-eng-cat
export MASKKIT_DATA ?= $(abspath ../shared/data)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1

.PHONY: demo test lint bench system venv clean

# The main job: a preview of the masking schemes and augmentations with a short MLM run, then the
# selective-masking pipeline at small scale on the embedded default (about 12 minutes on 2 CPU cores).
demo: system venv
	$(BIN)/maskkit demo --finetune-epochs 0
	$(BIN)/maskkit selective run --run-dir runs/selective

test: system venv lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2  # two workers (pytest-xdist): 2 cores kept busy

lint: venv
	$(BIN)/ruff check maskkit tests benchmarks examples
	$(BIN)/ruff format --check maskkit tests benchmarks examples
	$(BIN)/mypy maskkit

bench: system venv
	$(BIN)/python benchmarks/bench_collate.py

system:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  log=$${TMPDIR:-/tmp}/maskkit-apt.log; \
	  { $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; } \
	    >$$log 2>&1 || { cat $$log; echo "apt-get failed (log above, also in $$log)"; exit 1; }; \
	  echo "installed (apt's log: $$log)"; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing Python packages into $(VENV) (pip's log: $(VENV)/pip.log)"
	@{ $(BIN)/python -m pip install -q --upgrade pip && $(BIN)/python -m pip install -q "$(TORCH_SPEC)" && \
	  PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q -e ".[dev]"; } >$(VENV)/pip.log 2>&1 \
	  || { cat $(VENV)/pip.log; echo "pip failed (log above)"; exit 1; }
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
