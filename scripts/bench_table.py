#!/usr/bin/env python3
"""Medians and ratios of bench_analog_linear: analog read over each FP32 reference, per shape,
and the programming time per weight (BM_ProgramLayer).

Usage: bench_analog_linear --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
           --benchmark_format=json > out.json; scripts/bench_table.py out.json [--wall]
Times are CPU time medians (--wall: real time), in ms.
"""
import json
import sys


def main():
    path = sys.argv[1]
    key = "real_time" if "--wall" in sys.argv else "cpu_time"
    runs = json.load(open(path))["benchmarks"]
    med, label, program = {}, {}, {}
    for r in runs:
        if r.get("aggregate_name") != "median":
            continue
        name, args = r["run_name"].split("/", 1)
        if name == "BM_ProgramLayer":
            program[args] = r.get("ns/weight", 0)
            continue
        med[(name, args)] = r[key]
        label[name] = r.get("label", "")
    shapes = sorted({a for (_, a) in med}, key=lambda a: [int(p.split(":")[1]) for p in a.split("/")])
    refs = [n for n in ("BM_OpenBlasSgemm", "BM_PackedProduct", "BM_EigenGemm") if any(k[0] == n for k in med)]
    head = ["shape", "analog read"] + refs + ["analog / " + r for r in refs]
    print(" | ".join(head))
    for a in shapes:
        an = med.get(("BM_AnalogRead", a))
        row = [a, "%.3g" % an if an else "-"]
        row += ["%.3g" % med[(r, a)] if (r, a) in med else "-" for r in refs]
        row += ["%.2f" % (an / med[(r, a)]) if an and (r, a) in med else "-" for r in refs]
        print(" | ".join(row))
    print("labels:", ", ".join("%s=%s" % (k, v) for k, v in label.items() if v))
    for args, ns in program.items():
        print("programming %s: %.2f ns per weight (CPU time, median)" % (args, ns))


if __name__ == "__main__":
    main()
