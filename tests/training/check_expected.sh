#!/bin/sh
# Usage: check_expected.sh AIMCSIM SOURCE_DIR EXPECTED_FILE
# Runs the `aimcsim eval` command named in EXPECTED_FILE (its `args` line, with @SRC@ for the
# source tree) and compares each `row metric value tolerance` line with the printed table.
# Columns of a table row: backend runs ppl +- sd bpb +- sd top1 +- sd kl +- sd wall tok/s.
set -e
AIMCSIM=$1
SRC=$2
EXPECTED=$3
ARGS=$(sed -n 's/^args //p' "$EXPECTED" | sed "s#@SRC@#$SRC#g")
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
# shellcheck disable=SC2086
"$AIMCSIM" eval $ARGS > "$OUT"
cat "$OUT"
awk -v expected="$EXPECTED" '
  BEGIN { col["ppl"] = 3; col["ppl_sd"] = 5; col["bpb"] = 6; col["top1"] = 9;
          col["top1_sd"] = 11; col["kl"] = 12 }
  $4 == "+-" { for (c in col) v[$1 "," c] = $(col[c]) }
  END {
    bad = 0; n = 0
    while ((getline line < expected) > 0) {
      split(line, f, " ")
      if (f[1] == "" || f[1] ~ /^#/ || f[1] == "args") continue
      key = f[2] "," f[3]; n++
      if (!(key in v)) { printf "FAIL %s %s: not in the output\n", f[2], f[3]; bad++; continue }
      d = v[key] - f[4]; if (d < 0) d = -d
      status = (d <= f[5]) ? "ok  " : "FAIL"
      if (d > f[5]) bad++
      printf "%s %-7s %-8s got %s expected %s +- %s\n", status, f[2], f[3], v[key], f[4], f[5]
    }
    if (n == 0) { print "FAIL: no expected values"; exit 1 }
    exit bad ? 1 : 0
  }' "$OUT"
