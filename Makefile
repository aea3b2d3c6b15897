# Two commands matter: `make demo` and `make test`. Everything else supports them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
SIM_PORT ?= 8100
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/inbox
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: demo test install services lint format screenshots

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) scripts/demo.py --port $(PORT) --sim-port $(SIM_PORT)

services:
	bash scripts/services.sh

test: install services
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

screenshots: install services
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(MAKE) test PYTEST_ARGS="-m browser"
