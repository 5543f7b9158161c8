#!/bin/sh
# Usage: train_smoke.sh AIMCSIM SOURCE_DIR WORK_DIR
# Trains 2 steps of the analog recipe on a few teacher-generated sequences and checks that
# aimcsim loads the checkpoint with its input ranges. Exit 77 = skipped (no PyTorch).
set -e
AIMCSIM=$1
SRC=$2
WORK=$3
PY=${AIMC_TRAINING_PYTHON:-/usr/bin/python3}  # override to test the skip path
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "SKIP: $PY cannot import torch (install python3-torch, e.g. scripts/setup --training)"
  exit 77
fi
rm -rf "$WORK"
mkdir -p "$WORK"
"$PY" "$SRC/workloads/training/train_analog.py" \
  --teacher "$SRC/workloads/models/tinyllama-bytes" --chip "$SRC/configs/default.pbtxt" \
  --distill-data "$WORK/distill.txt" --gen-seqs 8 --gen-len 128 --gen-batch 8 \
  --steps 2 --batch-size 2 --seq-len 32 --calib-batches 1 --val-windows 1 --log-every 1 \
  --out "$WORK/model"
for f in config.json model.safetensors training.md; do
  test -s "$WORK/model/$f" || { echo "FAIL: $WORK/model/$f missing"; exit 1; }
done
"$AIMCSIM" eval --model "$WORK/model" --data "$SRC/workloads/data/kjv-eval.txt" \
  --calib "$SRC/workloads/data/kjv-calib.txt" --seeds 1 --max-windows 2 --window 32 \
  --threads 1 > "$WORK/eval.txt"
cat "$WORK/eval.txt"
grep -q "input ranges: 29 from checkpoint" "$WORK/eval.txt" ||
  { echo "FAIL: aimcsim did not take the 29 input ranges from the checkpoint"; exit 1; }
awk '$1 == "analog" { ok = ($3 + 0 > 1 && $3 + 0 < 256) } END { exit ok ? 0 : 1 }' \
  "$WORK/eval.txt" || { echo "FAIL: no plausible analog perplexity"; exit 1; }
echo "PASS"
