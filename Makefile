# The commands of the README. Each sets itself up from a bare machine that has only Python.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WEB_STAMP := $(VENV)/.installed-web

.PHONY: demo test lint ffmpeg redis serve

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list or setup.py changed. The tests cover the web app too.
$(STAMP): $(PY) requirements.txt setup.py
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,web]"
	touch $(STAMP)

# The web app's extra alone (make serve).
$(WEB_STAMP): $(PY) requirements.txt setup.py
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[web]"
	touch $(WEB_STAMP)

ffmpeg:
	@bash .ci/ensure_ffmpeg.sh

# Train both phases on generated songs (and evaluate them), then separate one demo test song with the result.
demo: ffmpeg $(STAMP)
	$(PY) Training.py with demo
	$(PY) separate.py --input "$$(ls datasets/demo/test/*/mixture.wav | head -n 1)" --output separated/demo --overwrite

redis:
	@bash .ci/ensure_redis.sh

# The web app (harmony_split) on this machine: migrate, first account, web server and HARMONY_WORKERS workers
# in the foreground; Ctrl-C stops them. Settings: harmony_split/README.md.
serve: ffmpeg $(WEB_STAMP)
	$(PY) harmony_split/backend/manage.py serve

test: ffmpeg redis lint
	$(PY) -m pytest -q

# Style and architecture: ruff, and import-linter's contracts (the arrows between Input/, Models/ and the CLIs).
lint: $(STAMP)
	$(PY) -m ruff check .
	PYTHONPATH=. $(VENV)/bin/lint-imports
