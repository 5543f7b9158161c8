#!/bin/sh
# Usage: check_ttc.sh AIMCSIM SOURCE_DIR EXPECTED_FILE
# Runs the `aimcsim ttc` command named in EXPECTED_FILE (its `args` line, with @SRC@ for the
# source tree) and compares each `expect N COLUMN VALUE TOLERANCE` line with the printed table.
# Columns of a table row: N acc +- sd fp32 energy dynamic.
set -e
AIMCSIM=$1
SRC=$2
EXPECTED=$3
ARGS=$(sed -n 's/^args //p' "$EXPECTED" | sed "s#@SRC@#$SRC#g")
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
# shellcheck disable=SC2086
"$AIMCSIM" ttc $ARGS > "$OUT"
cat "$OUT"
awk -v expected="$EXPECTED" '
  BEGIN { col["acc"] = 2; col["sd"] = 4; col["fp32"] = 5; col["energy"] = 6; col["dynamic"] = 7 }
  $1 ~ /^[0-9]+$/ && $3 == "+-" && NF == 7 { for (c in col) v[$1 "," c] = $(col[c]) }
  /^FP32 greedy accuracy:/ { v["greedy,fp32"] = $4 }
  END {
    bad = 0; n = 0
    while ((getline line < expected) > 0) {
      split(line, f, " ")
      if (f[1] != "expect") continue
      key = f[2] "," f[3]; n++
      if (!(key in v)) { printf "FAIL %s %s: not in the output\n", f[2], f[3]; bad++; continue }
      d = v[key] - f[4]; if (d < 0) d = -d
      status = (d <= f[5]) ? "ok  " : "FAIL"
      if (d > f[5]) bad++
      printf "%s N=%-6s %-7s got %s expected %s +- %s\n", status, f[2], f[3], v[key], f[4], f[5]
    }
    if (n == 0) { print "FAIL: no expected values"; exit 1 }
    exit bad ? 1 : 0
  }' "$OUT"
