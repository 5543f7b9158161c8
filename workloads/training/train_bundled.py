#!/usr/bin/python3
"""Trains aimcsim's bundled byte-level Llama model on the King James Bible.

Run from the repository root with Debian's interpreter (PyTorch comes from python3-torch):

    /usr/bin/python3 workloads/training/train_bundled.py                    # full run
    /usr/bin/python3 workloads/training/train_bundled.py --reference-only   # re-derive
                                                                            # reference_logits.txt

Corpus: Debian package bible-kjv-text (public-domain KJV text, stored compressed in
/usr/lib/bible.data), extracted with the `bible` program from package bible-kjv. Each verse
becomes one line of plain text (the "Ge1:1 " reference prefix is removed).

Outputs (defaults reproduce the committed files):
    workloads/data/kjv-eval.txt                 held-out evaluation text (never trained on)
    workloads/data/kjv-calib.txt                calibration text for input-range calibration
    workloads/models/tinyllama-bytes/config.json, model.safetensors (F32),
        reference_logits.txt, training.md

Tokenisation is byte-level: vocabulary 256, token = byte value, no BOS or special tokens.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import LlamaConfig, LlamaForCausalLM, write_reference_logits  # noqa: E402
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS_PACKAGES = ("bible-kjv-text", "bible-kjv")
BIBLE_RANGE = "Ge1:1-Rev22:21"  # the whole Bible, Genesis to Revelation

# The split works on NUM_SEGMENTS contiguous pieces of the verse list, cut at verse
# boundaries into pieces of roughly equal byte size. Taking every tenth piece for evaluation
# spreads the held-out text over the whole book (Law, history, poetry, prophets, gospels,
# letters) instead of testing on one style only, while each piece stays long and contiguous.
NUM_SEGMENTS = 100
EVAL_SEGMENTS = [i for i in range(NUM_SEGMENTS) if i % 10 == 9]   # ~10% of the text
VAL_SEGMENTS = [i for i in range(NUM_SEGMENTS) if i % 20 == 4]    # ~5%
CALIB_SEGMENTS = [32, 72]   # calibration slices are cut from the start of these two pieces
CALIB_BYTES_PER_SEGMENT = 32 * 1024


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(REPO, "workloads/models/tinyllama-bytes"))
    p.add_argument("--data-dir", default=os.path.join(REPO, "workloads/data"))
    p.add_argument("--steps", type=int, default=350)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--min-lr-ratio", type=float, default=0.1)
    p.add_argument("--warmup-steps", type=int, default=50)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1234)
    # One thread by default: on a 2-core machine shared with compiler jobs, torch's 2-thread
    # pool spends its time waiting for the descheduled thread (measured 9.5 s/step against
    # 4.2 s/step with one thread). The loss curve is the same either way.
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--val-every", type=int, default=200)
    p.add_argument("--time-steps", type=int, default=0,
                   help="only time this many training steps and exit (to size --steps)")
    p.add_argument("--reference-only", action="store_true",
                   help="only rewrite reference_logits.txt from the existing checkpoint")
    return p.parse_args()


# ----------------------------------------------------------------------------- corpus

def package_version(pkg):
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], check=True,
                          capture_output=True, text=True).stdout


def load_verses():
    """Returns the KJV as a list of verse strings (bytes), in canonical order."""
    raw = subprocess.run(["bible", "-f", BIBLE_RANGE], check=True, capture_output=True).stdout
    verses = []
    for line in raw.splitlines():
        ref, _, text = line.partition(b" ")
        if b":" not in ref or not text:
            raise ValueError(f"unexpected line from bible: {line[:60]!r}")
        verses.append(text.strip() + b"\n")
    return verses


def split_corpus(verses):
    """Deterministic split into (train, validation, eval, calib) byte strings."""
    total = sum(len(v) for v in verses)
    segments = [[] for _ in range(NUM_SEGMENTS)]
    running = 0
    for v in verses:
        segments[min(NUM_SEGMENTS - 1, running * NUM_SEGMENTS // total)].append(v)
        running += len(v)
    train, val, evl, calib = [], [], [], []
    for i, seg in enumerate(segments):
        if i in EVAL_SEGMENTS:
            evl += seg
        elif i in VAL_SEGMENTS:
            val += seg
        elif i in CALIB_SEGMENTS:
            # Calibration takes whole verses from the start of the piece up to the budget;
            # the rest of the piece is still used for training. Calibration itself is never
            # trained on, so it is disjoint from every other split.
            used = 0
            for j, v in enumerate(seg):
                if used + len(v) > CALIB_BYTES_PER_SEGMENT:
                    break
                used += len(v)
            calib += seg[:j]
            train += seg[j:]
        else:
            train += seg
    return tuple(b"".join(x) for x in (train, val, evl, calib))


# ----------------------------------------------------------------------------- training

def lr_at(step, args):
    """Linear warm-up, then cosine decay to min_lr_ratio * lr."""
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    progress = (step - args.warmup_steps) / max(1, args.steps - args.warmup_steps)
    ratio = args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return args.lr * ratio


def init_weights(model, cfg):
    """GPT-2 style init: N(0, 0.02), residual output projections scaled by 1/sqrt(2L) so the
    residual stream does not grow with depth; norm weights start at 1."""
    for name, p in model.named_parameters():
        if p.dim() == 1:
            torch.nn.init.ones_(p)
        else:
            std = 0.02
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                std /= math.sqrt(2 * cfg.num_hidden_layers)
            torch.nn.init.normal_(p, 0.0, std)


def sample_batch(data, batch_size, seq_len, gen):
    """Random windows of seq_len + 1 bytes: inputs are the first seq_len, targets are the
    window shifted by one."""
    starts = torch.randint(0, len(data) - seq_len - 1, (batch_size,), generator=gen)
    idx = starts[:, None] + torch.arange(seq_len + 1)[None, :]
    w = data[idx]
    return w[:, :-1], w[:, 1:]


def windows(data, seq_len):
    """Non-overlapping windows covering `data`: (inputs, targets), each (N, seq_len)."""
    n = (len(data) - 1) // seq_len
    inputs = data[: n * seq_len].view(n, seq_len)
    targets = data[1: n * seq_len + 1].view(n, seq_len)
    return inputs, targets


@torch.no_grad()
def mean_loss(model, inputs, targets, batch=64):
    """Mean cross-entropy in nats per predicted byte."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(inputs), batch):
        logits = model(inputs[i:i + batch])
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                 targets[i:i + batch].reshape(-1), reduction="sum").item()
        count += targets[i:i + batch].numel()
    model.train()
    return total / count


