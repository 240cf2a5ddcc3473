# The two commands of the README: `make demo` (set up, run the default protocol, build the
# leaderboard) and `make test` (set up, run the test suite). Both create .venv on first use.
# For maintainers: `make docs` refills the generated blocks of README.md and docs/ (a test fails
# when they are stale); `make screenshot` redraws docs/leaderboard.png from the demo's site with
# headless Chromium (Debian: apt-get install chromium).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RESULTS := leaderboards/results
# Seed 002's comparison on the default protocol (about 6 minutes on 2 CPU cores);
# `make demo DEMO_PLUGINS=vae` runs only the β-VAE.
DEMO_PLUGINS ?= vae ddpm ddim

.PHONY: setup demo test docs screenshot gpu-check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-cache-dir -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	for plugin in $(DEMO_PLUGINS); do \
	  $(BIN)/genbench run --plugin $$plugin --protocol digits --results-dir $(RESULTS) || exit 1; \
	done
	$(BIN)/genbench leaderboard --results-dir $(RESULTS) --out leaderboards
	@echo "results in $(RESULTS)/, leaderboard at leaderboards/index.html"

test: setup
	$(BIN)/python -m pytest

docs: setup
	$(BIN)/python -m genbench.cli.docgen

# The digits protocol page of the site `make demo` builds (its file name carries the fingerprint).
SCREENSHOT_PAGE ?= $(firstword $(filter-out %--reported.html,$(wildcard leaderboards/protocols/digits--*.html)))
SCREENSHOT ?= docs/leaderboard.png

screenshot:
	@test -n "$(SCREENSHOT_PAGE)" || { echo "no digits page under leaderboards/protocols: run make demo first" >&2; exit 1; }
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,900 \
	  --screenshot=$(abspath $(SCREENSHOT)) "file://$(abspath $(SCREENSHOT_PAGE))" 2>/dev/null

# The GPU tests and the figures of issues 11 and 23 (about 12 minutes on one GPU); never part of `make test`.
gpu-check: setup
	$(BIN)/python bench/gpu_check.py

clean:
	rm -rf $(VENV) results
