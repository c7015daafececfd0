# One entry point for developers and CI.  `make run` starts the router; `make test` is CI.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CLAUDE_CODE_VERSION := 2.1.332
CLAUDE := .cc/node_modules/.bin/claude

.PHONY: run test check lint bench bench-routes bench-gateway claude install install-test clean

run: install  ## `hotswap serve` prints the next step, with the port it listens on
	$(BIN)/hotswap serve

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The real Claude Code CLI, project-local and pinned, for the end-to-end tests.
claude: $(CLAUDE)
$(CLAUDE):
	mkdir -p .cc
	npm install --prefix .cc --no-save --no-package-lock --no-audit --no-fund \
		@anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION)
	$(CLAUDE) --version >/dev/null 2>&1 || node .cc/node_modules/@anthropic-ai/claude-code/install.cjs
	$(CLAUDE) --version

lint: install-test
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)
	$(BIN)/mypy src

test: install-test claude lint
	$(BIN)/pytest -q

check: test

bench: install-test
	$(BIN)/python bench/run.py

bench-routes: install-test  ## the same, with five [[routes]] configured (docs/routes.md)
	$(BIN)/python bench/run.py --routes

bench-gateway: install-test  ## the team gateway vs the personal router; --workers 1 vs 2
	$(BIN)/python bench/gateway.py

clean:
	rm -rf $(VENV) .cc build dist src/*.egg-info
