#!/usr/bin/env bash
# MPI sweeps and evaluation, run by CTest when the build has MPI:
#   mpi_test.sh AIMCSIM MPIEXEC SOURCE_DIR WORK_DIR PART
# PART: sweep  - the six-point sweep (one point fails) under mpirun -n 1, 2, 3 and 4 gives the
#                same sweep.json and sweep.csv as the local `-j 2` sweep, apart from wall times;
#                the failing point is recorded with its error; resume under mpirun runs only the
#                missing points; ranks whose sweep files differ stop the job;
#       eval   - `aimcsim eval --seeds 5` under mpirun -n 2 and 3 gives the single-process table;
#       ttc    - `aimcsim ttc` under mpirun -n 2 and 3 prints what the single process prints
#                (every chip instance's vote accuracies), apart from the wall-time line;
#       dead   - a rank killed mid-sweep stops the job with the launcher's message naming it, and
#                the rows finished so far stay intact and resume.
set -euo pipefail
AIMCSIM=$1 MPIEXEC=$2 SRC=$3 WORK=$4 PART=$5
PY=/usr/bin/python3
SWEEP=$SRC/tests/mpi/six_points.pbtxt
rm -rf "$WORK" && mkdir -p "$WORK"
# Root in CI containers; more ranks than the 2 cores of CI.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpirun() { "$MPIEXEC" --oversubscribe -n "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# sweep.json and sweep.csv without the wall-time fields (wall_s, finished_at).
strip_times() {
  $PY - "$1" <<'EOF'
import csv, io, json, sys
d = sys.argv[1]
j = json.load(open(d + "/sweep.json"))
for r in j["rows"]:
    r.pop("wall_s", None); r.pop("finished_at", None)
print(json.dumps(j, sort_keys=True, indent=1))
rows = list(csv.reader(open(d + "/sweep.csv", newline="")))
drop = [i for i, h in enumerate(rows[0]) if h in ("wall_s", "finished_at")]
for r in rows:
    print(",".join(c for i, c in enumerate(r) if i not in drop))
EOF
}

case "$PART" in
sweep)
  "$AIMCSIM" sweep "$SWEEP" -j 2 --out "$WORK/local" > "$WORK/local.out"
  strip_times "$WORK/local" > "$WORK/local.txt"
  # The failing point is recorded with its error, the others completed.
  $PY - "$WORK/local" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1] + "/sweep.json"))["rows"]
assert len(rows) == 6, len(rows)
assert [r["status"] for r in rows] == ["ok"] * 5 + ["error"], [r["status"] for r in rows]
assert "does not fit" in rows[5]["error"], rows[5]["error"]
assert all(r["ppl_analog_mean"] > r["ppl_fp32"] > 1 for r in rows[:5])
assert rows[4]["ppl_analog_mean"] > rows[2]["ppl_analog_mean"]  # noise 3 hurts more than 1
EOF
  for n in 1 2 3 4; do
    mpirun "$n" "$AIMCSIM" sweep "$SWEEP" --out "$WORK/mpi$n" > "$WORK/mpi$n.out" 2> "$WORK/mpi$n.err" ||
      fail "mpirun -n $n sweep: $(cat "$WORK/mpi$n.err")"
    strip_times "$WORK/mpi$n" > "$WORK/mpi$n.txt"
    cmp -s "$WORK/local.txt" "$WORK/mpi$n.txt" ||
      { diff "$WORK/local.txt" "$WORK/mpi$n.txt" | head -20; fail "mpirun -n $n differs from the local sweep"; }
    grep -q "1 failed" "$WORK/mpi$n.out" || fail "mpirun -n $n: no '1 failed' in $(cat "$WORK/mpi$n.out")"
    # Only rank 0 prints: one summary line.
    [[ $(grep -c "^6 points:" "$WORK/mpi$n.out") == 1 ]] || fail "mpirun -n $n: summary printed $(grep -c "^6 points:" "$WORK/mpi$n.out") times"
  done
  grep -q "running 6 (2 MPI processes x 1 at a time)" "$WORK/mpi2.out" || fail "mpi2 header: $(head -1 "$WORK/mpi2.out")"
  # Resume under MPI: drop rows 001 and 003; only they run again, the others are kept as they were.
  $PY - "$WORK/mpi2/sweep.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
