#!/usr/bin/env bash
# The GPU check: on a Linux x86-64 machine with an NVIDIA GPU and driver, from a clone after `npm ci`,
#   tools/gpu/check.sh [CIFAR-10 source]        (default: env BMAE_DATA, else the official archive is downloaded)
# 1. sets up TensorFlow's GPU wheel and tfjs-node-gpu (npx bmae setup tensorflow --gpu);
# 2. prints `bmae backends` (tfjs-node-gpu must load, with the GPU's name);
# 3. times the DeiT-Tiny MAE step on tfjs-node-gpu (tools/bench/mae-step.ts, batch 256, pixel and feature target);
# 4. runs a short real pre-training on it (DeiT-Tiny EMA-MAE, 5,000 images, 2 epochs, batch 256).
# Everything is written to gpu-check/ (logs, benchmark JSON, the run folder); it should take under 10
# minutes on a current GPU, most of it the one-time download (~1 GB of CUDA wheels). Exit status 0 only
# when every step passed and the runs really used the GPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=gpu-check
mkdir -p "$out"
[ $# -ge 1 ] && export BMAE_DATA="$1"

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu check: nvidia-smi not found: this needs a machine with an NVIDIA GPU and its driver (nothing was run)" >&2
  exit 2
fi
if ! nvidia-smi -L >"$out/nvidia-smi.txt" 2>&1; then
  echo "gpu check: nvidia-smi lists no GPU:" >&2
  cat "$out/nvidia-smi.txt" >&2
  exit 2
fi
cat "$out/nvidia-smi.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee -a "$out/nvidia-smi.txt"

started=$(date +%s)
stage() { echo; echo "== $1 ($(( $(date +%s) - started )) s)"; }

stage "1/4 set-up: npx bmae setup tensorflow --gpu"
npx bmae setup tensorflow --gpu | tee "$out/setup.json"

stage "2/4 npx bmae backends"
npx bmae backends | tee "$out/backends.txt"
npx bmae backends --json >"$out/backends.json"
if ! grep -q '^\* tfjs-node-gpu' "$out/backends.txt"; then
  echo "gpu check: FAILED: auto selection does not pick tfjs-node-gpu (see the reason above)" >&2
  exit 1
fi

stage "3/4 MAE step on tfjs-node-gpu (DeiT-Tiny, batch 256)"
npx tsx tools/bench/mae-step.ts --backends tfjs-node-gpu --batch 256 --steps 10 --modes pixel,bootstrap --json | tee "$out/mae-step.json"

stage "4/4 short pre-training on tfjs-node-gpu (DeiT-Tiny EMA-MAE, 5,000 images, 2 epochs)"
rm -rf "$out/pretrain"
BMAE_BACKEND=tfjs-node-gpu npx bmae pretrain --config packages/experiments/src/config/pretrain/ema-mae.json \
  --set data.trainPerClass=500 --set optim.epochs=2 --set optim.batchSize=256 --set optim.warmupEpochs=1 \
  --set target.warmupEpochs=1 --out "$out/pretrain" | tee "$out/pretrain.json"
grep -q '"kind": "gpu"' "$out/pretrain/config.json" || { echo "gpu check: FAILED: the run did not record a GPU device" >&2; exit 1; }

echo
echo "gpu check: passed in $(( $(date +%s) - started )) s; results in $out/ (setup.json, backends.json, mae-step.json, pretrain/)"
