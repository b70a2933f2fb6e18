# Two commands set everything up on a fresh machine (see README):
#   make paper   - create .venv if missing, install, run the paper's notebooks (PROFILE=cpu by default;
#                  RETRAIN=1 trains every model again, e.g. after editing a network)
#   make test    - create .venv if missing, install, run the whole test suite
PROFILE ?= cpu
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp


.PHONY: install test paper book report notebooks tolerances compare-machine bench clean-venv

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# the linter (ruff: pyflakes and bugbear rules), the unit tests, then nbval: every notebook re-executed in
# the smoke profile, the cells marked NBVAL_CHECK_OUTPUT compared with the outputs stored in notebooks/, and
# trained numbers with the references in notebooks/references/ within measured tolerances (both refreshed
# by `make notebooks`); notebooks/nbval-sanitize.cfg lists what the comparison leaves out
PYTEST_ARGS ?=
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -p no:cacheprovider --durations=15 $(PYTEST_ARGS) tests notebooks --nbval-lax --nbval-sanitize-with notebooks/nbval-sanitize.cfg

# re-execute the notebooks in place in the smoke profile (the outputs nbval compares), then store the
# trained numbers they checked as the smoke reference (tolerances stay; `make tolerances` measures them)
notebooks: $(STAMP)
	rm -rf outputs/smoke/checkpoints outputs/smoke/cache
	$(PY) -m mmvae_lib.paper --profile smoke --in-place
	$(PY) -m mmvae_lib.regression update --profile smoke

# re-measure the smoke reference's tolerances: the notebooks run here and in environments standing in
# for other CPUs (about 4 times the smoke run); ONLY="13 14" measures some notebooks and keeps the others.
# The measured notebooks are then re-executed in place, so that the tolerances they print are the new ones
tolerances: $(STAMP)
	$(PY) -m mmvae_lib.regression measure --profile smoke $(if $(ONLY),--only $(ONLY))
	$(PY) -m mmvae_lib.paper --profile smoke --in-place $(if $(ONLY),--only $(ONLY))

# on another real CPU (one the emulations above may miss): run the smoke notebooks here, add how far this
# machine lies from the reference to it (LABEL names the machine; default its CPU), widen the tolerances
# to cover it, and re-execute in place the notebooks whose printed tolerances changed; ONLY as above
compare-machine: $(STAMP)
	@changed=$$(mktemp) && \
	$(PY) -m mmvae_lib.regression compare --profile smoke $(if $(LABEL),--label "$(LABEL)") \
		$(if $(ONLY),--only $(ONLY)) --changed-to $$changed && \
	if [ -s $$changed ]; then $(PY) -m mmvae_lib.paper --profile smoke --in-place --only $$(cat $$changed); fi; \
	status=$$?; rm -f $$changed; exit $$status

paper: $(STAMP)
	$(PY) -m mmvae_lib.paper --profile $(PROFILE) $(if $(filter-out 0,$(RETRAIN)),--retrain)

# the executed notebooks of outputs/$(PROFILE) (cpu by default), the results pages and the prose as a static
# site: build/book/html/index.html (strict: a broken reference or a missing figure fails the build)
book: $(STAMP)
	$(PY) -m mmvae_lib.book --profile $(PROFILE)

# rewrite the generated parts of the README and the book (claims, results tables, the figure) from outputs/$(PROFILE)
report: $(STAMP)
	$(PY) -m mmvae_lib.report --profile $(PROFILE)

# side-by-side speed (this project, its plain path, MultiVae when installed: pip install -e ".[bench]"), then
# every experiment's training step beside its floor (benchmarks/step_floor.py); run it on an idle machine
bench: $(STAMP)
	$(PY) benchmarks/training_speed.py
	$(PY) benchmarks/step_floor.py --profile $(PROFILE)

clean-venv:
	rm -rf $(VENV)