j["rows"] = [r for r in j["rows"] if r["id"] not in ("001", "003")]
json.dump(j, open(sys.argv[1], "w"))
EOF
  kept_before=$($PY -c "import json,sys; print([r['finished_at'] for r in json.load(open(sys.argv[1]))['rows']])" "$WORK/mpi2/sweep.json")
  mpirun 2 "$AIMCSIM" sweep "$SWEEP" --out "$WORK/mpi2" > "$WORK/resume.out"
  grep -q "resumed 4 already done, running 2" "$WORK/resume.out" || fail "resume: $(head -1 "$WORK/resume.out")"
  kept_after=$($PY -c "import json,sys; print([r['finished_at'] for r in json.load(open(sys.argv[1]))['rows'] if r['id'] not in ('001','003')])" "$WORK/mpi2/sweep.json")
  [[ "$kept_before" == "$kept_after" ]] || fail "resume rewrote kept rows: $kept_before vs $kept_after"
  strip_times "$WORK/mpi2" > "$WORK/resumed.txt"
  cmp -s "$WORK/local.txt" "$WORK/resumed.txt" || fail "resumed sweep differs from the local sweep"
  # A rank whose sweep file expands into other points (rank 0's point keys travel as
  # proto::SweepKeys) stops the job with status 2 and says so.
  sed 's/"6", "7"/"5", "7"/' "$SWEEP" > "$WORK/other.pbtxt"
  if "$MPIEXEC" --oversubscribe -n 1 "$AIMCSIM" sweep "$SWEEP" --out "$WORK/mixed" : \
      -n 1 "$AIMCSIM" sweep "$WORK/other.pbtxt" --out "$WORK/mixed" > "$WORK/mixed.out" 2> "$WORK/mixed.err"; then
    fail "ranks with different sweeps: exit status 0"
  fi
  grep -q "rank 1 expands the sweep into other points than rank 0" "$WORK/mixed.err" ||
    fail "ranks with different sweeps: $(head -3 "$WORK/mixed.err")"
  ;;
eval)
  args=(eval --seeds 5 --max-windows 6)
  "$AIMCSIM" "${args[@]}" --json "$WORK/local.json" > "$WORK/local.out"
  for n in 2 3; do
    mpirun "$n" "$AIMCSIM" "${args[@]}" --json "$WORK/mpi$n.json" > "$WORK/mpi$n.out"
    grep -q "$n processes x" "$WORK/mpi$n.out" || fail "eval -n $n: $(head -1 "$WORK/mpi$n.out")"
    $PY - "$WORK/local.json" "$WORK/mpi$n.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert b["processes"] > 1 and a["processes"] == 1
for j in (a, b):
    for k in ("threads", "processes"): j.pop(k)
    for r in j["rows"]:
        r.pop("wall_s"); r.pop("tokens_per_s"); r.pop("cpu_s")
assert a == b, "MPI evaluation differs from the single-process one"
analog = a["rows"][2]
assert analog["backend"] == "analog" and analog["runs"] == 5
assert len({r["perplexity"] for r in analog["run_metrics"]}) == 5  # five different chip instances
EOF
  done
  ;;
ttc)
  args=(ttc --seeds 4 --samples 4 --max-prompts 60)
  "$AIMCSIM" "${args[@]}" | grep -v '^wall:' > "$WORK/local.txt"
  grep -q "seed 3:" "$WORK/local.txt" || fail "ttc: no per-instance line in $(cat "$WORK/local.txt")"
  for n in 2 3; do
    mpirun "$n" "$AIMCSIM" "${args[@]}" | grep -v '^wall:' > "$WORK/mpi$n.txt"
    cmp -s "$WORK/local.txt" "$WORK/mpi$n.txt" ||
      { diff "$WORK/local.txt" "$WORK/mpi$n.txt" | head; fail "ttc under mpirun -n $n differs"; }
  done
  ;;
