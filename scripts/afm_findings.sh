#!/bin/sh
# Reproduces the findings table of docs/analog-training.md (findings 1 and 2): the
# bundled model and its analog-trained variant on the default chip (afm_pcm noise, 8-bit DAC/ADC,
# out_bound 14, lm_head on tiles), FP32 / W4A8 / analog rows, 10 chip instances each.
#
#   scripts/afm_findings.sh                 # after: cmake --build build --target aimcsim
#   SEEDS=3 WINDOWS=16 scripts/afm_findings.sh   # a quick look
#
# Rows:
#   original            the bundled FP model, input ranges calibrated with the chip's kappa (10)
#   original-kappa3     the same model, ranges calibrated with the common kappa 3, which clips
#                       this model's heavy-tailed activations (a sensitivity row)
#   analog-trained      workloads/models/tinyllama-bytes-analog, learned ranges from checkpoint
# The last two columns give each analog row's perplexity loss against the model's own FP32 row
# and against the original's FP32 row (the teacher, the quality the analog chip should keep).
# Raw tables and JSON (every chip instance) are left in $OUT.
set -e
cd "$(dirname "$0")/.."
AIMCSIM=${AIMCSIM:-build/sim/aimcsim}
SEEDS=${SEEDS:-10}
WINDOWS=${WINDOWS:-64}
OUT=${OUT:-build/afm_findings}
CHIP=${CHIP:-configs/default.pbtxt}
ORIGINAL=${ORIGINAL:-workloads/models/tinyllama-bytes}
ANALOG=${ANALOG:-workloads/models/tinyllama-bytes-analog}
mkdir -p "$OUT"
sed 's/kappa: *[0-9.]*/kappa: 3/' "$CHIP" > "$OUT/chip-kappa3.pbtxt"

run() {  # label model chip
  "$AIMCSIM" eval --chip "$3" --model "$2" --data workloads/data/kjv-eval.txt \
    --calib workloads/data/kjv-calib.txt --seeds "$SEEDS" --max-windows "$WINDOWS" \
    --json "$OUT/$1.json" > "$OUT/$1.txt"
}
run original "$ORIGINAL" "$CHIP"
run original-kappa3 "$ORIGINAL" "$OUT/chip-kappa3.pbtxt"
run analog-trained "$ANALOG" "$CHIP"

echo "chip $CHIP, $SEEDS chip instances, $WINDOWS windows x 128 bytes of workloads/data/kjv-eval.txt"
echo
echo "| model | input ranges | FP32 ppl | W4A8 ppl | analog ppl (mean +- sd) | FP32 acc | W4A8 acc | analog acc (mean +- sd) | analog ppl loss vs own FP32 | vs original FP32 |"
echo "|---|---|---|---|---|---|---|---|---|---|"
REF=$(awk '$1 == "FP32" { print $3 }' "$OUT/original.txt")
for label in original original-kappa3 analog-trained; do
  awk -v label="$label" -v ref="$REF" '
    /^input ranges:/ { sub(/^input ranges: /, ""); ranges = $0 }
    $1 == "FP32"   { fp = $3; fpa = $9 }
    $1 == "W4A8"   { w4 = $3; w4a = $9 }
    $1 == "analog" { an = $3; ansd = $5; ana = $9; anasd = $11 }
    END { printf "| %s | %s | %.4f | %.4f | %.4f +- %.4f | %.4f | %.4f | %.4f +- %.4f | %+.4f (%+.1f %%) | %+.4f (%+.1f %%) |\n",
                 label, ranges, fp, w4, an, ansd, fpa, w4a, ana, anasd, an - fp, 100 * (an - fp) / fp,
                 an - ref, 100 * (an - ref) / ref }
  ' "$OUT/$label.txt"
done

# Goal of finding 1: the analog-trained model loses at most half of what the original loses.
awk '
  FNR == 1 { file++ }
  $1 == "FP32"   { fp[file] = $3; fpa[file] = $9 }
  $1 == "analog" { an[file] = $3; ana[file] = $9 }
  END {
    lo = an[1] - fp[1]; la = fpa[1] - ana[1]
    printf "\nloss of the analog-trained model as a fraction of the original'"'"'s loss (goal <= 0.5):\n"
    printf "  perplexity: %.2f vs own FP32, %.2f vs original FP32\n", (an[2] - fp[2]) / lo, (an[2] - fp[1]) / lo
    printf "  accuracy:   %.2f vs own FP32, %.2f vs original FP32\n", (fpa[2] - ana[2]) / la, (fpa[1] - ana[2]) / la
  }' "$OUT/original.txt" "$OUT/analog-trained.txt"

# Finding 3 (test-time compute): the addition model and its analog-trained variant on the same
# chip; accuracy of the majority vote over the first N of 16 answers sampled at temperature 1
# (N = 1, 2, 4, 8, 16), mean +- sd over the chip instances, with the energy per answer from the
# timed simulation (docs/analog-training.md, "Finding 3"). TTC=0 skips it; TTC_PROMPTS limits
# the held-out problems (default all 500 of workloads/data/addition-eval.txt).
if [ "${TTC:-1}" != 0 ]; then
  TTC_PROMPTS=${TTC_PROMPTS:-0}
  for m in addition-bytes addition-bytes-analog; do
    "$AIMCSIM" ttc --chip "$CHIP" --model "workloads/models/$m" \
      --data workloads/data/addition-eval.txt --calib workloads/data/addition-calib.txt \
      --seeds "$SEEDS" --samples 16 --temperature 1 --max-prompts "$TTC_PROMPTS" > "$OUT/ttc-$m.txt"
  done
  echo
  echo "test-time compute: $SEEDS chip instances, workloads/data/addition-eval.txt, 16 samples at T = 1"
  grep '^FP32 greedy' "$OUT/ttc-addition-bytes.txt" | sed 's/^/  original:       /'
  grep '^FP32 greedy' "$OUT/ttc-addition-bytes-analog.txt" | sed 's/^/  analog-trained: /'
  echo
  echo "| N | original: analog acc (mean +- sd) | original: FP32 acc | analog-trained: analog acc (mean +- sd) | analog-trained: FP32 acc | energy per answer (uJ) | of which dynamic (uJ) |"
  echo "|---|---|---|---|---|---|---|"
  awk '
    FNR == 1 { file++ }
    $1 ~ /^[0-9]+$/ && $3 == "+-" && NF == 7 { acc[file, $1] = $2; sd[file, $1] = $4;
                                                fp[file, $1] = $5; e[$1] = $6; d[$1] = $7;
                                                if (file == 1) order[++n] = $1 }
    END { for (i = 1; i <= n; i++) { k = order[i]
            printf "| %s | %.4f +- %.4f | %.4f | %.4f +- %.4f | %.4f | %.2f | %.2f |\n", k,
                   acc[1, k], sd[1, k], fp[1, k], acc[2, k], sd[2, k], fp[2, k], e[k], d[k] } }
  ' "$OUT/ttc-addition-bytes.txt" "$OUT/ttc-addition-bytes-analog.txt"
fi
