#!/usr/bin/env python3
"""Golden of the default run's timing and energy: `aimcsim run --no-accuracy` (the timed part of
the default `aimcsim run`: bundled model, default chip, 32 prompt + 32 decode tokens) against
default_run.golden, line by line.

Usage: check_default_run.py AIMCSIM GOLDEN [--update]

Each golden line is `key value`: time to first token, decode latency, energy per token of
prefill and decode in total and by component, and the action counts. A value may differ from
the golden by 1e-9 relative (the same build gives the same bits; another compiler may round a
sum differently). On a difference it prints every changed line; after an intended change of the
timing or energy model, rerun with --update and commit the golden, so the diff shows it.
"""
import json
import subprocess
import sys
import tempfile

REL_TOL = 1e-9


def golden_lines(report):
    lines = [
        ("ttft_ns", report["ttft_ns"]),
        ("decode_latency_ns", report["decode_latency_ns"]),
        ("total_time_ns", report["total_time_ns"]),
    ]
    for phase in ("prefill", "decode"):
        p = report[phase]
        lines.append((f"{phase}.total_nj_per_token", p["total_nj_per_token"]))
        for c in p["by_component"]:
            lines.append((f"{phase}.nj_per_token.{c['name']}", c.get("nj_per_token", 0)))
    for a in report["actions"]:
        for phase in ("prefill", "decode"):
            lines.append((f"{phase}.actions.{a['name']}", a.get(phase, 0)))
    return [(k, float(v)) for k, v in lines]


def read_golden(path):
    values = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, value = line.split()
            values[key] = float(value)
    return values


def main():
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and sys.argv[3] != "--update"):
        sys.exit(__doc__)
    aimcsim, golden = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([aimcsim, "run", "--no-accuracy", "--out", out], check=True,
                       stdout=subprocess.DEVNULL)
        with open(f"{out}/report.json") as f:
            got = golden_lines(json.load(f))
    if len(sys.argv) == 4:
        with open(golden, "w") as f:
            f.write("# aimcsim run --no-accuracy (defaults); regenerate with\n"
                    "# tests/regression/check_default_run.py build/sim/aimcsim "
                    "tests/regression/default_run.golden --update\n")
            for key, value in got:
                f.write(f"{key} {value!r}\n")
        print(f"wrote {golden}")
        return 0
    want = read_golden(golden)
    bad = 0
    for key, value in got:
        if key not in want:
            print(f"NEW  {key} {value!r} (not in the golden)")
            bad += 1
        elif abs(value - want[key]) > REL_TOL * max(abs(value), abs(want[key])):
            print(f"DIFF {key}: golden {want[key]!r}, now {value!r}")
            bad += 1
    for key in sorted(set(want) - {k for k, _ in got}):
        print(f"GONE {key} (in the golden, not in the report)")
        bad += 1
    print(f"{len(got)} values, {bad} differ from {golden}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
