# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser lint test index run bench bench-scale bench-load bench-abuse eval-unseen clean

# torch first, pinned: 2.13.0 is a local CPU build here, any other spec pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The widget's end-to-end tests drive Debian's Chromium (browser downloads are not possible here).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

lint: install
	$(BIN)/ruff check src api tests eval
	$(BIN)/ruff format --check src api tests eval
	$(BIN)/mypy

test: lint browser
	$(BIN)/pytest

index: install
	$(BIN)/cancerassist index

run: index
	$(BIN)/cancerassist serve

bench-scale: install
	$(BIN)/python eval/bench/scale.py --million --out eval/bench/SCALE.md

bench-load: install
	$(BIN)/python eval/bench/load.py --out eval/bench/LOAD.md

# What one abusive client can take: CPU per minute, work after 504s, idle sockets (issue 14).
bench-abuse: install
	$(BIN)/python eval/bench/abuse.py --out eval/bench/ABUSE.md

# The unseen-documents set: the reference corpus plus eleven public documents nobody here wrote
# (eval/unseen/SOURCES.md), indexed with no profile entry or metadata for them.
UNSEEN := .unseen
UNSEEN_ENV := CANCERASSIST_CORPUS_DIR=$(UNSEEN)/corpus CANCERASSIST_INDEX_DIR=$(UNSEEN)/indexes
# The set of unseen documents: eval/unseen (dev and test splits) or eval/unseen2 (test only).
SET ?= eval/unseen
SET_NAME := $(notdir $(SET))
eval-unseen: index
	rm -rf $(UNSEEN)/corpus && mkdir -p $(UNSEEN)/corpus
	cp -r corpus/. $(SET)/corpus/. $(UNSEEN)/corpus/
	$(UNSEEN_ENV) $(BIN)/cancerassist index
	$(UNSEEN_ENV) $(BIN)/cancerassist eval --gold $(SET)/questions.jsonl --split $(or $(SPLIT),dev) --no-baseline --out eval/reports/$(SET_NAME)-$(or $(SPLIT),dev)
	$(UNSEEN_ENV) $(BIN)/cancerassist eval-facts --expected $(SET)/facts.jsonl --out eval/reports/$(SET_NAME)-facts
	$(BIN)/python eval/unseen/compare.py --out eval/reports/$(SET_NAME)-changes.md

bench: install
	$(BIN)/python eval/bench/core.py --out eval/bench/RESULTS.md

clean:
	rm -rf $(VENV) $(UNSEEN) indexes/builds indexes/CURRENT .mypy_cache .ruff_cache .pytest_cache .hypothesis
