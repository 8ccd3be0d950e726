#!/bin/bash
# Issue 18 device check: bench.gpu_llama7b (LLaMA-2-7B shape, random init) in bf16 mixed
# precision (its default) and in fp32, one after the other, on an H200 (`run` tool).
#
# The device image has torch, peft and transformers (another version) but no pydantic; the
# embedded tokenizer is needed too. Prepare once, here, in the repo root (var/ is ignored):
#   mkdir -p var/devcarry/whl var/devcarry/models/smollm2-135m
#   cp var/models/smollm2-135m/{config.json,generation_config.json,tokenizer.json,tokenizer_config.json} \
#      var/devcarry/models/smollm2-135m/
#   (cd var/devcarry/whl && python3 -m pip download -q --no-deps --only-binary=:all: \
#      --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
#      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d . \
#      pydantic==2.14.4 pydantic_core==2.50.5 pydantic-settings==2.16.3 annotated-types==0.8.0 \
#      typing-inspection==0.4.5 python-dotenv==1.2.4 transformers==5.24.0 peft==0.21.2)
# then: run(command="bash bench/device_check_precision.sh", carry=["var/devcarry"], timeout_s=590)
# (about 17 MiB travels). Log what it prints in bench/NOTES.md ("GPU").
# Issue 18 device check: bench.gpu_llama7b (7B shape, random init) in bf16 (default) and fp32.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site var/devcarry/whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export ICL_IT_MODEL_CACHE=$PWD/var/devcarry/models ICL_IT_HOME=/tmp/iclhome
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
grep -m1 "model name" /proc/cpuinfo; grep -o -w 'amx_bf16\|avx512_bf16\|amx_tile' /proc/cpuinfo | sort | uniq -c; nproc
python3 -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'bf16', torch.cuda.is_bf16_supported())"
for dt in bfloat16 float32; do
  echo "=== gpu_llama7b --dtype $dt"
  timeout 250 python3 -m bench.gpu_llama7b --dtype $dt --quick --examples 16 --no-notes --out $OUT --peak-seconds 0.3 \
    --label "issue 18: $dt engine (mixed precision when bf16)" 2>&1 | tr '\r' '\n' | grep -v "run/s" | tail -30
done
ls $OUT
