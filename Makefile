# icenter: `make run` starts the product, `make test` passes the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := icenter.settings

.PHONY: run test check bench install messages clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  icenter runs at  http://$(HOST):$(PORT)/"
	@echo "  Logins (user / password): agent / agent · agent2 / agent2 · agent3 / agent3 · supervisor / supervisor · manager / manager"
	@echo "  Press “Ready” on the desk, then let a customer call:"
	@echo "    $(PY) manage.py simulate_call --from \"+49 30 1234567\" --to 7000"
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest

check: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py spectacular --api-version v1 --validate --fail-on-warn --file /dev/null
	$(PY) -m mypy .

bench: install
	$(PY) bench/run_all.py

messages: install
	$(PY) manage.py makemessages -l de -l en --no-obsolete --ignore=.venv --ignore=tests --ignore=bench --ignore=staticfiles
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
