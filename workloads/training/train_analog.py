#!/usr/bin/python3
"""Hardware-aware distillation of an analog foundation model (numerics.md section 5), at the
scale of aimcsim's bundled byte-level Llama.

Run from the repository root with Debian's interpreter (PyTorch comes from python3-torch):

    /usr/bin/python3 workloads/training/train_analog.py --steps 240 \
        --out workloads/models/tinyllama-bytes-analog

Recipe (one line each, details in analog_layers.py and docs/analog-training.md):
  * teacher: the FP model (--teacher, default the bundled tinyllama-bytes); student: a copy of
    it whose decoder linear layers and lm_head are `AnalogLinear` (the default chip keeps
    lm_head on tiles);
  * data: text the teacher generates itself, sampled at temperature 1 from a newline prompt
    (--distill-data; generated deterministically from --gen-seed when the file is missing);
  * loss: KL(teacher || student) over the full 256-byte vocabulary at temperature 1, no LM loss;
  * per-channel Gaussian weight noise gamma * wmax_j drawn fresh every forward pass;
  * per-channel clipping at --clip-sigma std after every optimizer step (and once before);
  * learned static 8-bit input ranges per input tile, initialised as the mean over
    --calib-batches batches of --kappa * std(x_t);
  * 8-bit ADC with out_bound, STE for every rounding; tiling over the chip's crossbar rows
    (--chip: tile.rows, dac/adc bits and numerics.out_bound are read from the .pbtxt);
  * AdamW, linear warm-up then cosine decay, gradient clipping at 1.0, fixed seeds.

Outputs in --out: config.json, model.safetensors (F32, HF names, plus `<layer>.input_range`
with one entry per input tile), training.md (command, loss log summary, wall time) and
training_log.txt (the printed log).
"""

import argparse
import json
import math
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analog_layers import (calibrate_input_ranges, clip_all_, convert_to_analog,  # noqa: E402
                           export_state_dict, set_analog_mode, tiles_summary)
from model import (LlamaConfig, LlamaForCausalLM, apply_rotary,  # noqa: E402
                   rotary_cos_sin)
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", default=os.path.join(REPO, "workloads/models/tinyllama-bytes"))
    p.add_argument("--out", default=os.path.join(REPO, "workloads/models/tinyllama-bytes-analog"))
    p.add_argument("--chip", default=os.path.join(REPO, "configs/default.pbtxt"),
                   help="chip config whose tile rows, DAC/ADC bits and out_bound are modelled")
    p.add_argument("--distill-data", default=os.path.join(REPO, "workloads/data/kjv-distill.txt"),
                   help="teacher-generated text; generated (and written here) when missing")
    p.add_argument("--regenerate", action="store_true", help="regenerate --distill-data")
    p.add_argument("--gen-seqs", type=int, default=2048, help="sequences to generate")
    p.add_argument("--gen-len", type=int, default=256, help="bytes generated per sequence")
    p.add_argument("--gen-batch", type=int, default=256)
    p.add_argument("--gen-seed", type=int, default=2025)
    p.add_argument("--data-limit", type=int, default=0,
                   help="use only the first N bytes of the distillation text (tests)")
    p.add_argument("--val-fraction", type=float, default=0.05,
                   help="tail of the distillation text held out for the KL check")
    p.add_argument("--steps", type=int, default=240)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--ir-lr", type=float, default=1e-2,
                   help="learning rate of log(input range)")
    p.add_argument("--min-lr-ratio", type=float, default=0.1)
    p.add_argument("--warmup-steps", type=int, default=20)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--gamma", type=float, default=0.03, help="training weight noise / wmax")
    p.add_argument("--noise-model", choices=("gaussian", "afm_pcm"), default="gaussian",
                   help="training weight noise: gaussian (gamma x wmax, the paper's) or the "
                        "chip's afm_pcm programming noise")
    p.add_argument("--clip-sigma", type=float, default=2.5)
    p.add_argument("--kappa", type=float, default=10.0,
                   help="input-range initialisation: IR_t = mean of kappa * std(x_t)")
    p.add_argument("--calib-batches", type=int, default=8)
    p.add_argument("--no-lm-head", action="store_true", help="keep lm_head digital (FP)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--val-every", type=int, default=80)
    p.add_argument("--val-windows", type=int, default=32)
    p.add_argument("--time-steps", type=int, default=0,
                   help="only time this many training steps and exit (to size --steps)")
    p.add_argument("--no-md", action="store_true", help="do not write training.md")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- chip config

