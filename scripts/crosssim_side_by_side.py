#!/usr/bin/python3
"""Times CrossSim's analog matrix product on the shapes of bench_analog_linear (side by side).

CrossSim (Sandia, BSD-3) is not a dependency of aimcsim and is not on PyPI here; to measure it,
put a copy of its source (https://github.com/sandialabs/cross-sim, release 3.2.0, the
`simulator/` folder) on PYTHONPATH and install Debian's python3-scipy:

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=/path/to/cross-sim /usr/bin/python3 \
        scripts/crosssim_side_by_side.py

Configuration: balanced cores of at most 512 x 512, 8-bit quantizing DAC (range -1..1) and ADC
(calibrated range -24..24 per core output, about 3 sigma of a 512-row column sum of uniform
inputs and weights), no device noise. The script first checks that quantization is really
applied (a relative error between 1e-3 and 5e-2 against the float product), then prints the
lowest and the median CPU time of three products per shape, on one thread.
"""
import sys
import time

import numpy as np

try:
    from simulator import AnalogCore, CrossSimParameters
    from simulator.parameters.xbar_parameters import ADCRangeLimits
except ImportError as err:
    sys.exit(f"crosssim_side_by_side.py: CrossSim not importable ({err}); see the docstring")


def analog_core(weights):
    p = CrossSimParameters()
    p.core.rows_max = 512
    p.core.cols_max = 512
    p.xbar.dac.mvm.model = "QuantizerDAC"
    p.xbar.dac.mvm.bits = 8
    p.xbar.dac.mvm.input_bitslicing = False
    p.xbar.dac.mvm.calibrated_range = [-1.0, 1.0]
    p.xbar.adc.mvm.model = "QuantizerADC"
    p.xbar.adc.mvm.bits = 8
    p.xbar.adc.mvm.adc_range_option = ADCRangeLimits.CALIBRATED
    p.xbar.adc.mvm.calibrated_range = [-24.0, 24.0]
    return AnalogCore(weights, p)


def main():
    rng = np.random.default_rng(1)
    shapes = [(2048, 2048, 64), (2048, 2048, 512), (8192, 2048, 512), (2048, 8192, 512)]
    for out, inp, batch in shapes:
        w = rng.uniform(-1, 1, (out, inp)).astype(np.float32)
        x = rng.uniform(-1, 1, (inp, batch)).astype(np.float32)
        core = analog_core(w)
        y = core.matmat(x)
        ref = w @ x
        err = float(np.linalg.norm(y - ref) / np.linalg.norm(ref))
        if not 1e-3 < err < 5e-2:
            sys.exit(f"crosssim_side_by_side.py: relative error {err:.3g}: quantization not as set")
        times = []
        for _ in range(3):
            t0 = time.process_time()
            core.matmat(x)
            times.append(time.process_time() - t0)
        print(f"out:{out}/in:{inp}/batch:{batch}: CrossSim matmat {1e3 * min(times):.1f} / "
              f"{1e3 * float(np.median(times)):.1f} ms (lowest / median CPU of 3), "
              f"relative error {err:.4f}", flush=True)


if __name__ == "__main__":
    main()
