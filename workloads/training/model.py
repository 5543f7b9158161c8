"""A small, readable Llama decoder with exactly Hugging Face LlamaForCausalLM semantics.

Parameter names match the HF checkpoint layout (model.embed_tokens.weight,
model.layers.{i}.self_attn.q_proj.weight, ..., lm_head.weight), so `state_dict()` can be
written straight to safetensors and loaded by anything that reads HF Llama checkpoints,
including aimcsim's loader. Linear weights are (out_features, in_features); no biases.

Semantics that matter for bit-level agreement with other implementations:
  * RMSNorm: x * rsqrt(mean(x^2) + eps) * weight, computed in float32 or wider.
  * Rotary embeddings in the HF "rotate_half" convention: the head dimension is split into
    two halves (not interleaved pairs); frequency i applies to elements i and i + d/2.
  * Grouped-query attention: key/value head j serves query heads
    j*G .. j*G+G-1, G = num_attention_heads / num_key_value_heads.
  * Causal softmax attention scaled by 1/sqrt(head_dim).
  * SwiGLU MLP: down(silu(gate(x)) * up(x)).
"""

import json
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class LlamaConfig:
    vocab_size: int = 256
    hidden_size: int = 128
    intermediate_size: int = 352
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 256
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = False

    @property
    def head_dim(self):
        return self.hidden_size // self.num_attention_heads

    def to_hf_dict(self, torch_dtype="float32"):
        """config.json contents in the Hugging Face LlamaForCausalLM format."""
        d = asdict(self)
        d.update({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_act": "silu",
            "attention_bias": False,
            "attention_dropout": 0.0,
            "mlp_bias": False,
            "initializer_range": 0.02,
            "rope_scaling": None,
            "use_cache": True,
            "torch_dtype": torch_dtype,
            "bos_token_id": None,
            "eos_token_id": None,
            "pad_token_id": None,
        })
        return dict(sorted(d.items()))

    @classmethod
    def from_hf_dict(cls, d):
        fields = cls.__dataclass_fields__
        return cls(**{k: d[k] for k in fields if k in d})

    @classmethod
    def from_json_file(cls, path):
        with open(path) as f:
            return cls.from_hf_dict(json.load(f))


def rms_norm(x, weight, eps):
    """HF LlamaRMSNorm: normalise in float32 (or wider), then scale by weight."""
    dtype = x.dtype
    xf = x.float() if dtype in (torch.float16, torch.bfloat16) else x
    xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return weight * xf.to(dtype)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return rms_norm(x, self.weight, self.eps)


def rotary_cos_sin(positions, head_dim, theta, dtype=torch.float32):
    """cos/sin tables of shape (T, head_dim) in the HF layout: the d/2 frequencies are
    repeated, [f0..f_{d/2-1}, f0..f_{d/2-1}], to match rotate_half."""
    # HF computes the table in float32; a float64 reference keeps full precision instead.
    calc = torch.float64 if dtype == torch.float64 else torch.float32
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=calc) / head_dim))
    freqs = positions.to(calc)[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rotary(x, cos, sin):
    """x: (B, heads, T, head_dim); cos/sin: (T, head_dim)."""
    return x * cos + rotate_half(x) * sin


def causal_attention(q, k, v):
    """q: (B, H, T, d); k, v: (B, H, T, d) with KV heads already repeated for GQA."""
    T = q.shape[-2]
    # Scaling q before the product is the same maths as HF's scaling of the scores (up to
    # rounding) and touches T/head_dim times fewer elements, which matters for CPU training.
    scores = (q * (1.0 / math.sqrt(q.shape[-1]))) @ k.transpose(-1, -2)
    mask = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_heads = cfg.num_attention_heads
        self.n_kv = cfg.num_key_value_heads
        self.head_dim = cfg.head_dim
        h = cfg.hidden_size
        self.q_proj = nn.Linear(h, self.n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(h, self.n_kv * self.head_dim, bias=False)
        self.v_proj = nn.Linear(h, self.n_kv * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.head_dim, h, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.n_kv, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.n_kv, self.head_dim).transpose(1, 2)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        group = self.n_heads // self.n_kv
        # repeat_interleave gives kv head j to query heads j*group .. j*group+group-1.
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        y = causal_attention(q, k, v)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.n_heads * self.head_dim))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, m = cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = nn.Linear(h, m, bias=False)
        self.up_proj = nn.Linear(h, m, bias=False)
        self.down_proj = nn.Linear(m, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    """The `model.` prefix of the HF names: embeddings, decoder layers, final norm."""

    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.config = cfg
        self.model = LlamaModel(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, tokens):
        """tokens: (B, T) int64, positions 0..T-1; returns logits (B, T, vocab)."""
        T = tokens.shape[1]
        x = self.model.embed_tokens(tokens)
        positions = torch.arange(T, device=tokens.device)
        cos, sin = rotary_cos_sin(positions, self.config.head_dim, self.config.rope_theta,
                                  x.dtype)
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.model.norm(x))

    def hf_state_dict(self):
        """State dict under HF tensor names; drops lm_head.weight when tied, as HF does."""
        sd = {k: v.detach() for k, v in self.state_dict().items()}
        if self.config.tie_word_embeddings:
            sd.pop("lm_head.weight")
        return sd

    def load_hf_state_dict(self, tensors):
        """Loads {HF name: array/tensor} (e.g. from read_safetensors)."""
        sd = {k: torch.as_tensor(v) for k, v in tensors.items()}
        if self.config.tie_word_embeddings:
            sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
        self.load_state_dict(sd, strict=True)

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())


def write_reference_logits(path, tokens, logits):
    """Writes the reference file read by aimcsim's tests:

        tokens T
        <T integers separated by spaces>
        logits T V
        <T lines, each V floats in %.9e separated by spaces>
    """
    tokens = [int(t) for t in tokens]
    rows = [[float(v) for v in row] for row in logits]
    assert len(rows) == len(tokens)
    with open(path, "w") as f:
        f.write(f"tokens {len(tokens)}\n")
        f.write(" ".join(str(t) for t in tokens) + "\n")
        f.write(f"logits {len(rows)} {len(rows[0])}\n")
        for row in rows:
            f.write(" ".join("%.9e" % v for v in row) + "\n")


def read_reference_logits(path):
    """Inverse of write_reference_logits; returns (tokens list, logits list of lists)."""
    with open(path) as f:
        lines = f.read().splitlines()
    n = int(lines[0].split()[1])
    tokens = [int(t) for t in lines[1].split()]
    _, t, v = lines[2].split()
    logits = [[float(x) for x in line.split()] for line in lines[3:3 + int(t)]]
    assert len(tokens) == n == int(t) and all(len(r) == int(v) for r in logits)
    return tokens, logits
