# The two commands of the README: `make demo` (set up, run the default protocol, build the
# leaderboard) and `make test` (set up, run the test suite). Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RESULTS := leaderboards/results

.PHONY: setup demo test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/genbench run --plugin vae --protocol digits --results-dir $(RESULTS)
	$(BIN)/genbench leaderboard --results-dir $(RESULTS) --out leaderboards

test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) results
