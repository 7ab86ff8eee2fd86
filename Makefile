# The two commands of the README. Each sets itself up from a bare machine that has only Python.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint ffmpeg

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list or setup.py changed.
$(STAMP): $(PY) requirements.txt setup.py
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

ffmpeg:
	@bash .ci/ensure_ffmpeg.sh

# Train both phases on generated songs (and evaluate them), then separate one demo test song with the result.
demo: ffmpeg $(STAMP)
	$(PY) Training.py with demo
	$(PY) separate.py --input "$$(ls datasets/demo/test/*/mixture.wav | head -n 1)" --output separated/demo --overwrite

test: ffmpeg lint
	$(PY) -m pytest -q

# Style and architecture: ruff, and import-linter's contracts (the arrows between Input/, Models/ and the CLIs).
lint: $(STAMP)
	$(PY) -m ruff check .
	PYTHONPATH=. $(VENV)/bin/lint-imports
