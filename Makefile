# The two set-up commands: `make run` (serve on the embedded default) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint migrate clean lock mutate messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Each stamp reinstalls when the project's dependencies or their pinned versions change.
$(VENV)/.installed-all: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[all]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@ $(VENV)/.installed-all

run: $(VENV)/.installed-all
	$(BIN)/vizdots migrate
	$(BIN)/vizdots serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# Mutation testing (not part of `make test`): the Python files of core/ and adapters/
# changed since SINCE (default origin/main, else HEAD~1), or all of core/ with ALL=1.
# JOBS mutants at once, for at most MINUTES; see docs/mutation.md.
SINCE   ?=
JOBS    ?= 1
MINUTES ?= 60
mutate: $(VENV)/.installed-dev
	$(BIN)/python tools/mutate.py --jobs $(JOBS) --minutes $(MINUTES) \
		$(if $(ALL),--all,$(if $(SINCE),--since $(SINCE)))

# Extract the texts marked with _(), N_() and n_() (babel.cfg) and add the new ones, empty,
# to each language's catalog core/locale/<language>/LC_MESSAGES/vizdots.po; translate
# those, and tests/unit/test_catalogs.py passes again.
TRANSLATED := de fr es pt
messages: $(VENV)/.installed-all
	$(BIN)/pybabel -q extract -F babel.cfg -k n_:1,2 --no-location --sort-output \
		--project VizDots -o core/locale/vizdots.pot .
	for language in $(TRANSLATED); do \
		if [ -f core/locale/$$language/LC_MESSAGES/vizdots.po ]; then \
			$(BIN)/pybabel -q update -D vizdots -i core/locale/vizdots.pot -d core/locale \
				-l $$language --no-fuzzy-matching --ignore-obsolete; \
		else \
			$(BIN)/pybabel -q init -D vizdots -i core/locale/vizdots.pot -d core/locale -l $$language; \
		fi; \
	done

# Refresh constraints.txt after changing dependencies in pyproject.toml.
lock: | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build/mutation
