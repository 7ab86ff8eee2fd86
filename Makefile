# The commands of the README. Each sets itself up on a bare machine with Python >= 3.11 (`serve` and `test` also need
# Node >= 20.19 with npm); the Debian packages they need (ffmpeg; for `test` chromium, redis-server, postgresql) are
# installed with apt-get when run as root.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WEB_STAMP := $(VENV)/.installed-web

.PHONY: demo test lint ffmpeg redis postgres serve chromium node frontend frontend-test api-types

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list or setup.py changed. The tests cover the web app too; this install holds
# the web extra, so it stands for the web app's install as well (`make serve` after `make demo` installs nothing).
$(STAMP): $(PY) requirements.txt requirements-separate.txt setup.py
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,web]"
	touch $(STAMP) $(WEB_STAMP)

# The web app with the training extra (`make serve` on a bare machine: its workers run TensorFlow checkpoints).
$(WEB_STAMP): $(PY) requirements.txt requirements-separate.txt setup.py
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[train,web]"
	touch $(WEB_STAMP)

ffmpeg:
	@bash .ci/ensure_ffmpeg.sh

# The browser tests drive Debian's chromium with Playwright (Playwright cannot download its own browsers here).
chromium:
	@bash .ci/ensure_package.sh chromium chromium

# The browser app (harmony_split/frontend): `npm ci` whenever package-lock.json changed, then the production
# build into dist/, which Django serves. Needs Node >= 20.19 with npm.
FRONTEND := harmony_split/frontend
node:
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: install Node.js >= 20.19 with npm (e.g. Debian packages nodejs and npm, or nodejs.org)" >&2; exit 1; }
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
		|| { echo "Node $$(node --version) is too old for the browser app's build (Vite 8): install Node.js >= 20.19" >&2; exit 1; }

$(FRONTEND)/node_modules/.package-lock.json: $(FRONTEND)/package-lock.json | node
	cd $(FRONTEND) && npm ci --no-audit --no-fund

frontend: $(FRONTEND)/node_modules/.package-lock.json
	cd $(FRONTEND) && npm run build

# The app's API types (src/api-schema.ts) from the server's OpenAPI schema; run after changing a serializer or a
# view (tests/web/test_api_types.py fails until then).
api-types: $(WEB_STAMP) $(FRONTEND)/node_modules/.package-lock.json
	mkdir -p $(FRONTEND)/node_modules/.cache
	$(PY) harmony_split/backend/manage.py spectacular --file $(FRONTEND)/node_modules/.cache/api-schema.yaml
	cd $(FRONTEND) && npm run --silent api-types -- node_modules/.cache/api-schema.yaml -o src/api-schema.ts

# The app's unit and component tests (Vitest, jsdom), after the type check and build.
frontend-test: frontend
	cd $(FRONTEND) && npm test

# Train both phases on generated songs (and evaluate them), then separate one demo test song with the result.
demo: ffmpeg $(STAMP)
	$(PY) Training.py with demo
	$(PY) separate.py --input "$$(ls datasets/demo/test/*/mixture.wav | head -n 1)" --output separated/demo --overwrite

# The scale-out test starts its own redis-server on loopback; where it cannot be installed, that test is skipped
# with the reason printed (so this never fails the build).
redis:
	@bash .ci/ensure_package.sh redis-server redis-server || echo "redis-server not installable here: the scale-out test will be skipped" >&2

# The multi-machine test (tests/web/test_web_multi_machine.py) starts its own PostgreSQL server (initdb in a temporary
# folder, as the postgres user when root). Debian keeps initdb off PATH, in /usr/lib/postgresql/<version>/bin.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || bash .ci/ensure_package.sh postgresql initdb \
		|| echo "PostgreSQL not installable here: the multi-machine test will be skipped" >&2

# The web app (harmony_split) on this machine, with the browser app built: migrate, first account, web server
# and HARMONY_WORKERS workers in the foreground; Ctrl-C stops them. Settings: harmony_split/README.md.
serve: ffmpeg $(WEB_STAMP) frontend
	$(PY) harmony_split/backend/manage.py serve

# Python tests include the browser tests (tests/web/test_browser.py), which need the built app and chromium.
# All of them, slow ones included (about 15 minutes on 2 cores). The quick loop while editing skips the tests
# marked slow (training runs, command-line and web-service subprocesses, the browser):
#   .venv/bin/python -m pytest -q -m "not slow"
test: ffmpeg redis postgres chromium lint frontend-test
	$(PY) -m pytest -q

# Style and architecture: ruff, and import-linter's contracts (the arrows between Input/, Models/ and the CLIs).
lint: $(STAMP)
	$(PY) -m ruff check .
	PYTHONPATH=. $(VENV)/bin/lint-imports
