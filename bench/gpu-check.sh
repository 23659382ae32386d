#!/usr/bin/env bash
# The prepared GPU check (issue "GPU for real"): one script, under 8 minutes on a machine with an
# NVIDIA GPU, nothing fetched from outside. It runs
#   1. embody doctor (text and JSON): backends, the WebGPU adapter, the CUDA/cuDNN libraries;
#   2. embody bench learners on every backend that loads (tensorflow-gpu, webgpu, tensorflow, wasm, cpu);
#   3. bench/gpu-check.ts on webgpu against wasm: DT training updates/s at the reference size,
#      SAC updates/s and batched policy inference over batch 256 … 8192, the manipulation FCN critic;
# and writes bench/results/<date>-gpu.json (--quick: <date>-gpu-quick.json).
#
# --quick: small sizes, a few minutes on the software adapter (llvmpipe) of a 2-core machine; CI runs it.
#   There step 2 runs only on the backend auto-selection picks (wasm): on llvmpipe the learners bench
#   on webgpu, and on cpu, each take several minutes, and step 3 measures webgpu anyway.
# --out DIR: where the JSON goes (default bench/results).
#
# Known: on llvmpipe, step 2 on webgpu crashes in PPO's 8 × 2048-step rollout, which never yields
# to the event loop, so dawn.node's finalizers never free its objects (README "Backends and GPU").
# A backend whose learners bench fails is recorded as failed, and the script carries on.
#
# What it needs on the GPU machine (carry it; nothing is downloaded):
#   - Node >= 20 on PATH;
#   - this repository with node_modules installed, including the optional packages webgpu
#     (dawn.node, its linux-x64 binary is inside the package) and @tensorflow/tfjs-backend-webgpu;
#   - a Vulkan driver: the NVIDIA driver ships one (libnvidia-glcore + nvidia_icd.json); without it
#     Dawn falls back to llvmpipe, which doctor then reports as a software adapter.
#   tfjs-node-gpu is optional: its install downloads libtensorflow, so offline it is absent and
#   step 2 records it as not loaded; doctor still lists the CUDA 11 / cuDNN 8 libraries it would need.
#
# --pack: instead of running, write .gpu-carry/embody-gpu.tar.xz (~50 MB: this machine's node
#   binary and node_modules without source maps, typings, docs, other platforms' dawn.node, the
#   viewer's and the test runner's packages) for a machine that has neither Node nor the network.
#   With the device tool (64 MiB per call), carry [".gpu-carry"] and run:
#     tar -xJf .gpu-carry/embody-gpu.tar.xz && PATH=$PWD/.gpu-carry/node/bin:$PATH bash bench/gpu-check.sh --out $OUT
#   If `ldconfig -p | grep libvulkan` prints nothing there, also carry the Vulkan loader (libvulkan1).
set -uo pipefail
cd "$(dirname "$0")/.."

quick=""
out="bench/results"
pack=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick="--quick" ;;
    --out) out="$2"; shift ;;
    --pack) pack=1 ;;
    *) echo "usage: bench/gpu-check.sh [--quick] [--out DIR] | --pack" >&2; exit 2 ;;
  esac
  shift
done

if [ -n "$pack" ]; then
  mkdir -p .gpu-carry/node/bin
  cp "$(command -v node)" .gpu-carry/node/bin/node
  # npx is only used for tsx: a two-line shim keeps the script's `npx tsx` working without npm.
  printf '#!/bin/sh\n[ "$1" = tsx ] && shift\nexec node --import tsx "$@"\n' >.gpu-carry/node/bin/npx
  chmod +x .gpu-carry/node/bin/npx
  tar -cf - --exclude='*.map' --exclude='*.d.ts' --exclude='*.md' \
    --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' --exclude='node_modules/webgpu/dist/linux-arm64' \
    --exclude='node_modules/typescript' --exclude='node_modules/@types' --exclude='node_modules/playwright-core' \
    --exclude='node_modules/three' --exclude='node_modules/core-js' --exclude='node_modules/vitest' --exclude='node_modules/@vitest' \
    --exclude='node_modules/vite' --exclude='node_modules/rollup' --exclude='node_modules/@rollup' \
    --exclude='node_modules/@tensorflow/*/dist/*.min.js' --exclude='node_modules/@tensorflow/*/dist/*.es2017.js' --exclude='node_modules/@tensorflow/*/dist/*.fesm.js' \
    node_modules .gpu-carry/node | xz -T0 -6 >.gpu-carry/embody-gpu.tar.xz.tmp
  mv .gpu-carry/embody-gpu.tar.xz.tmp .gpu-carry/embody-gpu.tar.xz
  rm -rf .gpu-carry/node
  ls -l .gpu-carry/embody-gpu.tar.xz
  exit 0
fi

start=$(date +%s)
stamp() { echo "[gpu-check +$(( $(date +%s) - start ))s] $*"; }
work=$(mktemp -d "${TMPDIR:-/tmp}/embody-gpu-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Mesa's and NVIDIA's Vulkan loaders want a runtime dir.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$work/xdg}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

stamp "embody doctor"
./bin/embody.js doctor || true
./bin/embody.js doctor --json >"$work/doctor.json" 2>/dev/null || true
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

# Per backend: 150 s in full mode (the budget is 8 minutes overall), 100 s in --quick.
per_backend=150
[ -n "$quick" ] && per_backend=100
mkdir -p "$work/learners"
backends="tensorflow-gpu webgpu tensorflow wasm cpu"
if [ -n "$quick" ]; then
  backends=$(./bin/embody.js doctor --json 2>/dev/null | sed -n 's/^    "selected": "\(.*\)",$/\1/p' | head -1)
  echo "  --quick: bench learners on the auto-selected backend only (${backends:-none})"
fi
for b in $backends; do
  stamp "embody bench learners on $b"
  # Does the backend load at all? (webgpu is forced here, even on a software adapter.)
  if ! ./bin/embody.js doctor --backend "$b" --json >"$work/probe-$b.json" 2>/dev/null; then
    echo "  $b does not load: $(grep -m1 '"error"' "$work/probe-$b.json" | cut -c1-200)"
    echo '{"failed": "backend did not load (see doctor)"}' >"$work/learners/$b.json"
    continue
  fi
  # A full learners run on cpu (tfjs's JS kernels) would take most of the budget: it gets --quick.
  lq="$quick"
  [ "$b" = cpu ] && lq="--quick"
  if EMBODY_BACKEND="$b" timeout "$per_backend" ./bin/embody.js bench learners $lq --out "$work/learners-$b"; then
    cp "$work/learners-$b"/*.json "$work/learners/$b.json"
  else
    rc_b=$?
    echo "  bench learners on $b failed or ran past ${per_backend}s (rc $rc_b)"
    echo "{\"failed\": \"exit status $rc_b (124: past ${per_backend} s, 139: segfault)\"}" >"$work/learners/$b.json"
  fi
done

stamp "webgpu against wasm: DT, SAC batch sweep, batched inference, FCN critic"
npx tsx bench/gpu-check.ts $quick --out "$out" --doctor "$work/doctor.json" --learners "$work/learners"
rc=$?
stamp "done (rc $rc)"
exit $rc
