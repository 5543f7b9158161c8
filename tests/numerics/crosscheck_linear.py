#!/usr/bin/env python3
"""Cross-checks `aimcsim linear` against an independent NumPy reference of one analog layer in
AIHWKit-Lightning's conventions (float64, no device noise): balanced input tiles, static or
dynamic (per token and tile abs-max) input ranges, DAC rounding half to even, ADC bound
out_bound * IR * wmax per channel or per layer, bound-only ADC and range-only DAC clamping.

Usage: crosscheck_linear.py AIMCSIM WORK_DIR. Exit 0 when every case agrees, 1 otherwise, 77
when NumPy is missing (the test is then skipped).
"""
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(77)


def balanced_split(total, max_part):
    n = -(-total // max_part)
    sizes = [total // n] * n
    for k in range(total % n):
        sizes[k] += 1
    return sizes


def reference(w, x, ranges, rows, cols, inp_res, out_res, out_bound, scope, dynamic,
              adc_clamps, dac_clamps):
    """y = x W^T through the analog chain; returns (y, dac codes or applied inputs)."""
    w = w.astype(np.float64)
    x = x.astype(np.float64)
    y = np.zeros((x.shape[0], w.shape[0]))
    codes = np.zeros_like(x)
    start = 0
    for t, size in enumerate(balanced_split(w.shape[1], rows)):
        xs, ws = x[:, start:start + size], w[:, start:start + size]
        if dynamic:
            ir = np.abs(xs).max(axis=1, keepdims=True)
        else:
            ir = np.full((x.shape[0], 1), float(ranges[t]))
        safe = np.where(ir > 0, ir, 1.0)
        if inp_res > 0:
            q = np.round(np.clip(xs, -ir, ir) * inp_res / (2 * safe))  # half to even
            q = np.where(ir > 0, q, 0.0)
            codes[:, start:start + size] = q
            xq = q * 2 * ir / inp_res
        else:
            xq = np.clip(xs, -ir, ir) if (dac_clamps or dynamic) else xs
            codes[:, start:start + size] = xq
        part = xq @ ws.T
        wmax = np.abs(ws).max(axis=1)[None, :]
        if scope == "layer":
            wmax = np.full_like(wmax, np.abs(ws).max())
        elif scope == "tile":
            first = 0
            for size_out in balanced_split(w.shape[0], cols):
                wmax[:, first:first + size_out] = np.abs(ws[first:first + size_out]).max()
                first += size_out
        bound = out_bound * ir * wmax
        if out_res > 0:
            step = 2 * bound / out_res
            code = np.clip(np.round(part / np.where(step > 0, step, 1.0)), -out_res // 2,
                           out_res // 2)
            part = np.where(step > 0, code * step, 0.0)
        elif adc_clamps:
            part = np.clip(part, -bound, bound)
        y += part
        start += size
    return y, codes


def save(path, a):
    np.save(path, np.ascontiguousarray(a))


def chip(path, rows, cols, dac_bits, adc_bits, out_bound, policy, scope, adc_clamps, dac_clamps):
    dac = "ideal: true" if dac_bits == 0 else "bits: %d" % dac_bits
    adc = "ideal: true" if adc_bits == 0 else "bits: %d" % adc_bits
    with open(path, "w") as f:
        f.write("schema_version: 1\n")
        f.write("tile { rows: %d cols: %d dac { %s } adc { %s } }\n" % (rows, cols, dac, adc))
        f.write("numerics { weight_noise { none {} } out_noise: 0 out_bound: %g "
                "input_range { policy: %s } adc_bound_scope: %s ideal_adc_clamps: %s "
                "ideal_dac_clamps: %s }\n" % (out_bound, policy, scope,
                                              "true" if adc_clamps else "false",
                                              "true" if dac_clamps else "false"))


def main():
    aimcsim, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(1)
    out_f, in_f, tokens, rows, cols = 96, 300, 24, 128, 40  # 3 x 3 tiles of 100 x 32
    w = (rng.standard_normal((out_f, in_f)) * 0.05).astype(np.float32)
    w[5, :] *= 8  # one large channel: per-layer bounds differ from per-channel ones
    x = rng.standard_normal((tokens, in_f)).astype(np.float32)
    x[3, 10] = 9.0  # an outlier beyond the static range
    ranges = np.array([2.5, 3.0, 2.0], dtype=np.float32)
    save(os.path.join(work, "w.npy"), w)
    save(os.path.join(work, "x.npy"), x)
    save(os.path.join(work, "r.npy"), ranges)
    cases = [
        # name, dac bits, adc bits, out_bound, policy, bound scope, ideal ADC clamps, DAC clamps
        ("aimcsim default: per channel, static", 8, 8, 14, "CALIBRATE", "channel", False, False),
        ("Lightning default: per layer, static", 8, 8, 14, "CALIBRATE", "layer", False, False),
        ("AIHWKit per-tensor scaling: per tile", 8, 8, 10, "CALIBRATE", "tile", False, False),
        ("Lightning dynamic, per layer", 8, 8, 10, "DYNAMIC", "layer", False, False),
        ("dynamic, per channel, 6-bit ADC", 8, 6, 4, "DYNAMIC", "channel", False, False),
        ("bound-only ADC, range-only DAC", 0, 0, 2, "CALIBRATE", "channel", True, True),
        ("bound-only ADC per layer, 8-bit DAC", 8, 0, 1, "CALIBRATE", "layer", True, False),
    ]
    scope_field = {"channel": "ADC_BOUND_PER_CHANNEL", "layer": "ADC_BOUND_PER_LAYER",
                   "tile": "ADC_BOUND_PER_TILE"}
    failures = 0
    for name, dac, adc, bound, policy, scope, adc_clamps, dac_clamps in cases:
        cfg = os.path.join(work, "chip.pbtxt")
        chip(cfg, rows, cols, dac, adc, bound, policy, scope_field[scope], adc_clamps,
             dac_clamps)
        out = os.path.join(work, "out")
        cmd = [aimcsim, "linear", "--chip", cfg, "--weights", os.path.join(work, "w.npy"),
               "--inputs", os.path.join(work, "x.npy"), "--out", out, "--dac-codes"]
        if policy != "DYNAMIC":
            cmd += ["--input-ranges", os.path.join(work, "r.npy")]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        y = np.load(os.path.join(out, "outputs.npy")).astype(np.float64)
        codes = np.load(os.path.join(out, "dac_codes.npy")).astype(np.float64)
        ref, ref_codes = reference(w, x, ranges, rows, cols, 2 ** dac - 2 if dac else 0,
                                   2 ** adc - 2 if adc else 0, bound, scope,
                                   policy == "DYNAMIC", adc_clamps, dac_clamps)
        code_mismatch = int(np.sum(codes != ref_codes)) if dac else 0
        if not dac:
            code_mismatch = int(np.sum(np.abs(codes - ref_codes) > 1e-6 * np.abs(ref_codes)))
        # The same case with another bound scope, to show that the option is seen.
        other, _ = reference(w, x, ranges, rows, cols, 2 ** dac - 2 if dac else 0,
                             2 ** adc - 2 if adc else 0, bound,
                             "channel" if scope == "tile" else "tile",
                             policy == "DYNAMIC", adc_clamps, dac_clamps)
        diff = np.abs(y - ref)
        scale = np.abs(ref).max()
        # The float32 GEMM may move a sum across an ADC rounding boundary: at most one step
        # (2 bound / out_res <= 2 * 14 * 9 * 0.4 / 254 here) for a handful of outputs.
        off = diff > 2e-5 * scale
        scope_gap = np.abs(y - other).max()
        status = ("ok" if code_mismatch == 0 and off.mean() <= 0.002 and scope_gap > 1e-3 * scale
                  else "FAIL")
        failures += status == "FAIL"
        print("%-4s %-40s max |diff| %.3g (of %.3g), outputs off by more than float rounding: %d"
              " of %d, DAC codes differing: %d; other bound scope differs by %.3g"
              % (status, name, diff.max(), scale, off.sum(), off.size, code_mismatch, scope_gap))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