def unigram_bits_per_byte(train, targets):
    """Cross-entropy of a unigram model with train-set byte frequencies (add-one smoothing so
    that unseen bytes do not give infinite loss) on the given target bytes."""
    counts = np.bincount(np.frombuffer(train, dtype=np.uint8), minlength=256) + 1.0
    logp = np.log2(counts / counts.sum())
    return float(-logp[targets.reshape(-1).numpy()].mean())


def to_tensor(b):
    return torch.from_numpy(np.frombuffer(b, dtype=np.uint8).astype(np.int64))


# ----------------------------------------------------------------------------- outputs

def write_reference(model, eval_text, out_dir):
    """Logits for the first 64 bytes of the held-out text, computed in float64 from the
    stored float32 weights so the reference carries no rounding of its own."""
    tokens = list(eval_text[:64])
    ref = LlamaForCausalLM(model.config).double()
    ref.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    with torch.no_grad():
        logits = ref(torch.tensor([tokens]))[0]
    write_reference_logits(os.path.join(out_dir, "reference_logits.txt"), tokens,
                           logits.tolist())


def load_checkpoint(out_dir):
    with open(os.path.join(out_dir, "config.json")) as f:
        cfg = LlamaConfig.from_hf_dict(json.load(f))
    model = LlamaForCausalLM(cfg)
    tensors, _, _ = read_safetensors(os.path.join(out_dir, "model.safetensors"))
    model.load_hf_state_dict(tensors)
    return model


