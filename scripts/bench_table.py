#!/usr/bin/env python3
"""Medians and ratios of bench_analog_linear: analog read over each FP32 reference, per shape,
whether the goal against the strictest reference (our packed product: 1.5x at batch 1, 1.25x
above) is met, the normal draws' cost (BM_NormalDraws: Box-Muller and inverse CDF per SIMD level) and the programming time per weight
(BM_ProgramLayer).

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
    med, label, program, draws = {}, {}, {}, {}
    for r in runs:
        if r.get("aggregate_name") != "median":
            continue
        name, _, args = r["run_name"].partition("/")
        if name == "BM_ProgramLayer":
            program[args] = r.get("ns/weight", 0)
            continue
        if name == "BM_NormalDraws":
            draws[args] = (r.get("ns/draw", 0), r.get("label", ""))
            continue
        med[(name, args)] = r[key]
        label[name] = r.get("label", "")
    shapes = sorted({a for (_, a) in med}, key=lambda a: [int(p.split(":")[1]) for p in a.split("/")])
    refs = [n for n in ("BM_OpenBlasSgemm", "BM_PackedProduct", "BM_EigenGemm") if any(k[0] == n for k in med)]
    head = ["shape", "analog read"] + refs + ["analog / " + r for r in refs]
    if "BM_PackedProduct" in refs:
        head.append("goal vs packed")
    print(" | ".join(head))
    for a in shapes:
        an = med.get(("BM_AnalogRead", a))
        row = [a, "%.3g" % an if an else "-"]
        row += ["%.3g" % med[(r, a)] if (r, a) in med else "-" for r in refs]
        row += ["%.2f" % (an / med[(r, a)]) if an and (r, a) in med else "-" for r in refs]
        packed = med.get(("BM_PackedProduct", a))
        if "BM_PackedProduct" in refs:
            goal = 1.5 if a.endswith("batch:1") else 1.25
            if an and packed:
                row.append("%s (<= %.2f)" % ("met" if an / packed <= goal else "NOT met", goal))
            else:
                row.append("-")
        print(" | ".join(row))
    print("labels:", ", ".join("%s=%s" % (k, v) for k, v in label.items() if v))
    for args, (ns, level) in draws.items():
        method = "inverse CDF" if args.startswith("icdf:1") else "Box-Muller"
        print("normal draws, %s, %s: %.3f ns per draw (CPU time, median)" % (method, level, ns))
    for args, ns in program.items():
        print("programming %s: %.2f ns per weight (CPU time, median)" % (args, ns))


if __name__ == "__main__":
    main()
