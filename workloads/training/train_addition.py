#!/usr/bin/python3
"""Trains aimcsim's second bundled byte-level Llama: a tiny model that adds two numbers written
as text ("123+456=579\\n"), a task whose answers can be checked exactly (test-time
compute on an analog chip).

Run from the repository root with Debian's interpreter (PyTorch comes from python3-torch):

    /usr/bin/python3 workloads/training/train_addition.py               # full run
    /usr/bin/python3 workloads/training/train_addition.py --time-steps 20

Task: operands a, b drawn uniformly from 0..10^digits - 1 (no zero padding), one problem per
line, "a+b=c\\n" with c = a + b in ordinary (most significant digit first) order. Training text
is a stream of such lines; every training window starts right after a newline. The loss is the
plain next-byte cross-entropy on every byte (operands included, so that the model can also
write problems by itself: the analog-aware distillation samples its text from a "\\n" prompt).

Outputs (defaults reproduce the committed files):
    workloads/data/addition-eval.txt    held-out problems "a+b=c", one a line (never trained on)
    workloads/data/addition-calib.txt   calibration text (lines of the training distribution,
                                        for aimcsim's input-range calibration)
    workloads/models/addition-bytes/config.json, model.safetensors (F32), training.md

Tokenisation is byte-level: vocabulary 256, token = byte value, no BOS or special tokens.
"""

import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import LlamaConfig, LlamaForCausalLM  # noqa: E402
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402
# The same schedule and initialisation as the bundled model.
from train_bundled import init_weights, lr_at  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(REPO, "workloads/models/addition-bytes"))
    p.add_argument("--data-dir", default=os.path.join(REPO, "workloads/data"))
    p.add_argument("--digits", type=int, default=3, help="operands are 0 .. 10^digits - 1")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--intermediate", type=int, default=256)
    p.add_argument("--max-positions", type=int, default=128)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--min-lr-ratio", type=float, default=0.1)
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1234, help="model init and training data")
    p.add_argument("--eval-seed", type=int, default=7, help="held-out problems")
    p.add_argument("--eval-problems", type=int, default=500)
    p.add_argument("--calib-seed", type=int, default=11)
    p.add_argument("--calib-lines", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--acc-every", type=int, default=500,
                   help="greedy exact-match on the first 200 held-out problems every N steps")
    p.add_argument("--time-steps", type=int, default=0,
                   help="only time this many training steps and exit (to size --steps)")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- data

def problem(rng, digits):
    a = rng.randrange(10 ** digits)
    b = rng.randrange(10 ** digits)
    return a, b


def line(a, b):
    return f"{a}+{b}={a + b}\n".encode()


def eval_problems(args):
    """The held-out problems: distinct (a, b) pairs from --eval-seed."""
    rng = random.Random(args.eval_seed)
    seen, out = set(), []
    while len(out) < args.eval_problems:
        ab = problem(rng, args.digits)
        if ab not in seen:
            seen.add(ab)
            out.append(ab)
    return out


class LineStream:
    """Deterministic training windows: each window is "\\n" followed by random problem lines
    (never one of the held-out pairs), cut to seq_len + 1 bytes."""

    def __init__(self, seed, digits, held_out):
        self.rng = random.Random(seed)
        self.digits = digits
        self.held_out = held_out

    def next_line(self):
        while True:
            ab = problem(self.rng, self.digits)
            if ab not in self.held_out:
                return line(*ab)

    def window(self, n):
        b = b"\n"
        while len(b) < n:
            b += self.next_line()
        return list(b[:n])

    def batch(self, batch_size, seq_len):
        w = torch.tensor([self.window(seq_len + 1) for _ in range(batch_size)])
        return w[:, :-1], w[:, 1:]


# ----------------------------------------------------------------------------- model

def greedy_answers(model, problems, max_new=8):
    """Greedy completion of "\\na+b=" for each (a, b); returns the answer strings (text up to
    the first newline). Prompts of equal length are batched (positions must line up)."""
    was = model.training
    model.eval()
    answers = [None] * len(problems)
    by_len = {}
    for i, (a, b) in enumerate(problems):
        by_len.setdefault(len(f"\n{a}+{b}="), []).append(i)
    for idx in by_len.values():
        toks = torch.tensor([list(f"\n{problems[i][0]}+{problems[i][1]}=".encode()) for i in idx])
        for _ in range(max_new):
            nxt = model(toks)[:, -1].argmax(-1)
            toks = torch.cat([toks, nxt[:, None]], dim=1)
        for row, i in zip(toks.tolist(), idx):
            gen = bytes(row[len(f"\n{problems[i][0]}+{problems[i][1]}="):])
            answers[i] = gen.split(b"\n")[0].decode("latin-1")
    model.train(was)
    return answers


def exact_match(model, problems):
    answers = greedy_answers(model, problems)
    return sum(ans == str(a + b) for ans, (a, b) in zip(answers, problems)) / len(problems)


def load_checkpoint(out_dir):
    with open(os.path.join(out_dir, "config.json")) as f:
        cfg = LlamaConfig.from_hf_dict(json.load(f))
    model = LlamaForCausalLM(cfg)
    tensors, _, _ = read_safetensors(os.path.join(out_dir, "model.safetensors"))
    model.load_hf_state_dict({k: v for k, v in tensors.items()
                              if not k.endswith(".input_range")})
    return model


# ----------------------------------------------------------------------------- outputs

