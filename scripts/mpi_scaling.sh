#!/usr/bin/env bash
# The scaling figures of docs/cluster.md: wall time of an 8-point sweep (configs/sweeps/
# scaling.pbtxt) and of a 10-seed evaluation on this machine, alone and under mpirun with 1 and
# 2 ranks, and a check that every variant writes the same results.
#   scripts/mpi_scaling.sh            # after: cmake --build build --target aimcsim
set -euo pipefail
cd "$(dirname "$0")/.."
AIMCSIM=${AIMCSIM:-build/sim/aimcsim}
OUT=${OUT:-build/mpi_scaling}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$OUT" && mkdir -p "$OUT"
secs() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > /dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}
same() {  # sweep.json without wall times
  /usr/bin/python3 -c "
import json, sys
def load(d):
    j = json.load(open(d + '/sweep.json'))
    for r in j['rows']: r.pop('wall_s', None); r.pop('finished_at', None)
    return j
print('same' if load(sys.argv[1]) == load(sys.argv[2]) else 'DIFFERENT')" "$1" "$2"
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "| run | command | wall s | results vs local -j 1 |"
echo "|---|---|---:|---|"
t=$(secs "$AIMCSIM" sweep configs/sweeps/scaling.pbtxt -j 1 --out "$OUT/local1")
echo "| sweep, 1 process, 1 point at a time (2 threads per point) | \`aimcsim sweep configs/sweeps/scaling.pbtxt -j 1\` | $t | - |"
t=$(secs "$AIMCSIM" sweep configs/sweeps/scaling.pbtxt -j 2 --out "$OUT/local2")
echo "| sweep, 1 process, 2 points at a time (1 thread each) | \`aimcsim sweep ... -j 2\` | $t | $(same "$OUT/local1" "$OUT/local2") |"
for n in 1 2; do
  t=$(secs mpirun -n "$n" "$AIMCSIM" sweep configs/sweeps/scaling.pbtxt --out "$OUT/mpi$n")
  echo "| sweep, $n MPI rank(s) | \`mpirun -n $n aimcsim sweep configs/sweeps/scaling.pbtxt\` | $t | $(same "$OUT/local1" "$OUT/mpi$n") |"
done
EVAL=(eval --seeds 10 --max-windows 32)
t=$(secs "$AIMCSIM" "${EVAL[@]}" --json "$OUT/eval-local.json")
echo "| eval, 1 process (2 threads) | \`aimcsim eval --seeds 10 --max-windows 32\` | $t | - |"
for n in 1 2; do
  t=$(secs mpirun -n "$n" "$AIMCSIM" "${EVAL[@]}" --json "$OUT/eval-mpi$n.json")
  d=$(/usr/bin/python3 -c "
import json, sys
def load(p):
    j = json.load(open(p))
    for k in ('threads', 'processes'): j.pop(k, None)
    for r in j['rows']:
        for k in ('wall_s', 'tokens_per_s', 'cpu_s'): r.pop(k, None)
    return j
print('same' if load(sys.argv[1]) == load(sys.argv[2]) else 'DIFFERENT')" "$OUT/eval-local.json" "$OUT/eval-mpi$n.json")
  echo "| eval, $n MPI rank(s) | \`mpirun -n $n aimcsim eval --seeds 10 --max-windows 32\` | $t | $d |"
done
