#!/bin/sh
# Speed of the timed run of systems of chips (docs/performance.md): Llama-3.1-8B on its 32-chip
# presets at batch 32 (without and with power gating), and the Llama-3.1-70B card on its
# 320-chip preset (map, then 128 decode tokens at batch 8), time and energy only. Prints per run the wall time of the whole command,
# the simulation's wall time per decode step of the batch and per simulated decode token, and
# the peak resident memory.
# Usage: scripts/bench_systems.sh [AIMCSIM] [more run flags, e.g. --memo-parts]
set -e
AIMCSIM=${1:-build/sim/aimcsim}
[ $# -gt 0 ] && shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
bench() {
  name=$1
  batch=$2
  shift 2
  /usr/bin/time -v "$AIMCSIM" run --no-accuracy --batch "$batch" "$@" > "$OUT" 2>&1
  awk -v name="$name" -v batch="$batch" '
    /wall per decode token/ { step = $(NF - 1) }
    /decode throughput \(batch\)/ { tps = $(NF - 1) }
    /^wall time/ { total = $3 }
    /Maximum resident set size/ { rss = $NF }
    END {
      printf "%s: %s s in all; %.1f ms per decode step of %d tokens, %.2f ms per simulated token; ", name, total, step, batch, step / batch
      printf "simulated %s tokens/s; peak memory %.2f GiB\n", tps, rss / 1048576
    }' "$OUT"
}
bench "llama-3.1-8b, 32 chips, batch 32, 4 + 8 tokens" 32 \
  --chip "$SRC/configs/systems/llama3-8b-hermes32.pbtxt" --model llama-3.1-8b \
  --prompt-tokens 4 --decode-tokens 8 "$@"
bench "llama-3.1-8b, 32 power-gated chips, batch 32, 4 + 8 tokens" 32 \
  --chip "$SRC/configs/systems/llama3-8b-hermes32-gated.pbtxt" --model llama-3.1-8b \
  --prompt-tokens 4 --decode-tokens 8 "$@"
bench "llama-3.1-70b, 320 chips, batch 8, 1 + 128 tokens" 8 \
  --chip "$SRC/configs/systems/llama3-70b-hermes320.pbtxt" --model llama-3.1-70b \
  --prompt-tokens 1 --decode-tokens 128 "$@"
