# Two entry points for a newcomer on a fresh Debian machine: `make demo` and `make test`.
# `setup` is idempotent: system packages (as root), a virtual environment, the package itself.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CORPUS ?= data/corpus
SYSTEM_PACKAGES := ffmpeg fluidsynth timgm6mb-soundfont fluid-soundfont-gm sox espeak-ng libsndfile1 chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system-packages corpus corpus-full demo test test-fast style quality bench clean

setup: system-packages $(VENV)/.installed

system-packages:
	@dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1 || { \
	  echo "Installing system packages: $(SYSTEM_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; }

# constraints.txt: the exact set of versions the tests last passed with (setup.py has the ranges)
$(VENV)/.installed: setup.py constraints.txt
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	touch $@

corpus: setup
	$(PY) scripts/build_corpus.py --output_dir $(CORPUS)

# hours of real music for the training recipes (configs/*_musdb.yaml, *_gtzan.yaml read data/corpus_full)
corpus-full: setup
	nice -n 10 $(PY) scripts/build_corpus.py --size full --output_dir data/corpus_full

demo: corpus
	$(PY) scripts/demo.py --corpus_dir $(CORPUS) --output_dir outputs/demo

# Code style (ruff.toml: line length 119, rules E, F, I, W). `style` fixes what it can, `quality` only checks.
CHECK_DIRS := src tests scripts

style: setup
	$(VENV)/bin/ruff check --fix $(CHECK_DIRS)

quality: setup
	$(VENV)/bin/ruff check $(CHECK_DIRS)

test: quality corpus
	AUDIOGEN_HF_CORPUS=$(CORPUS) $(PY) -m pytest -q tests

# the tests that need no corpus (tests using a corpus fixture are marked `corpus` by tests/conftest.py)
test-fast: quality
	$(PY) -m pytest -q tests -m "not corpus"

bench: corpus
	$(PY) scripts/benchmarks/bench_spectrogram.py --corpus_dir $(CORPUS)
	$(PY) scripts/benchmarks/bench_spectrogram_images.py --corpus_dir $(CORPUS)
	$(PY) scripts/benchmarks/bench_codec.py --corpus_dir $(CORPUS)

clean:
	rm -rf $(VENV) outputs .pytest_cache
