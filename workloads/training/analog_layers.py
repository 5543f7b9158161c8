"""Hardware-aware (analog-aware) linear layers for training analog foundation models.

`AnalogLinear` is a drop-in replacement for a bias-free `nn.Linear` whose forward pass mirrors
aimcsim's crossbar numerics (docs/numerics.md; /work/shared/reference/numerics.md sections 2 and
5) closely enough that a model trained with it keeps its quality on the simulated chip:

  * tiling: the input dimension is split with `balanced_split(in_features, rows)` exactly as
    `arch::balanced_split` does (n = ceil(in / rows) tiles, the first in % n one larger); each
    input tile t has its own static input range IR_t and its own per-channel wmax_j; the tiles'
    partial outputs are summed in tile order. The output dimension's tiling does not change
    any number (every quantity is per output channel), so it is not modelled;
  * DAC: clamp to [-IR_t, IR_t], round half-to-even to inp_res + 1 levels (254 -> codes
    -127..127), straight-through estimator (STE) for the rounding. IR_t is a learned parameter
    (stored as log IR_t so that one learning rate suits ranges of any scale); its gradient is the
    LSQ form that falls out of the STE: clipped inputs push IR_t up, rounding error inside the
    range pushes either way;
  * weight noise: W_t + gamma * wmax_j * N(0, 1), drawn fresh on every forward pass in training
    mode (gamma = 0.03, the AFM training noise), wmax_j = max_i |W_t[j, i]| per channel and tile;
    the noise and wmax are constants for autograd, so the gradient reaches W unchanged;
  * ADC: bound beta_j = out_bound * IR_t * wmax_j, clamp and round to out_res + 1 levels with an
    STE (out_bound 14, 8 bits by default). The gradient reaches IR_t through beta too;
  * clipping (`clip_weights_`, call after every optimizer step): each row of the whole layer is
    clamped to +-clip_sigma * std(row), std with divisor n - 1, as aimcsim's `clip_rows`.

Rounding uses torch.round, which is round-half-to-even like the chip. The DAC and ADC codes are
computed as clamp(x / IR) * 127 and y / beta * 127 in float32, not with the one-division double
form of the spec's section 6; for training the difference (a code off by one at an exact tie)
does not matter.

`calibrate_input_ranges` initialises IR_t from data as the running mean over batches of
kappa * std(x_t) (population std over all tokens x tile-width elements, as aimcsim's calibration).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def balanced_split(total, max_part):
    """Sizes of the balanced split of `total` into ceil(total / max_part) parts, the first
    total % n parts one larger (arch::balanced_split)."""
    n = max(1, -(-total // max_part))
    base, extra = divmod(total, n)
    return [base + 1] * extra + [base] * (n - extra)


def _round_ste(v):
    """round_half_even(v) forward, identity backward."""
    return v + (torch.round(v) - v).detach()


class AnalogLinear(nn.Module):
    """y = x W^T on a grid of analog tiles (no bias), with trainable per-tile input ranges.

    Modes (plain attributes, set through `set_analog_mode`):
      analog=False         exactly F.linear (the FP model);
      calibrating=True     F.linear, and accumulates kappa * std(x_t) per tile;
      analog=True          DAC + noisy weights (noise only when self.training and
                           noise=True) + ADC.
    """

    def __init__(self, in_features, out_features, rows=256, inp_res=254, out_res=254,
                 out_bound=14.0, gamma=0.03, noise_model="gaussian"):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.tile_sizes = balanced_split(in_features, rows)
        self.log_input_range = nn.Parameter(torch.zeros(len(self.tile_sizes)))
        self.inp_res, self.out_res, self.out_bound, self.gamma = inp_res, out_res, out_bound, gamma
        if noise_model not in ("gaussian", "afm_pcm"):
            raise ValueError(f"noise_model must be gaussian or afm_pcm, not {noise_model}")
        self.noise_model = noise_model
        self.analog, self.noise, self.calibrating = True, True, False
        self._calib_sum = torch.zeros(len(self.tile_sizes), dtype=torch.float64)
        self._calib_count = 0

    @classmethod
    def from_linear(cls, linear, **kw):
        if linear.bias is not None:
            raise ValueError("AnalogLinear models bias-free layers only")
        layer = cls(linear.in_features, linear.out_features, **kw)
        layer.weight = linear.weight  # share the Parameter (and so the HF name's tensor)
        return layer

    @property
    def input_range(self):
        return self.log_input_range.exp()

    def extra_repr(self):
        return (f"in={self.in_features}, out={self.out_features}, tiles={self.tile_sizes}, "
                f"inp_res={self.inp_res}, out_res={self.out_res}, out_bound={self.out_bound}, "
                f"gamma={self.gamma}, noise_model={self.noise_model}")

    # --------------------------------------------------------------- calibration
    def start_calibration(self):
        self._calib_sum.zero_()
        self._calib_count = 0
        self.calibrating = True

    def finish_calibration(self, kappa):
        """Sets IR_t = mean over the seen batches of kappa * std(x_t)."""
        self.calibrating = False
        if self._calib_count == 0:
            raise RuntimeError("no calibration batches seen")
        ir = (kappa * self._calib_sum / self._calib_count).clamp_min(1e-30)
        with torch.no_grad():
            self.log_input_range.copy_(ir.log().float())

    # --------------------------------------------------------------- weights
    @torch.no_grad()
    def clip_weights_(self, k=2.5):
        """Clamps each row to +-k std(row) (std with divisor n - 1), symmetric about 0."""
        bound = k * self.weight.std(dim=1, keepdim=True)
        self.weight.copy_(torch.maximum(torch.minimum(self.weight, bound), -bound))

    # --------------------------------------------------------------- forward
    def forward(self, x):
        if self.calibrating:
            with torch.no_grad():
                start = 0
                for t, size in enumerate(self.tile_sizes):
                    xt = x[..., start:start + size].double()
                    self._calib_sum[t] += xt.std(unbiased=False).item()
                    start += size
                self._calib_count += 1
            return F.linear(x, self.weight)
        if not self.analog:
            return F.linear(x, self.weight)

        ranges = self.input_range
        half_in, half_out = self.inp_res / 2, self.out_res / 2
        y = None
        start = 0
        for t, size in enumerate(self.tile_sizes):
            ir = ranges[t]
            wt = self.weight[:, start:start + size]
            xt = x[..., start:start + size]
            start += size
            # DAC: clamp to +-IR, 8-bit codes, STE.
            u = torch.clamp(xt / ir, -1.0, 1.0)
            if self.inp_res > 0:
                u = _round_ste(u * half_in) / half_in
            xq = u * ir
            wmax = wt.detach().abs().amax(dim=1)
            if self.training and self.noise and self.noise_model == "afm_pcm":
                wt = wt + afm_pcm_noise(wt.detach(), wmax)
            elif self.training and self.noise and self.gamma > 0:
                wt = wt + (self.gamma * wmax[:, None]) * torch.randn_like(wt)
            yt = F.linear(xq, wt)
            # ADC: bound beta_j = out_bound * IR_t * wmax_j, 8-bit codes, STE.
            if self.out_res > 0:
                beta = self.out_bound * ir * wmax.clamp_min(1e-30)
                v = torch.clamp(yt / beta, -1.0, 1.0)
                yt = _round_ste(v * half_out) / half_out * beta
            y = yt if y is None else y + yt
        return y


# afm_pcm programming noise (numerics.md section 3, the chip's `afm_pcm` model): g = W 180 / wmax
# per channel and tile, sigma(|g|) a cubic per segment, targets |g| < 0.6 left at exactly 0.
_AFM_LOW = (2.93975e-5, -3.71581e-3, 0.224197, 2.57974)    # |g| <= 52.5
_AFM_HIGH = (1.23298e-5, -3.05499e-3, 0.245349, 2.11030)   # |g| >  52.5


def _cubic(c, g):
    return ((c[0] * g + c[1]) * g + c[2]) * g + c[3]


def afm_pcm_noise(w, wmax):
    """The additive perturbation that turns w (out x in, one tile) into a sample of the chip's
    afm_pcm programmed weights: sigma(|g|) N(0,1) mapped back, and -w where the device stays
    unprogrammed. A constant for autograd (the caller adds it to w)."""
    scale = (180.0 / wmax.clamp_min(1e-30))[:, None]
    g = (w * scale).abs()
    sigma = torch.where(g <= 52.5, _cubic(_AFM_LOW, g), _cubic(_AFM_HIGH, g))
    noise = sigma / scale * torch.randn_like(w)
    return torch.where(g < 0.6, -w, noise)


ANALOG_SUFFIXES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def convert_to_analog(model, lm_head=True, **kw):
    """Replaces the decoder blocks' linear layers (and lm_head when `lm_head`) of a
    model.LlamaForCausalLM by AnalogLinear layers sharing the same weight Parameters.
    Returns {HF layer name: AnalogLinear} in aimcsim's linear_layers() order (block by block,
    q k v o gate up down, lm_head last)."""
    layers = {}
    for i, block in enumerate(model.model.layers):
        for parent, names in ((block.self_attn, ("q_proj", "k_proj", "v_proj", "o_proj")),
                              (block.mlp, ("gate_proj", "up_proj", "down_proj"))):
            for n in names:
                layer = AnalogLinear.from_linear(getattr(parent, n), **kw)
                setattr(parent, n, layer)
                kind = "self_attn" if parent is block.self_attn else "mlp"
                layers[f"model.layers.{i}.{kind}.{n}"] = layer
    if lm_head:
        if model.config.tie_word_embeddings:
            raise ValueError("an analog lm_head needs an untied lm_head")
        model.lm_head = AnalogLinear.from_linear(model.lm_head, **kw)
        layers["lm_head"] = model.lm_head
    return layers


def set_analog_mode(layers, analog=True, noise=True):
    for layer in layers.values():
        layer.analog, layer.noise = analog, noise


@torch.no_grad()
def calibrate_input_ranges(model, layers, batches, kappa):
    """Runs the FP model (analog off) over `batches` (iterable of (B, T) token tensors) and sets
    every layer's IR_t = mean over batches of kappa * std(x_t)."""
    was_training = model.training
    model.eval()
    for layer in layers.values():
        layer.start_calibration()
    for tokens in batches:
        model(tokens)
    for layer in layers.values():
        layer.finish_calibration(kappa)
    model.train(was_training)


