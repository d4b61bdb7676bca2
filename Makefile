# citerag: `make run` sets up, indexes seeds/, starts the browser chat; `make test` sets up and runs every test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
export TOKENIZERS_PARALLELISM := false

.PHONY: setup browser run index test lint bench reader clean

setup: $(STAMP)

# torch first and pinned: the CPU wheel lies on local disk; an unpinned torch would pull a CUDA build.
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,llm]'
	touch $(STAMP)

# An index from older settings or an older format is rebuilt (the seeds index is ours to rebuild).
index: setup
	$(BIN)/rag index seeds/ || $(BIN)/rag index seeds/ --rebuild

# Debian's Chromium, only for the browser tests and only if missing (never `playwright install`).
SUDO := $(if $(filter 0,$(shell id -u)),,$(shell command -v sudo))
browser:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver)

# The browser chat on http://127.0.0.1:7860 (`rag chat` is the terminal one).
run: index
	$(BIN)/rag serve

# The kill/disk-full tests fork the test process with the model loaded: they get a process of their
# own, since forking a process that earlier tests filled with threads deadlocked once in CI.
test: setup browser
	$(BIN)/ruff check rag ui tests benchmarks eval
	$(BIN)/ruff format --check rag ui tests benchmarks eval
	$(BIN)/mypy rag
	$(BIN)/pytest --ignore=tests/test_faults.py
	$(BIN)/pytest tests/test_faults.py

lint: setup
	$(BIN)/ruff format rag ui tests benchmarks eval
	$(BIN)/ruff check --fix rag ui tests benchmarks eval

bench: setup
	$(BIN)/python benchmarks/bench_index.py
	$(BIN)/python benchmarks/bench_search.py
	$(BIN)/python benchmarks/bench_ask.py
	$(BIN)/python benchmarks/bench_eval.py
	$(BIN)/python benchmarks/load.py

# Retrain the shipped reader (models/reader) from ../shared/data: about 70 minutes on 2 cores; a rerun
# resumes from build/reader/checkpoint.pt. glibc would return torch's large buffers to the system after
# every step and fault them in again (a third of the time went to the kernel): keep them instead.
reader: setup
	MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824 \
	  $(BIN)/python -m rag.answer.train_reader
	$(BIN)/python eval/squad_corpus.py --out build/squad-heldout
	$(BIN)/rag index build/squad-heldout/docs --index-dir build/squad-index --rebuild
	$(BIN)/python eval/calibrate_reader.py build/squad-heldout/calibration.jsonl --index-dir build/squad-index \
	  --write models/reader/reader.json

clean:
	rm -rf $(VENV) index/* .pytest_cache .mypy_cache
