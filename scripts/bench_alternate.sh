#!/usr/bin/env bash
# The alternating comparison of issue 14 (benches/README.md): PyTorch, this checkout's benches
# and, optionally, another build's, one after another, ROUNDS times, so that a change in the
# machine's load hits all of them. Writes JSON lines and the printed tables to OUT.
#
#   scripts/bench_alternate.sh [OUT] [ROUNDS]
#   TORCH_PY=venv-torch/bin/python BASE_TARGET=/path/to/other/target scripts/bench_alternate.sh
#
# BASE_TARGET: a CARGO_TARGET_DIR where another commit's benches were built with
# `cargo bench --no-run --bench overhead --bench train_step` (the old kernels, for
# old-against-new ratios); left out when unset. QUICK=1 passes --quick to the training bench
# (width 64, batch 1024 only: the calibration network), which is what the issue's targets use.
set -euo pipefail
OUT=${1:-bench-alternate-$(date -u +%Y%m%dT%H%M%SZ)}
ROUNDS=${2:-2}
TORCH_PY=${TORCH_PY:-python3}
QUICK=${QUICK:-1}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
cargo bench --no-run --bench overhead --bench train_step >/dev/null 2>&1
bin() { ls -t "$1"/release/deps/"$2"-* | grep -v '\.d$' | head -1; }
NEW_TARGET=${CARGO_TARGET_DIR:-target}
quick=(); [ "$QUICK" = 1 ] && quick=(--quick)
{ lscpu | grep -E 'Model name|^CPU\(s\)|Flags' | cut -c1-200; git log -1 --format='commit %h %cI'; date -u; } > "$OUT/machine.txt"
for r in $(seq "$ROUNDS"); do
  echo "round $r: element-wise" >&2
  "$TORCH_PY" benches/torch_reference.py --threads 2 --elementwise --json "$OUT/torch-ew-$r.jsonl" > /dev/null
  "$(bin "$NEW_TARGET" overhead)" --torch "$OUT/torch-ew-$r.jsonl" --json "$OUT/new.jsonl" > "$OUT/overhead-new-$r.txt"
  if [ -n "${BASE_TARGET:-}" ]; then
    "$(bin "$BASE_TARGET" overhead)" --torch "$OUT/torch-ew-$r.jsonl" --json "$OUT/base.jsonl" > "$OUT/overhead-base-$r.txt"
  fi
  for act in tanh relu; do
    echo "round $r: training, $act" >&2
    "$TORCH_PY" benches/torch_reference.py --threads 2 --quick --activation "$act" --json "$OUT/torch-train.jsonl" \
      > "$OUT/torch-train-$act-$r.txt"
    "$(bin "$NEW_TARGET" train_step)" "${quick[@]}" --activation "$act" --json "$OUT/new.jsonl" > "$OUT/train-new-$act-$r.txt"
    if [ -n "${BASE_TARGET:-}" ]; then
      "$(bin "$BASE_TARGET" train_step)" "${quick[@]}" --activation "$act" --json "$OUT/base.jsonl" \
        > "$OUT/train-base-$act-$r.txt"
    fi
  done
  # Issue 23's rows, this build only: thread scaling (1 and 2 threads, alternating) and the
  # ReLU path against tanh (alternating), the regression row of the ReLU anomaly.
  echo "round $r: thread scaling, relu against tanh" >&2
  "$(bin "$NEW_TARGET" train_step)" "${quick[@]}" --threads 1,2 --activation tanh --json "$OUT/new.jsonl" \
    > "$OUT/train-threads-$r.txt"
  "$(bin "$NEW_TARGET" train_step)" "${quick[@]}" --relu-vs-tanh --json "$OUT/new.jsonl" > "$OUT/train-relu-tanh-$r.txt"
done
echo "wrote $OUT" >&2
