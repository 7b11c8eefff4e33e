# Every target makes its own virtual environment first; nothing relies on a hand-made install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: venv chromium demo airflow test bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev,sandbox,web,prod]'
	$(BIN)/python -m compileall -q access connectors contracts dags linkage orchestration sandbox warehouse web xgate
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

# The browser tests drive Debian's headless Chromium (Playwright with executable_path; it never downloads one);
# a CJK font so screenshots show Chinese text.
chromium:
	@{ command -v chromium && test -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc; } >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; } || \
		echo "warning: chromium is not installed (apt-get install chromium as root): the browser tests will skip"

demo: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m xgate.demo

# Airflow's UI and scheduler on the same DAGs (SQLite metadata, LocalExecutor, 4 task processes).
airflow: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m orchestration.standalone

test: venv chromium
	$(BIN)/pytest

# dlt is measured beside xgate in its own environment: it pins other versions of duckdb and friends.
ANCHORS := .venv-anchors
$(ANCHORS)/.installed: benchmarks/anchors.py
	test -x $(ANCHORS)/bin/python || $(PYTHON) -m venv $(ANCHORS)
	$(ANCHORS)/bin/python -m pip install -q --disable-pip-version-check uv==0.13.8
	$(ANCHORS)/bin/uv pip install -q --python $(ANCHORS)/bin/python 'dlt[parquet,filesystem]==1.31.0' \
		'psycopg2-binary==2.9.13' 'sqlalchemy==2.1.9'
	touch $@

# datacontract-cli too: it pins its own duckdb.
DATACONTRACT := .venv-datacontract
$(DATACONTRACT)/.installed: benchmarks/datacontract_anchor.py
	test -x $(DATACONTRACT)/bin/python || $(PYTHON) -m venv $(DATACONTRACT)
	$(DATACONTRACT)/bin/python -m pip install -q --disable-pip-version-check uv==0.13.8
	$(DATACONTRACT)/bin/uv pip install -q --python $(DATACONTRACT)/bin/python 'datacontract-cli[duckdb,parquet]==1.2.8'
	touch $@

bench: venv $(ANCHORS)/.installed $(DATACONTRACT)/.installed
	$(BIN)/python -m benchmarks

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf .xgate
