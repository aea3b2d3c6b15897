# Two commands matter: `make demo` and `make test`. Everything else supports them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
SIM_PORT ?= 8100
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/inbox
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# The charting library of the supervisors' dashboard, served from static/ as it is built.
CHARTJS_VERSION ?= 4.6.2

.PHONY: demo test install services lint format screenshots vendor-charts

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

# Fetch Chart.js's built file and licence from the npm registry into static/ (no build step).
vendor-charts:
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent chart.js@$(CHARTJS_VERSION) >/dev/null \
		&& tar xzf chart.js-$(CHARTJS_VERSION).tgz \
		&& grep -v '^//# sourceMappingURL=' package/dist/chart.umd.min.js \
			> $(CURDIR)/static/analytics/vendor/chart.umd.min.js \
		&& cp package/LICENSE.md $(CURDIR)/static/analytics/vendor/chart.js.LICENSE.md \
		&& echo "chart.js $(CHARTJS_VERSION)" > $(CURDIR)/static/analytics/vendor/VERSION \
		&& rm -rf $$tmp