def write_training_md(path, info):
    i = info
    c = info["cfg"]
    text = f"""# tinyllama-bytes: bundled byte-level Llama model

A {i['params']:,}-parameter Llama decoder (Hugging Face LlamaForCausalLM format) trained on
the bytes of the King James Bible. It is small enough to simulate quickly, and trained well
enough that accuracy lost on an analog chip shows up against a real model, not noise.

## Model

- byte-level: vocab_size 256, token id = byte value, no BOS/EOS/special tokens
- hidden_size {c.hidden_size}, num_hidden_layers {c.num_hidden_layers}, num_attention_heads {c.num_attention_heads} (head_dim {c.head_dim})
- num_key_value_heads {c.num_key_value_heads} (grouped-query attention), intermediate_size {c.intermediate_size}
- max_position_embeddings {c.max_position_embeddings}, rope_theta {c.rope_theta:g}, rms_norm_eps {c.rms_norm_eps:g}, untied lm_head
- weights: `model.safetensors`, all F32, Hugging Face tensor names

## Corpus

- Debian package `bible-kjv-text` {i['text_version']} (data file `/usr/lib/bible.data`),
  extracted with `bible -f {BIBLE_RANGE}` from package `bible-kjv` {i['prog_version']}.
- License: the KJV text is in the public domain (Debian copyright file: "The copyright for
  the King James Version text of the Bible is expired since the translation was done in 1611
  under King James the first of Great Britain"). The extraction program is GPL-2+; only its
  output text is used here.
- Preprocessing: one verse per line, the verse reference prefix (e.g. `Ge1:1 `) removed,
  lines end in `\\n`; pure ASCII. {i['corpus_bytes']:,} bytes in total.

## Split (deterministic, see `split_corpus`)

The verse list is cut at verse boundaries into {NUM_SEGMENTS} contiguous pieces of about
equal size, numbered 0..{NUM_SEGMENTS - 1} in canonical book order.

| split | pieces | bytes | file |
|---|---|---|---|
| held-out evaluation | i % 10 == 9 | {i['eval_bytes']:,} | `workloads/data/kjv-eval.txt` |
| validation | i % 20 == 4 | {i['val_bytes']:,} | (not stored) |
| calibration | first {CALIB_BYTES_PER_SEGMENT // 1024} KiB (whole verses) of pieces {CALIB_SEGMENTS} | {i['calib_bytes']:,} | `workloads/data/kjv-calib.txt` |
| training | everything else | {i['train_bytes']:,} | (not stored) |

Evaluation and calibration are never trained on and do not overlap each other.

## Training

```
/usr/bin/python3 workloads/training/train_bundled.py{i['argv']}
```

- AdamW, betas (0.9, 0.95), weight decay {i['args'].weight_decay} on matrices only
- peak learning rate {i['args'].lr}, {i['args'].warmup_steps} linear warm-up steps, cosine decay to {i['args'].min_lr_ratio}x, gradient clipping at 1.0
- {i['args'].steps} steps, batch of {i['args'].batch_size} random windows of {i['args'].seq_len} bytes ({i['tokens_seen']:,} training bytes seen, {i['epochs']:.2f} epochs)
- seed {i['args'].seed}, torch.set_num_threads({i['args'].threads}), PyTorch {torch.__version__} (Debian python3-torch), CPU only

Training wall time: {i['train_seconds'] / 60:.1f} min ({i['seconds_per_step']:.2f} s/step), measured on a
2-core machine shared with parallel C++ builds; expect a different time elsewhere.

## Results

Losses are mean cross-entropy per predicted byte over non-overlapping {i['args'].seq_len}-byte
windows (each byte predicted from the preceding bytes of its window).

| | nats/byte | bits/byte |
|---|---|---|
| training (mean of last {i['train_tail']} steps) | {i['train_loss']:.4f} | {i['train_loss'] / math.log(2):.4f} |
| validation | {i['val_loss']:.4f} | {i['val_loss'] / math.log(2):.4f} |
| held-out evaluation (`kjv-eval.txt`) | {i['eval_loss']:.4f} | **{i['eval_loss'] / math.log(2):.4f}** |
| unigram baseline on held-out (train byte frequencies) | {i['unigram_bits'] * math.log(2):.4f} | {i['unigram_bits']:.4f} |

## reference_logits.txt

Logits for the first 64 bytes of `kjv-eval.txt` (positions 0..63, no BOS), computed from the
stored F32 weights in float64. Format: `tokens 64`, a line of 64 token ids, `logits 64 256`,
then 64 lines of 256 values in `%.9e`. Regenerate from the checkpoint with
`/usr/bin/python3 workloads/training/train_bundled.py --reference-only`.
"""
    with open(path, "w") as f:
        f.write(text)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.data_dir, exist_ok=True)
    eval_path = os.path.join(args.data_dir, "kjv-eval.txt")

    if args.reference_only:
        model = load_checkpoint(args.out)
        with open(eval_path, "rb") as f:
            write_reference(model, f.read(), args.out)
        print("wrote", os.path.join(args.out, "reference_logits.txt"))
        return

    verses = load_verses()
    train_b, val_b, eval_b, calib_b = split_corpus(verses)
    assert len(eval_b) <= 1_000_000
    for name, b in (("kjv-eval.txt", eval_b), ("kjv-calib.txt", calib_b)):
        with open(os.path.join(args.data_dir, name), "wb") as f:
            f.write(b)
    print(f"split: train {len(train_b)} val {len(val_b)} eval {len(eval_b)} "
          f"calib {len(calib_b)} bytes", flush=True)

    torch.manual_seed(args.seed)
    cfg = LlamaConfig()
    model = LlamaForCausalLM(cfg)
    init_weights(model, cfg)
    print(f"parameters: {model.num_parameters()}", flush=True)

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))

    train_t, val_t, eval_t = to_tensor(train_b), to_tensor(val_b), to_tensor(eval_b)
    val_in, val_tg = windows(val_t, args.seq_len)
    gen = torch.Generator().manual_seed(args.seed)
    # A fixed subset of validation windows keeps the periodic check cheap.
    probe = torch.randperm(len(val_in), generator=torch.Generator().manual_seed(0))[:32]

    steps = args.time_steps or args.steps
    recent = []
    t0 = time.time()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        x, y = sample_batch(train_t, args.batch_size, args.seq_len, gen)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        recent = (recent + [loss.item()])[-args.log_every:]
        if (step + 1) % args.log_every == 0 or step == 0:
            el = time.time() - t0
            print(f"step {step + 1}/{steps} loss {sum(recent) / len(recent):.4f} "
                  f"lr {lr_at(step, args):.2e} {el:.0f}s ({el / (step + 1):.2f} s/step)",
                  flush=True)
        if (step + 1) % args.val_every == 0:
            vl = mean_loss(model, val_in[probe], val_tg[probe])
            print(f"  val(probe) {vl:.4f} nats = {vl / math.log(2):.3f} bits/byte", flush=True)
    train_seconds = time.time() - t0
    if args.time_steps:
        print(f"timing: {train_seconds / steps:.2f} s/step")
        return

    eval_in, eval_tg = windows(eval_t, args.seq_len)
    info = {
        "args": args, "cfg": cfg, "params": model.num_parameters(),
        "argv": "".join(" " + a for a in sys.argv[1:]),
        "text_version": package_version(CORPUS_PACKAGES[0]),
        "prog_version": package_version(CORPUS_PACKAGES[1]),
        "corpus_bytes": sum(len(v) for v in verses),
        "train_bytes": len(train_b), "val_bytes": len(val_b), "eval_bytes": len(eval_b),
        "calib_bytes": len(calib_b),
        "tokens_seen": steps * args.batch_size * args.seq_len,
        "epochs": steps * args.batch_size * args.seq_len / len(train_b),
        "train_seconds": train_seconds, "seconds_per_step": train_seconds / steps,
        "train_tail": len(recent), "train_loss": sum(recent) / len(recent),
        "val_loss": mean_loss(model, val_in, val_tg),
        "eval_loss": mean_loss(model, eval_in, eval_tg),
        "unigram_bits": unigram_bits_per_byte(train_b, eval_tg),
    }
    print(f"final: train {info['train_loss']:.4f} val {info['val_loss']:.4f} "
          f"eval {info['eval_loss']:.4f} nats; eval {info['eval_loss'] / math.log(2):.4f} "
          f"bits/byte vs unigram {info['unigram_bits']:.4f}", flush=True)

    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg.to_hf_dict("float32"), f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(args.out, "model.safetensors"), model.hf_state_dict(), "F32",
                      metadata={"format": "pt"})
    # Reference from the checkpoint as written, so it matches what readers will load.
    write_reference(load_checkpoint(args.out), eval_b, args.out)
    write_training_md(os.path.join(args.out, "training.md"), info)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