@torch.no_grad()
def clip_all_(layers, k):
    for layer in layers.values():
        layer.clip_weights_(k)


def export_state_dict(model, layers):
    """HF tensor names -> tensors, with `<layer>.input_range` (IR_t, one entry per input tile)
    right after each analog layer's weight and no log_input_range entries."""
    out = {}
    for name, tensor in model.hf_state_dict().items():
        if name.endswith(".log_input_range"):
            continue
        out[name] = tensor.float()
        layer_name = name[: -len(".weight")] if name.endswith(".weight") else None
        if layer_name in layers:
            out[layer_name + ".input_range"] = layers[layer_name].input_range.detach().float()
    return out


def load_input_ranges(layers, tensors):
    """Sets IR_t from `<layer>.input_range` tensors (e.g. from read_safetensors)."""
    with torch.no_grad():
        for name, layer in layers.items():
            ir = torch.as_tensor(tensors[name + ".input_range"]).float()
            if ir.shape != layer.log_input_range.shape:
                raise ValueError(f"{name}.input_range: shape {tuple(ir.shape)}, expected "
                                 f"{tuple(layer.log_input_range.shape)}")
            layer.log_input_range.copy_(ir.log())


def tiles_summary(layers):
    """One line per layer: name, tile sizes, IR_t values (for logs)."""
    lines = []
    for name, layer in layers.items():
        irs = ", ".join(f"{v:.3g}" for v in layer.input_range.tolist())
        lines.append(f"{name}: tiles {layer.tile_sizes} IR [{irs}]")
    return lines


assert balanced_split(352, 256) == [176, 176] and balanced_split(700, 256) == [234, 233, 233]
assert math.isclose(sum(balanced_split(513, 256)), 513)