def write_training_md(path, info):
    i, a, c = info, info["args"], info["cfg"]
    rows = "\n".join(f"| {s} | {l:.4f} |" + (f" {acc:.3f} |" if acc is not None else " |")
                     for s, l, acc in i["history"])
    text = f"""# addition-bytes: bundled byte-level Llama for multi-digit addition

A {i['params']:,}-parameter Llama decoder (Hugging Face LlamaForCausalLM format) trained to
complete lines like `123+456=579`. Its answers can be checked exactly, so it measures how much
sampling several answers and taking the majority (test-time compute) helps on an analog chip
(`aimcsim ttc`, `docs/analog-training.md`, finding 3). Its analog-trained variant is
`workloads/models/addition-bytes-analog`.

## Model

- byte-level: vocab_size 256, token id = byte value, no BOS/EOS/special tokens
- hidden_size {c.hidden_size}, num_hidden_layers {c.num_hidden_layers}, num_attention_heads {c.num_attention_heads} (head_dim {c.head_dim}), num_key_value_heads {c.num_key_value_heads}, intermediate_size {c.intermediate_size}
- max_position_embeddings {c.max_position_embeddings}, rope_theta {c.rope_theta:g}, rms_norm_eps {c.rms_norm_eps:g}, untied lm_head
- weights: `model.safetensors`, all F32, Hugging Face tensor names

## Task and data (deterministic, generated by the script)

- operands a, b uniform in 0..{10 ** a.digits - 1}, written without zero padding; line `a+b=c\\n`
- training: windows of {a.seq_len + 1} bytes, each `\\n` followed by random lines (Python
  `random.Random({a.seed})`), the {a.eval_problems} held-out pairs excluded; loss on every byte
- held-out: `workloads/data/addition-eval.txt`, {a.eval_problems} distinct pairs from
  `random.Random({a.eval_seed})`, one `a+b=c` a line (prompt: `\\n` + `a+b=`, answer: `c`)
- calibration text: `workloads/data/addition-calib.txt`, {a.calib_lines} lines from
  `random.Random({a.calib_seed})` (may overlap the held-out pairs; only used for input ranges)

## Training

```
/usr/bin/python3 workloads/training/train_addition.py{i['argv']}
```

- AdamW, betas (0.9, 0.95), weight decay {a.weight_decay} on matrices only; peak lr {a.lr},
  {a.warmup_steps} warm-up steps, cosine decay to {a.min_lr_ratio}x, gradient clipping 1.0
- {a.steps} steps x {a.batch_size} windows x {a.seq_len} bytes; seed {a.seed};
  torch.set_num_threads({a.threads}); PyTorch {torch.__version__} (Debian python3-torch), CPU

Training wall time: {i['train_seconds'] / 60:.1f} min ({i['train_seconds'] / a.steps:.3f} s/step) on a
2-core machine shared with C++ builds.

## Log (training loss: mean cross-entropy per byte over the last {a.log_every} steps, nats;
greedy exact match on the first 200 held-out problems)

| step | loss | greedy acc |
|---|---|---|
{rows}

**FP32 greedy exact match on all {a.eval_problems} held-out problems: {i['final_acc']:.3f}**
(PyTorch, float32; `aimcsim ttc` prints the same number as its FP32 reference column).
"""
    with open(path, "w") as f:
        f.write(text)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.data_dir, exist_ok=True)

    held = eval_problems(args)
    held_set = set(held)
    with open(os.path.join(args.data_dir, "addition-eval.txt"), "w") as f:
        for a, b in held:
            f.write(f"{a}+{b}={a + b}\n")
    crng = random.Random(args.calib_seed)
    with open(os.path.join(args.data_dir, "addition-calib.txt"), "wb") as f:
        for _ in range(args.calib_lines):
            f.write(line(*problem(crng, args.digits)))

    torch.manual_seed(args.seed)
    cfg = LlamaConfig(hidden_size=args.hidden, intermediate_size=args.intermediate,
                      num_hidden_layers=args.layers, num_attention_heads=args.heads,
                      num_key_value_heads=args.kv_heads,
                      max_position_embeddings=args.max_positions)
    model = LlamaForCausalLM(cfg)
    init_weights(model, cfg)
    print(f"parameters: {model.num_parameters()}", flush=True)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    stream = LineStream(args.seed, args.digits, held_set)
    probe = held[:200]

    steps = args.time_steps or args.steps
    recent, history = [], []
    t0 = time.time()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        x, y = stream.batch(args.batch_size, args.seq_len)
        loss = F.cross_entropy(model(x).reshape(-1, cfg.vocab_size), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        recent = (recent + [loss.item()])[-args.log_every:]
        if (step + 1) % args.log_every == 0 or step == 0:
            el = time.time() - t0
            acc = None
            if (step + 1) % args.acc_every == 0:
                acc = exact_match(model, probe)
            history.append((step + 1, sum(recent) / len(recent), acc))
            print(f"step {step + 1}/{steps} loss {sum(recent) / len(recent):.4f} "
                  f"lr {lr_at(step, args):.2e} {el:.0f}s ({el / (step + 1):.3f} s/step)"
                  + (f" greedy acc {acc:.3f}" if acc is not None else ""), flush=True)
    train_seconds = time.time() - t0
    if args.time_steps:
        print(f"timing: {train_seconds / steps:.3f} s/step")
        return

    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg.to_hf_dict("float32"), f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(args.out, "model.safetensors"), model.hf_state_dict(), "F32",
                      metadata={"format": "pt"})
    final_acc = exact_match(load_checkpoint(args.out), held)
    print(f"final greedy exact match on {len(held)} held-out problems: {final_acc:.3f}",
          flush=True)
    write_training_md(os.path.join(args.out, "training.md"), {
        "args": args, "cfg": cfg, "params": model.num_parameters(),
        "argv": "".join(" " + a for a in (argv if argv is not None else sys.argv[1:])),
        "train_seconds": train_seconds, "history": history, "final_acc": final_acc})
    print("wrote", args.out)


if __name__ == "__main__":
    main()
