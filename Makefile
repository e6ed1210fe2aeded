# Two commands set everything up on a machine with only python3 and pip:
#   make report   -> .venv, install, render reports/ from the bundled example data
#   make test     -> .venv, install, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install report test bench notebook clean lock dist

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -c requirements.lock -e ".[test,bench]"
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/hipstats report --jobs 2 --out reports

test: $(STAMP)
	$(BIN)/hipstats report --check --quiet --jobs 2 --out reports
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# JupyterLab on the notebooks; run interactively they write to .scratch/, never reports/.
notebook: $(STAMP)
	$(BIN)/python -m pip install -q -c requirements.lock -e ".[notebook]"
	$(BIN)/jupyter lab notebooks/

# Re-pin requirements.lock from the current venv (maintainers only).
lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' | sort > requirements.lock

# The sdist and the wheel (built from the sdist) in dist/, checked by twine. `make test`
# already builds and checks them, and runs a study's CI from the wheel (tests/test_study_ci.py).
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/python -m twine check --strict dist/*

clean:
	rm -rf $(VENV) build dist *.egg-info