dead)
  # Points of about 1 s each (on a free 2-core machine); rank 1 is killed once a row exists.
  sed 's/seeds: 4/seeds: 10/; s/max_windows: 4/max_windows: 16/' "$SWEEP" > "$WORK/slow.pbtxt"
  mpirun 2 "$AIMCSIM" sweep "$WORK/slow.pbtxt" --out "$WORK/out" > "$WORK/dead.out" 2>&1 &
  launcher=$!
  rows() { $PY -c "import json,sys; print(len(json.load(open(sys.argv[1]))['rows']))" "$WORK/out/sweep.json" 2>/dev/null || echo 0; }
  for _ in $(seq 600); do [[ $(rows) -ge 1 ]] && break; sleep 0.1; done
  killed=""
  for p in $(pgrep -f "aimcsim sweep $WORK/slow.pbtxt" || true); do
    if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then
      kill -9 "$p" && killed=$p
    fi
  done
  [[ -n "$killed" ]] || fail "no rank 1 process found to kill"
  status=0
  wait "$launcher" || status=$?
  [[ $status -ne 0 ]] || fail "the job ended with status 0 after rank 1 was killed"
  grep -q "rank 1" "$WORK/dead.out" || fail "no message naming rank 1: $(cat "$WORK/dead.out")"
  done_rows=$(rows)
  [[ $done_rows -ge 1 && $done_rows -lt 6 ]] || fail "$done_rows rows after the kill"
  # Rows of points killed with the job are not kept ("crashed" rows are retried on resume).
  kept=$($PY -c "import json,sys; print(sum(r['status'] != 'crashed' for r in json.load(open(sys.argv[1]))['rows']))" "$WORK/out/sweep.json")
  # (Rank 0 also says where the finished rows are when the launcher's SIGTERM reaches it before
  # its SIGKILL; not asserted: a loaded machine may not give it the time. The local part below
  # checks that message.)
  # No point process outlives its rank.
  sleep 0.5
  ! pgrep -f "aimcsim run.*$WORK/out" > /dev/null || fail "point processes outlived the job"
  # The rows are intact: the same command resumes and completes.
  mpirun 2 "$AIMCSIM" sweep "$WORK/slow.pbtxt" --out "$WORK/out" > "$WORK/again.out"
  grep -q "resumed $kept already done" "$WORK/again.out" ||
    fail "resume after the kill ($done_rows rows, $kept kept): $(head -1 "$WORK/again.out")"
  [[ $(rows) == 6 ]] || fail "$(rows) rows after resuming"

  # The same stop locally: SIGINT (Ctrl-C) once a row exists; exit 130, the rows intact, and the
  # message says where they are.
  "$AIMCSIM" sweep "$WORK/slow.pbtxt" -j 2 --out "$WORK/local" > "$WORK/local.out" 2>&1 &
  sweep=$!
  for _ in $(seq 600); do
    [[ $($PY -c "import json,sys; print(len(json.load(open(sys.argv[1]))['rows']))" "$WORK/local/sweep.json" 2>/dev/null || echo 0) -ge 1 ]] && break
    sleep 0.1
  done
  kill -INT "$sweep"
  status=0
  wait "$sweep" || status=$?
  [[ $status == 130 ]] || fail "interrupted local sweep: exit $status: $(cat "$WORK/local.out")"
  grep -q "finished rows are in $WORK/local/sweep.json" "$WORK/local.out" ||
    fail "no message saying where the rows are: $(cat "$WORK/local.out")"
  $PY -c "import json,sys; rows=json.load(open(sys.argv[1]))['rows']; assert 1 <= len(rows) < 6 and all(r['status'] == 'ok' for r in rows), rows" "$WORK/local/sweep.json" ||
    fail "rows after the interrupt"
  ;;
*)
  fail "unknown part '$PART'"
  ;;
esac
echo "mpi $PART: ok"
