# The two commands: `make up` (start everything) and `make test` (the whole suite).
# Needs only python3 and make; everything else is installed here, pinned in requirements.lock.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: up test install chromium lint migrate bench messages

up: install
	$(BIN)/python -m scrm up

test: install chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(BIN)/.installed

$(BIN)/.installed: requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

# Browser tests drive Debian's chromium (Playwright's own browser download cannot work here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

migrate: install
	$(BIN)/python -m scrm migrate

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Re-extract and compile translations (needs gettext; compiled .mo files are committed).
messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var && $(BIN)/python manage.py compilemessages --ignore=.venv
