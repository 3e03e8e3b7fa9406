# The two commands the README opens with: `make demo` and `make test`.
# Both create .venv, install torch==2.13.0 first (the local CPU wheel), then mrekv with its extras.
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= $(abspath ../shared)
export NLTK_DATA ?= $(SHARED)/nltk_data
export MREKV_DATASETS ?= $(SHARED)/datasets
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup test demo bench lint docs eval-models real-lm

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev,docs]"
	touch $@

setup: $(VENV)/.installed

test: setup
	$(PY) -m pytest -q

demo: setup
	bash scripts/demo.sh

bench: setup
	$(PY) -m pytest -q -m benchmark benchmarks

# The documentation site (mkdocs.yml, docs/) built strictly into site/: any warning fails.
docs: setup
	DISABLE_MKDOCS_2_WARNING=true NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks examples docs
	$(VENV)/bin/mypy src

# The real pretrained causal LMs (evaluation assets, never runtime dependencies or committed).
eval-models: setup
	$(PY) scripts/eval_models.py --install

# The real-model suite (hours on 2 cores, resumable): experiments/results/real-lm.jsonl
real-lm: eval-models
	PY=$(PY) bash scripts/run_real_lm.sh
