#!/usr/bin/env python3
"""Medians and ratios of bench_analog_linear: analog read over each FP32 reference, per shape,
whether the goal against the strictest reference (our packed product: 1.5x at batch 1, 1.25x
above) is met, the normal draws' cost (BM_NormalDraws: Box-Muller and inverse CDF per SIMD level)
and the programming time per weight (BM_ProgramLayer).

Usage: bench_analog_linear --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
           --benchmark_format=json > run1.json   # once per run, e.g. run1.json .. run5.json
       scripts/bench_table.py run1.json [run2.json ...] [--wall]
Times are CPU time medians (--wall: real time), in ms, of the first file.

On a shared machine one run's ratio moves by several hundredths (other programs take the cache
and memory bandwidth during one benchmark and not the other), so the goal is judged on the
spread, not on one number:
  - per run: the ratio of the medians ("analog / packed"), and the range of the ratios of the
    repetitions paired in order (repetition i of the read over repetition i of the product);
  - paired (BM_ReadOverProduct): the read and the product of its own weights timed in turns
    within each iteration, so that interference lands on both; the median over repetitions of
    each repetition's ratio of CPU-time totals, and their range;
  - over runs (several files): the median of the per-run ratios, their range, and in how many
    runs the goal held. "met" means the median over runs is within the goal.
"""
import json
import statistics
import sys

REFS = ("BM_OpenBlasSgemm", "BM_PackedProduct", "BM_EigenGemm")


def shape_key(args):
    return [int(p.split(":")[1]) for p in args.split("/")]


def goal_of(args):
    return 1.5 if args.endswith("batch:1") else 1.25


def load(path, key):
    """One run: medians[(name, args)], repetitions[(name, args)] in order, labels, extras; the
    paired ratios of BM_ReadOverProduct under ("paired", args) in both."""
    runs = json.load(open(path))["benchmarks"]
    med, reps, label, program, draws = {}, {}, {}, {}, {}
    for r in runs:
        name, _, args = r["run_name"].partition("/")
        if name == "BM_ReadOverProduct":
            if r.get("run_type") == "iteration":
                reps.setdefault(("paired", args), []).append((r.get("repetition_index", 0), r["ratio"]))
            elif r.get("aggregate_name") == "median":
                med[("paired", args)] = r["ratio"]
            continue
        if r.get("run_type") == "iteration" and name not in ("BM_ProgramLayer", "BM_NormalDraws"):
            reps.setdefault((name, args), []).append((r.get("repetition_index", 0), r[key]))
        if r.get("aggregate_name") != "median":
            continue
        if name == "BM_ProgramLayer":
            program[args] = r.get("ns/weight", 0)
            continue
        if name == "BM_NormalDraws":
            draws[args] = (r.get("ns/draw", 0), r.get("label", ""))
            continue
        med[(name, args)] = r[key]
        label[name] = r.get("label", "")
    # A single repetition has no aggregates: its time is the median.
    for k, v in reps.items():
        if k not in med and len(v) == 1:
            med[k] = v[0][1]
    reps = {k: [t for _, t in sorted(v)] for k, v in reps.items()}
    return med, reps, label, program, draws


def paired_range(reps, args):
    a, p = reps.get(("BM_AnalogRead", args)), reps.get(("BM_PackedProduct", args))
    if not a or not p or len(a) != len(p) or len(a) < 2:
        return None
    ratios = [x / y for x, y in zip(a, p)]
    return min(ratios), max(ratios)


def main():
    files = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not files:
        sys.exit(__doc__)
    key = "real_time" if "--wall" in sys.argv else "cpu_time"
    loaded = [load(f, key) for f in files]
    med, reps, label, program, draws = loaded[0]
    shapes = sorted({a for (n, a) in med if n != "paired"}, key=shape_key)
    refs = [n for n in REFS if any(k[0] == n for k in med)]
    head = ["shape", "analog read"] + refs + ["analog / " + r for r in refs]
    paired = any(k[0] == "paired" for k in med)
    if "BM_PackedProduct" in refs:
        head += ["repetitions' analog / packed", "goal vs packed"]
    if paired:
        head += ["paired ratio (repetitions)", "goal (paired)"]
    print("run 1 of %d (%s):" % (len(files), files[0]))
    print(" | ".join(head))
    for a in shapes:
        an = med.get(("BM_AnalogRead", a))
        row = [a, "%.3g" % an if an else "-"]
        row += ["%.3g" % med[(r, a)] if (r, a) in med else "-" for r in refs]
        row += ["%.2f" % (an / med[(r, a)]) if an and (r, a) in med else "-" for r in refs]
        packed = med.get(("BM_PackedProduct", a))
        if "BM_PackedProduct" in refs:
            pr = paired_range(reps, a)
            row.append("%.2f-%.2f" % pr if pr else "-")
            if an and packed:
                goal = goal_of(a)
                row.append("%s (<= %.2f)" % ("met" if an / packed <= goal else "NOT met", goal))
            else:
                row.append("-")
        if paired:
            pm, pr = med.get(("paired", a)), reps.get(("paired", a))
            if pm:
                spread = " (%.2f-%.2f)" % (min(pr), max(pr)) if pr and len(pr) > 1 else ""
                row.append("%.2f%s" % (pm, spread))
                row.append("%s (<= %.2f)" % ("met" if pm <= goal_of(a) else "NOT met", goal_of(a)))
            else:
                row += ["-", "-"]
        print(" | ".join(row))
    print("labels:", ", ".join("%s=%s" % (k, v) for k, v in label.items() if v))
    for args, (ns, level) in draws.items():
        method = "inverse CDF" if args.startswith("icdf:1") else "Box-Muller"
        print("normal draws, %s, %s: %.3f ns per draw (CPU time, median)" % (method, level, ns))
    for args, ns in program.items():
        print("programming %s: %.2f ns per weight (CPU time, median)" % (args, ns))
    if len(files) < 2:
        return
    # Over runs: the per-run ratio of medians, analog read / packed product, and the paired one.
    all_shapes = sorted({a for m, *_ in loaded for (n, a) in m if n != "paired"}, key=shape_key)
    for title, per_run in (
            ("analog / packed over %d runs (per-run ratio of CPU-time medians):" % len(files),
             lambda m, a: m[("BM_AnalogRead", a)] / m[("BM_PackedProduct", a)]
             if ("BM_AnalogRead", a) in m and ("BM_PackedProduct", a) in m else None),
            ("paired ratio over %d runs (per-run median of BM_ReadOverProduct):" % len(files),
             lambda m, a: m.get(("paired", a)))):
        rows = []
        for a in all_shapes:
            ratios = [r for r in (per_run(m, a) for m, *_ in loaded) if r]
            if not ratios:
                continue
            goal = goal_of(a)
            mid = statistics.median(ratios)
            rows.append(" | ".join([a, "%.2f" % mid, "%.2f-%.2f" % (min(ratios), max(ratios)),
                                    ", ".join("%.2f" % r for r in ratios),
                                    "%d of %d" % (sum(r <= goal for r in ratios), len(ratios)),
                                    "%s (<= %.2f)" % ("met" if mid <= goal else "NOT met", goal)]))
        if rows:
            print()
            print(title)
            print(" | ".join(["shape", "median", "range", "runs", "goal met in", "goal (median)"]))
            print("\n".join(rows))


if __name__ == "__main__":
    main()
