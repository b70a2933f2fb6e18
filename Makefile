# Two commands set everything up on a fresh machine (see README):
#   make paper   - create .venv if missing, install, run the paper's notebooks (PROFILE=cpu by default)
#   make test    - create .venv if missing, install, run the whole test suite
PROFILE ?= cpu
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install test paper bench clean-venv

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

paper: $(STAMP)
	$(PY) -m mmvae_lib.paper --profile $(PROFILE)

bench: $(STAMP)
	$(PY) benchmarks/training_speed.py

clean-venv:
	rm -rf $(VENV)
