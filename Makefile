# The two commands the README promises. Both bootstrap .venv first (quick when it exists).
.PHONY: setup run test bench screenshots

# The suite runs on TEST_WORKERS pytest-xdist workers, a test file each at a time (module-scoped
# services stay shared within a file): most of a test's time is spent waiting on the processes it
# starts, so two workers fit a 2-core machine (14.5 min instead of about 19).
# `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= 2

setup:
	bash scripts/bootstrap.sh

run: setup
	.venv/bin/python examples/main_job.py

test: setup
	bash scripts/bootstrap.sh --browser
	.venv/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests

# The README's screenshots, taken by the browser tests (a plain test run keeps them in a temporary directory).
screenshots: setup
	bash scripts/bootstrap.sh --browser
	KERAS_PROV_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest -q tests/test_web_*.py

bench: setup
	.venv/bin/python bench/ingest.py
	.venv/bin/python bench/client_overhead.py
	.venv/bin/python bench/overhead.py
	.venv/bin/python bench/import_hook.py
	.venv/bin/python bench/cluster.py
	.venv/bin/python bench/console.py
	.venv/bin/python bench/web.py
	.venv/bin/python bench/tuning.py
