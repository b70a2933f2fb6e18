# Two commands set everything up on a fresh machine (see README):
#   make paper   - create .venv if missing, install, run the paper's notebooks (PROFILE=cpu by default)
#   make test    - create .venv if missing, install, run the whole test suite
PROFILE ?= cpu
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

.PHONY: install test paper notebooks bench clean-venv

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# unit tests, then nbval: every notebook re-executed in the smoke profile, the cells marked
# NBVAL_CHECK_OUTPUT compared with the outputs stored in notebooks/ (refreshed by `make notebooks`)
test: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider tests notebooks --nbval-lax

# re-execute the notebooks in place with their default parameters (the smoke profile), storing the
# outputs that `make test` checks
notebooks: $(STAMP)
	@for nb in $(NOTEBOOKS); do echo "executing $$nb"; \
	  $(PY) -m papermill $$nb $$nb -k python3 --cwd notebooks --no-progress-bar --log-level WARNING || exit 1; done

paper: $(STAMP)
	$(PY) -m mmvae_lib.paper --profile $(PROFILE)

bench: $(STAMP)
	$(PY) benchmarks/training_speed.py

clean-venv:
	rm -rf $(VENV)
