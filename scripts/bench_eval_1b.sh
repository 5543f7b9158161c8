#!/bin/sh
# Evaluation speed and memory at 1 B scale without a download (docs/performance.md):
# `aimcsim eval` of the llama-3.2-1b shape card with seeded synthetic weights on the llama1b chip,
# 10 chip instances on 2 threads, 8 windows of 128 tokens (random tokens). Prints the table, then
# per row the tokens/s per core (predicted tokens x runs / CPU s of the row), the analog / FP32
# ratio of CPU time per token, and the peak resident memory of the process.
# Usage: scripts/bench_eval_1b.sh [AIMCSIM] [more eval flags, e.g. --max-windows 2]
set -e
AIMCSIM=${1:-build/sim/aimcsim}
[ $# -gt 0 ] && shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
/usr/bin/time -v "$AIMCSIM" eval --chip "$SRC/configs/llama1b.pbtxt" --model llama-3.2-1b \
  --synthetic-weights 1 --seeds 10 --threads 2 --window 128 --max-windows 8 "$@" > "$OUT" 2>&1
grep -v '^	' "$OUT"
awk '
  /^windows:/ { for (i = 2; i <= NF; i++) if ($i ~ /^predictions/ && $(i - 1) ~ /^[0-9]+$/) tokens = $(i - 1) }
  ($1 == "FP32" || $1 == "W4A8" || $1 == "analog") && $NF ~ /^[0-9.]+$/ {
    cpu = $NF; runs = $2; per_core[$1] = tokens * runs / cpu
    printf "%-7s %8.1f tokens/s per core (%d runs x %d tokens in %.1f CPU s)\n", $1, per_core[$1], runs, tokens, cpu
  }
  /Maximum resident set size/ { rss = $NF }
  END {
    if (per_core["analog"] > 0) printf "analog / FP32 CPU time per token: %.2f\n", per_core["FP32"] / per_core["analog"]
    printf "peak resident memory: %.2f GiB\n", rss / 1048576
  }' "$OUT"