def chip_numerics(path):
    """The few fields of a chip .pbtxt the training models: tile rows, DAC/ADC resolution
    (2^bits - 2 levels, 0 when ideal) and out_bound. A small regex reader, not a protobuf
    parser; fields it does not find keep the default chip's values."""
    text = open(path).read() if path else ""
    text = re.sub(r"#[^\n]*", "", text)

    def block(name):
        m = re.search(name + r"\s*\{([^{}]*)\}", text)
        return m.group(1) if m else ""

    def res(name):
        b = block(name)
        if re.search(r"ideal\s*:\s*true", b):
            return 0
        m = re.search(r"bits\s*:\s*(\d+)", b)
        return 2 ** int(m.group(1)) - 2 if m else 254

    rows = re.search(r"\brows\s*:\s*(\d+)", text)
    ob = re.search(r"\bout_bound\s*:\s*([0-9.eE+-]+)", text)
    return {"rows": int(rows.group(1)) if rows else 256,
            "inp_res": res("dac"), "out_res": res("adc"),
            "out_bound": float(ob.group(1)) if ob else 14.0}


# ----------------------------------------------------------------------------- models

def load_model(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = LlamaConfig.from_hf_dict(json.load(f))
    model = LlamaForCausalLM(cfg)
    tensors, _, _ = read_safetensors(os.path.join(folder, "model.safetensors"))
    model.load_hf_state_dict({k: v for k, v in tensors.items()
                              if not k.endswith(".input_range")})
    return model


# ----------------------------------------------------------------------------- generation

@torch.no_grad()
def _step_logits(model, tok, pos, caches, cos, sin):
    """Logits of one new token per sequence at position `pos`, using and filling the
    per-block KV caches (B, kv_heads, max_len, head_dim). Same maths as model.forward."""
    cfg = model.config
    B = tok.shape[0]
    H, KV, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    c, s = cos[pos:pos + 1], sin[pos:pos + 1]
    x = model.model.embed_tokens(tok)[:, None, :]
    for layer, (kc, vc) in zip(model.model.layers, caches):
        a = layer.self_attn
        h = layer.input_layernorm(x)
        q = a.q_proj(h).view(B, 1, H, d).transpose(1, 2)
        k = a.k_proj(h).view(B, 1, KV, d).transpose(1, 2)
        v = a.v_proj(h).view(B, 1, KV, d).transpose(1, 2)
        q, k = apply_rotary(q, c, s), apply_rotary(k, c, s)
        kc[:, :, pos] = k[:, :, 0]
        vc[:, :, pos] = v[:, :, 0]
        kk = kc[:, :, :pos + 1].repeat_interleave(H // KV, dim=1)
        vv = vc[:, :, :pos + 1].repeat_interleave(H // KV, dim=1)
        att = torch.softmax((q * (1.0 / math.sqrt(d))) @ kk.transpose(-1, -2), dim=-1) @ vv
        x = x + a.o_proj(att.transpose(1, 2).reshape(B, 1, H * d))
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return model.lm_head(model.model.norm(x))[:, 0]


@torch.no_grad()
def sample(model, prompts, new_tokens, gen, temperature=1.0):
    """Samples `new_tokens` bytes after each prompt (a (B, P) tensor); returns (B, P + new)."""
    cfg = model.config
    B, P = prompts.shape
    total = P + new_tokens
    cos, sin = rotary_cos_sin(torch.arange(total), cfg.head_dim, cfg.rope_theta)
    caches = [(torch.zeros(B, cfg.num_key_value_heads, total, cfg.head_dim),
               torch.zeros(B, cfg.num_key_value_heads, total, cfg.head_dim))
              for _ in model.model.layers]
    out = [prompts[:, i] for i in range(P)]
    logits = None
    for pos in range(P):
        logits = _step_logits(model, prompts[:, pos], pos, caches, cos, sin)
    for pos in range(P, total):
        probs = torch.softmax(logits / temperature, dim=-1)
        tok = torch.multinomial(probs, 1, generator=gen)[:, 0]
        out.append(tok)
        if pos + 1 < total:
            logits = _step_logits(model, tok, pos, caches, cos, sin)
    return torch.stack(out, dim=1)


@torch.no_grad()
def check_incremental(model):
    """The KV-cache path must reproduce the full forward pass (guards _step_logits)."""
    tokens = torch.tensor([list(b"\nAnd God said, Let there be light")])
    full = model(tokens)[0]
    cfg = model.config
    T = tokens.shape[1]
    cos, sin = rotary_cos_sin(torch.arange(T), cfg.head_dim, cfg.rope_theta)
    caches = [(torch.zeros(1, cfg.num_key_value_heads, T, cfg.head_dim),
               torch.zeros(1, cfg.num_key_value_heads, T, cfg.head_dim))
              for _ in model.model.layers]
    inc = torch.stack([_step_logits(model, tokens[:, t], t, caches, cos, sin)[0]
                       for t in range(T)])
    err = (inc - full).abs().max().item()
    assert err < 1e-4, f"incremental decoding differs from forward by {err}"


def generate_distill_text(teacher, args, log):
    """Teacher-generated text: --gen-seqs samples of --gen-len bytes from a "\\n" prompt at
    temperature 1, each cut after its last newline so the stream is whole verses."""
    check_incremental(teacher)
    gen = torch.Generator().manual_seed(args.gen_seed)
    pieces = []
    t0 = time.time()
    for start in range(0, args.gen_seqs, args.gen_batch):
        b = min(args.gen_batch, args.gen_seqs - start)
        prompts = torch.full((b, 1), ord("\n"), dtype=torch.long)
        seqs = sample(teacher, prompts, args.gen_len, gen)[:, 1:]
        for row in seqs.tolist():
            text = bytes(row)
            cut = text.rfind(b"\n")
            if cut >= 0:
                pieces.append(text[:cut + 1])
        log(f"generated {start + b}/{args.gen_seqs} sequences, "
            f"{sum(len(p) for p in pieces)} bytes, {time.time() - t0:.0f}s")
    return b"".join(pieces)


# ----------------------------------------------------------------------------- training

def lr_scale(step, args):
    """Linear warm-up, then cosine decay to min_lr_ratio."""
    if step < args.warmup_steps:
        return (step + 1) / args.warmup_steps
    progress = (step - args.warmup_steps) / max(1, args.steps - args.warmup_steps)
    return args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def random_windows(data, batch_size, seq_len, gen):
    starts = torch.randint(0, len(data) - seq_len, (batch_size,), generator=gen)
    return data[starts[:, None] + torch.arange(seq_len)[None, :]]


def kl_loss(student_logits, teacher_logits):
    """Mean over tokens of KL(p_teacher || p_student), nats, temperature 1."""
    V = student_logits.shape[-1]
    return F.kl_div(F.log_softmax(student_logits.reshape(-1, V), dim=-1),
                    F.log_softmax(teacher_logits.reshape(-1, V), dim=-1),
                    log_target=True, reduction="batchmean")


@torch.no_grad()
def mean_kl(student, teacher, windows, batch=16, noise=True):
    """KL of the student (with fresh training noise when `noise`) against the teacher."""
    was = student.training
    student.train(noise)  # noise is drawn in training mode only; there is no dropout
    total = 0.0
    for i in range(0, len(windows), batch):
        w = windows[i:i + batch]
        total += kl_loss(student(w), teacher(w)).item() * w.numel()
    student.train(was)
    return total / windows.numel()


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    os.makedirs(args.out, exist_ok=True)
    log_lines = []

    def log(msg):
        print(msg, flush=True)
        log_lines.append(msg)

    torch.manual_seed(args.seed)
    teacher = load_model(args.teacher).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)

    if args.regenerate or not os.path.exists(args.distill_data):
        text = generate_distill_text(teacher, args, log)
        os.makedirs(os.path.dirname(os.path.abspath(args.distill_data)), exist_ok=True)
        with open(args.distill_data, "wb") as f:
            f.write(text)
        log(f"wrote {args.distill_data} ({len(text)} bytes)")
    with open(args.distill_data, "rb") as f:
        text = f.read()
    if args.data_limit:
        text = text[:args.data_limit]
    data = torch.from_numpy(np.frombuffer(text, dtype=np.uint8).astype(np.int64))
    n_val = max(args.seq_len + 1, int(len(data) * args.val_fraction))
    train_t, val_t = data[:-n_val], data[-n_val:]
    n_vw = min(args.val_windows, len(val_t) // args.seq_len)
    val_windows = val_t[: n_vw * args.seq_len].view(n_vw, args.seq_len)
    log(f"distillation text: {len(data)} bytes (train {len(train_t)}, held out {len(val_t)})")

    chip = chip_numerics(args.chip)
    student = load_model(args.teacher)
    layers = convert_to_analog(student, lm_head=not args.no_lm_head, rows=chip["rows"],
                               inp_res=chip["inp_res"], out_res=chip["out_res"],
                               out_bound=chip["out_bound"], gamma=args.gamma,
                               noise_model=args.noise_model)
    log(f"chip {args.chip}: {chip}; {len(layers)} analog layers, noise {args.noise_model}, gamma {args.gamma}, "
        f"clip {args.clip_sigma} std, kappa {args.kappa}")

    # Clip first, then initialise the ranges on the clipped model, as training will see it.
    clip_all_(layers, args.clip_sigma)
    gen = torch.Generator().manual_seed(args.seed)
    calib = [random_windows(train_t, args.batch_size, args.seq_len, gen)
             for _ in range(args.calib_batches)]
    calibrate_input_ranges(student, layers, calib, args.kappa)
    set_analog_mode(layers, analog=True, noise=True)

    kl0 = mean_kl(student, teacher, val_windows)
    log(f"held-out KL before training (analog, noise on): {kl0:.4f} nats/byte")

    ranges = [l.log_input_range for l in layers.values()]
    range_ids = {id(p) for p in ranges}
    others = [p for p in student.parameters() if id(p) not in range_ids]
    opt = torch.optim.AdamW(
        [{"params": [p for p in others if p.dim() >= 2], "weight_decay": args.weight_decay,
          "lr": args.lr},
         {"params": [p for p in others if p.dim() < 2], "weight_decay": 0.0, "lr": args.lr},
         {"params": ranges, "weight_decay": 0.0, "lr": args.ir_lr}],
        betas=(0.9, 0.95))
    base_lrs = [g["lr"] for g in opt.param_groups]

    steps = args.time_steps or args.steps
    student.train()
    recent, history = [], []
    t0 = time.time()
    for step in range(steps):
        for g, base in zip(opt.param_groups, base_lrs):
            g["lr"] = base * lr_scale(step, args)
        x = random_windows(train_t, args.batch_size, args.seq_len, gen)
        with torch.no_grad():
            t_logits = teacher(x)
        loss = kl_loss(student(x), t_logits)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        clip_all_(layers, args.clip_sigma)
        recent = (recent + [loss.item()])[-args.log_every:]
        if (step + 1) % args.log_every == 0 or step == 0:
            el = time.time() - t0
            history.append((step + 1, sum(recent) / len(recent)))
            log(f"step {step + 1}/{steps} KL {sum(recent) / len(recent):.4f} "
                f"lr {args.lr * lr_scale(step, args):.2e} {el:.0f}s ({el / (step + 1):.2f} s/step)")
        if (step + 1) % args.val_every == 0 and step + 1 < steps:
            log(f"  held-out KL (noise on) {mean_kl(student, teacher, val_windows):.4f}")
    train_seconds = time.time() - t0
    if args.time_steps:
        log(f"timing: {train_seconds / steps:.2f} s/step")
        return

    kl_noise = mean_kl(student, teacher, val_windows, noise=True)
    kl_clean = mean_kl(student, teacher, val_windows, noise=False)
    log(f"final held-out KL: {kl_noise:.4f} ({args.noise_model} training noise), "
        f"{kl_clean:.4f} (no weight noise, DAC/ADC on) nats/byte; before training {kl0:.4f}")
    for line in tiles_summary(layers):
        log("  " + line)

    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(student.config.to_hf_dict("float32"), f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(args.out, "model.safetensors"),
                      export_state_dict(student, layers), "F32",
                      metadata={"format": "pt", "analog_trained": "true"})
    with open(os.path.join(args.out, "training_log.txt"), "w") as f:
        f.write("\n".join(log_lines) + "\n")
    if not args.no_md:
        write_training_md(os.path.join(args.out, "training.md"), args, chip, len(data),
                          train_seconds, steps, history, kl0, kl_noise, kl_clean,
                          argv if argv is not None else sys.argv[1:])
    log(f"wrote {args.out}")


def student_layers(args):
    """Decoder blocks of the teacher (for the layer count in training.md)."""
    with open(os.path.join(args.teacher, "config.json")) as f:
        return int(json.load(f)["num_hidden_layers"])


def write_training_md(path, args, chip, data_bytes, seconds, steps, history, kl0, kl_noise,
                      kl_clean, argv):
    cmd = " ".join(["/usr/bin/python3 workloads/training/train_analog.py"] + list(argv))
    rows = "\n".join(f"| {s} | {v:.4f} |" for s, v in history)
    noise_text = (f"gamma {args.gamma} x wmax_j per channel and tile" if args.noise_model == "gaussian"
                  else "the chip's afm_pcm programming noise (sigma(|g|) of g = 180 W / wmax_j per "
                       "channel and tile)")
    teacher_name = os.path.basename(os.path.normpath(args.teacher))
    teacher_rel = os.path.relpath(args.teacher, REPO)
    decoder_layers = 7 * student_layers(args)
    text = f"""# {os.path.basename(os.path.normpath(args.out))}: analog-trained {teacher_name}

The byte-level Llama `{teacher_rel}` after hardware-aware
distillation with the analog foundation model recipe (`workloads/training/train_analog.py`,
`analog_layers.py`; method and measurements in `docs/analog-training.md`). Same architecture
and tensor names; `model.safetensors` (F32) additionally holds `<layer>.input_range`, one learned
input range per input tile (tiles of {chip['rows']} rows), for the {decoder_layers} decoder linear layers and
`lm_head`, which aimcsim's `CHECKPOINT_OR_CALIBRATE` policy uses instead of calibrating.

## Command

```
{cmd}
```

- teacher `{os.path.relpath(args.teacher, REPO)}`; distillation text
  `{os.path.relpath(args.distill_data, REPO)}` ({data_bytes:,} bytes generated by the teacher at
  temperature 1 from a newline prompt, seed {args.gen_seed}); the last {args.val_fraction:.0%}
  held out for the KL check
- chip numerics from `{os.path.relpath(args.chip, REPO)}`: {chip}
- loss KL(teacher || student), temperature 1, full vocabulary; weight noise {noise_text},
  fresh each forward; clipping {args.clip_sigma} std per row after
  every step; input ranges initialised as mean of kappa {args.kappa} x std over
  {args.calib_batches} batches, then learned (log-parametrised, lr {args.ir_lr})
- AdamW betas (0.9, 0.95), lr {args.lr} ({args.warmup_steps} warm-up steps, cosine to
  {args.min_lr_ratio}x), weight decay {args.weight_decay} on matrices, gradient clipping 1.0
- {steps} steps x {args.batch_size} windows x {args.seq_len} bytes; seed {args.seed};
  torch.set_num_threads({args.threads}); PyTorch {torch.__version__} (Debian), CPU

Training wall time: {seconds / 60:.1f} min ({seconds / steps:.2f} s/step) on a 2-core machine
shared with C++ builds.

## Loss log (training KL, nats/byte, mean of the last {args.log_every} steps)

| step | KL |
|---|---|
{rows}

Held-out KL to the teacher (analog forward, DAC/ADC on): before training {kl0:.4f}; after
training {kl_noise:.4f} with the training noise ({noise_text}), {kl_clean:.4f} without weight noise.
The full log is `training_log.txt`. Chip-level results (aimcsim, afm_pcm noise, 10 chip
instances) are in `docs/analog-training.md`.
"""
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
