# The two commands of the README: `make run` (embedded defaults) and `make test` (the whole suite
# against real PostgreSQL, Redis and SeaweedFS). Everything they need is installed from this repo.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Test stack: the services this kind of machine runs on loopback.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/exchange
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_BROKER_URL ?= redis://127.0.0.1:6379/14
TEST_RESULT_URL ?= redis://127.0.0.1:6379/13

.PHONY: install run up test lint format check-services clean

# The C accelerators of the anonymisation engine are compiled by this install (setup.py).
$(STAMP): pyproject.toml requirements.lock setup.py $(wildcard listings/cleaning/*.c)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Site: http://127.0.0.1:8000/  (admin: /admin/, API: /api/v1/; logins in README.md)"
	$(VENV)/bin/honcho -f Procfile.dev start

# The real stack: gunicorn, a Celery worker and beat against PostgreSQL, Redis and S3 given by
# environment variables; SeaweedFS is started on loopback when no S3 endpoint is given.
up: install
	@test -n "$$DATABASE_URL" || { echo "make up: set DATABASE_URL (postgres://...)"; exit 2; }
	@test -n "$$CELERY_BROKER_URL" || { echo "make up: set CELERY_BROKER_URL (redis://...)"; exit 2; }
	$(PY) scripts/check_services.py
	@if [ -z "$$S3_ENDPOINT_URL" ]; then \
	  eval "$$($(PY) scripts/seaweed.py start --dir var/seaweed --port 8333)"; \
	  export STORAGE_BACKEND=s3; \
	  trap '$(PY) scripts/seaweed.py stop --dir var/seaweed' EXIT; \
	  $(PY) manage.py migrate --noinput && $(PY) manage.py storage_setup && $(VENV)/bin/honcho start; \
	else \
	  export STORAGE_BACKEND=s3; \
	  $(PY) manage.py migrate --noinput && $(PY) manage.py storage_setup && $(VENV)/bin/honcho start; \
	fi

check-services: install
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) scripts/check_services.py

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
	$(PY) manage.py makemigrations --check --dry-run

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

test: install check-services lint
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	CELERY_BROKER_URL=$(TEST_BROKER_URL) CELERY_RESULT_BACKEND=$(TEST_RESULT_URL) \
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
