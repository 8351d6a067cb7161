# The front door: every documented entry point is a target here, and each one bootstraps
# the virtual environment from pyproject.toml when it is missing or out of date.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help run test typecheck soak bench serve server report demo notebooks images contract lint format lock clean check template

help: ## list the targets and the envkpi commands
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'
	@echo ""
	@echo "The envkpi command (.venv/bin/envkpi COMMAND --help for its options and defaults):"
	@echo "  envkpi run        ingest, validate, compute the KPIs, write the reports and the filings, copy the snapshot"
	@echo "  envkpi ingest     the same run"
	@echo "  envkpi check      check files or folders before sending (--report FILE for the rejection report)"
	@echo "  envkpi template   an XLSX delivery template for a plant: KIND --plant ID --fy YEAR"
	@echo "  envkpi report     the charts and report pack of one fiscal year: --fy YEAR"
	@echo "  envkpi publish    publish a fiscal year (v1, v2, ...): --fy YEAR [--note TEXT]"
	@echo "  envkpi trace      every delivered row behind one figure: --kpi KPI --fy YEAR [--scope ID] [--out FILE]"

# The environment is installed from requirements.lock, the versions the tests passed with
# (`make lock` updates it from pyproject.toml's ranges), then envkpi itself without dependencies.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lock: $(STAMP) ## update requirements.lock to the newest versions pyproject.toml allows (then make test)
	$(BIN)/pip-compile --extra dev --strip-extras --no-emit-index-url --no-emit-find-links --quiet \
		-o requirements.lock pyproject.toml

LINTED := envkpi flows tests benchmarks demo notebooks

lint: $(STAMP) ## ruff's checks and its format over the library, flows, tests, benchmarks, demo and notebooks (pyproject.toml)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

format: $(STAMP) ## lay the code out as ruff format does (make lint checks it)
	$(BIN)/ruff format $(LINTED)

run: $(STAMP) ## run the whole pipeline on the shipped demo group (data/demo/landing)
	$(BIN)/envkpi run --landing data/demo/landing

# The type check of the library and the flows runs first (mypy, configured in pyproject.toml);
# its cache in .mypy_cache makes a rerun take seconds.
typecheck: $(STAMP) ## type-check the library, the flows, the benchmark and the demo generator (mypy)
	$(BIN)/mypy

test: $(STAMP) typecheck ## type-check, then run the test suite
	$(BIN)/python -m pytest -n 2 --dist loadfile

# A plant's files, checked before sending: make check FILES="energy_P01_2018-04.csv some/folder"
FILES ?= .
check: $(STAMP) ## check FILES (files or folders) against the contract, nothing loaded; writes check_report.html/.xlsx
	$(BIN)/envkpi check $(FILES) --report check_report

# make template KIND=energy PLANT=P01 FY=2018 writes energy_P01_FY2018.xlsx
KIND ?= energy
PLANT ?= P01
FY ?= 2018
template: $(STAMP) ## write an XLSX delivery template (KIND=energy PLANT=P01 FY=2018)
	$(BIN)/envkpi template $(KIND) --plant $(PLANT) --fy $(FY)

report: $(STAMP) ## write the FY2017 annual report pack from the last run
	$(BIN)/envkpi report --fy 2017

# The demo generator (demo/group.py) is no part of the library: it runs from the checkout.
demo: $(STAMP) ## regenerate the demo group under data/demo/landing (deterministic)
	$(BIN)/python -m demo.group data/demo/landing

contract: $(STAMP) ## write expectations/*.json and docs/contract.md from envkpi/contract.py (a test checks they agree)
	$(BIN)/python -m envkpi.contract

