# The two commands of the README's Quick start: `make demo` and `make test`.
# Each sets up what it needs (Debian packages, a virtual environment in .venv) and then runs.
SHELL  := /bin/bash
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip --disable-pip-version-check -q
# torch and torchvision must be a matching pair (qwen-vl-utils imports torchvision).
TORCH  ?= torch==2.14.1 torchvision==0.29.1

.PHONY: demo test check system bench clean

# SYSTEM_ARGS=--osworld also installs the big apps of OSWorld's local tasks
SYSTEM_ARGS ?=
system:
	@bash scripts/install-system.sh $(SYSTEM_ARGS)

$(VENV)/bin/python:
	python3 -m venv $(VENV)

# the offline default: desktop hands, lite policy, overlay; no torch
$(VENV)/.demo: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e ".[desktop,lite,gui]"
	@touch $@

# everything the test suite touches, the transformers path included
$(VENV)/.test: pyproject.toml | $(VENV)/bin/python
	$(PIP) install $(TORCH)
	$(PIP) install -e ".[all,dev,osworld]"
	$(PIP) install --no-deps "desktop-env==1.0.2"
	@touch $@ $(VENV)/.demo

demo: system $(VENV)/.demo
	@bash scripts/demo.sh

# static checks first (seconds), then the tests: lint, types, the import graph's contracts
check: $(VENV)/.test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy -p tars
	$(VENV)/bin/lint-imports

test: system $(VENV)/.test check
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# every benchmark into one log, then one table of their figures (benchmarks/summary.py)
BENCH_LOG ?= bench.log
bench: system $(VENV)/.test
	@: > $(BENCH_LOG)
	@for b in benchmarks/bench_*.py; do echo "== $$b" | tee -a $(BENCH_LOG); \
		$(PY) $$b 2>&1 | tee -a $(BENCH_LOG); [ $${PIPESTATUS[0]} -eq 0 ] || exit 1; done
	@echo "== summary ($(BENCH_LOG))"; $(PY) benchmarks/summary.py $(BENCH_LOG)

clean:
	rm -rf $(VENV) .pytest_cache