notebooks: $(STAMP) ## make .ipynb files from the reviewed notebooks/*.py (outputs stay out of git)
	$(BIN)/jupytext --to notebook notebooks/*.py

# docs/images/ drawn from the demo group by this checkout's code, so that they never go stale: the
# demo is run into build/images/ (its own warehouse and reports, nothing of `make run` touched),
# then the FY2017 overview, trend and breakdown are copied as drawn and the pack's first page is
# rendered by pdftoppm. More screenshots (the rejection report, a plant template) are steps of
# their own: name their targets in IMAGE_STEPS; each runs after the demo run, with
# IMAGES_REPORTS set to the demo's reports folder, and writes its PNG into docs/images/.
IMAGES_WORK := build/images
IMAGES_REPORTS := $(IMAGES_WORK)/reports
IMAGES_RUN = --warehouse $(IMAGES_WORK)/warehouse.duckdb --reports $(IMAGES_REPORTS) --snapshot $(IMAGES_WORK)/snapshot
# Headless Chromium with no network and a throw-away profile (the rejection report is offline HTML).
CHROMIUM_SHOT = chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
	--disable-component-update --disable-sync --no-first-run --hide-scrollbars
IMAGE_STEPS ?=

images: $(STAMP) ## redraw docs/images/ from the demo group (needs pdftoppm; chromium and soffice for two screenshots)
	@command -v pdftoppm >/dev/null 2>&1 || { echo "make images needs pdftoppm: install poppler-utils" \
		"(Debian/Ubuntu: sudo apt-get install poppler-utils; macOS: brew install poppler)" >&2; exit 1; }
	rm -rf $(IMAGES_WORK)
	ENVKPI_DATA_DOCS=0 $(BIN)/envkpi run --landing data/demo/landing $(IMAGES_RUN)
	$(BIN)/envkpi report --fy 2017 $(IMAGES_RUN)
	cp $(IMAGES_REPORTS)/charts/overview_FY2017.png $(IMAGES_REPORTS)/charts/trend_energy_intensity_FY2017.png \
		$(IMAGES_REPORTS)/charts/breakdown_energy_intensity_FY2017.png docs/images/
	pdftoppm -png -r 110 -f 1 -l 1 -singlefile $(IMAGES_REPORTS)/pack/report_pack_FY2017.pdf \
		docs/images/report_pack_FY2017_page1
	@# The rejection report of the demo's night, as a plant opens it (Chromium, offline).
	@if command -v chromium >/dev/null 2>&1; then \
		$(CHROMIUM_SHOT) --user-data-dir=$$(mktemp -d) --window-size=1280,720 \
			--screenshot=$(CURDIR)/docs/images/rejection_report.png file://$(CURDIR)/$(IMAGES_REPORTS)/rejections.html; \
	else echo "skipped docs/images/rejection_report.png: install chromium" >&2; fi
	@# An energy template for a plant, as a spreadsheet program prints it (LibreOffice, then pdftoppm).
	$(BIN)/envkpi template energy --plant P01 --fy 2018 --warehouse $(IMAGES_WORK)/warehouse.duckdb \
		--out $(IMAGES_WORK)/template_energy_P01_FY2018.xlsx
	@if command -v soffice >/dev/null 2>&1; then \
		soffice --headless --convert-to pdf --outdir $(IMAGES_WORK) $(IMAGES_WORK)/template_energy_P01_FY2018.xlsx \
			>/dev/null && pdftoppm -png -r 80 -f 1 -l 1 -singlefile $(IMAGES_WORK)/template_energy_P01_FY2018.pdf \
			docs/images/template_energy_P01_FY2018; \
	else echo "skipped docs/images/template_energy_P01_FY2018.png: install libreoffice-calc" >&2; fi
	$(if $(strip $(IMAGE_STEPS)),$(MAKE) $(IMAGE_STEPS) IMAGES_REPORTS=$(IMAGES_REPORTS))
	@echo "docs/images/ redrawn from the demo group: $$(ls docs/images | tr '\n' ' ')"

clean: ## remove the warehouse, published snapshots and reports of earlier runs
	rm -rf data/warehouse.duckdb* data/snapshot data/published reports/charts reports/pack reports/data_docs reports/*.csv reports/*.json reports/rejections.html reports/rejections.xlsx

# The local Prefect server and the served nightly deployment: state (SQLite database, UI build)
# stays in .prefect/ inside the project, the API listens on 127.0.0.1 only, and no usage
# analytics leave the machine.
PREFECT_PORT ?= 4200
PREFECT_ENV = PREFECT_HOME=$(CURDIR)/.prefect PREFECT_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api \
	PREFECT_SERVER_ANALYTICS_ENABLED=false

server: $(STAMP) ## start the local Prefect server and UI at http://127.0.0.1:4200 (state in .prefect/)
	$(PREFECT_ENV) $(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

serve: $(STAMP) ## serve the nightly deployment on its schedule (needs make server running)
	$(PREFECT_ENV) $(BIN)/python -m flows.serve

# The benchmark at issue 19's sizes in one run: 20 plants x 15 fiscal years (a small group),
# 2,000 x 3 and 2,000 x 15 (14 million rows in 50,400 files); generated data is cached in
# /tmp/envkpi-bench. Other sizes: make bench BENCH_ARGS="--sizes 20x15,200x3"
BENCH_ARGS ?=

bench: $(STAMP) ## benchmark the pipeline at three sizes against bare DuckDB and pandas: docs/benchmarks.md
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# The reliability tests at length: every fault point of the hand-made landing with its own rerun,
# 24 kills by timer, the whole demo group killed at 30 points, ten times the fuzzed deliveries.
soak: $(STAMP) ## the crash, fuzz and security tests at length (ENVKPI_SOAK=1; about an hour)
	ENVKPI_SOAK=1 $(BIN)/python -m pytest -n 2 --dist loadfile tests/test_crash_safety.py tests/test_fuzz_deliveries.py tests/test_security.py
