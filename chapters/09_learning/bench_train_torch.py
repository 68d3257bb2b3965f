#!/usr/bin/python3
"""PyTorch's side of bench_train, for `make bench`: one training step (forward, backward,
clip_grad_norm_, AdamW with decay on the blocks' matrices) of chapter 09's Llama (vocabulary
26, dim 32, 2 blocks of RMSNorm, 4 query heads sharing 2 key/value heads with RoPE, SwiGLU of
width 96, no biases, tied embedding) on 64 sequences of 10 random tokens, eager, one thread;
the median of 15 steps after 3 to warm up. Prints {"torch_step/64": milliseconds}. Needs
Debian's python3-torch; without it, says how to install it and exits 3."""
import json
import math
import sys
import time

try:
    import torch
except ImportError:
    print("bench: PyTorch is not installed, so it is left out; for the comparison: "
          "sudo apt-get install python3-torch", file=sys.stderr)
    sys.exit(3)

F = torch.nn.functional
torch.set_num_threads(1)
torch.manual_seed(1)
V, D, L, H, KV, FF = 26, 32, 2, 4, 2, 96
DH = D // H
B, T = 64, 10


def p(*shape, std=0.02, value=None):
    t = torch.full(shape, value) if value is not None else torch.randn(*shape) * std
    return t.requires_grad_()


# Weights as nn.Linear stores them, [out, in]: a projection is x @ W.T.
E = p(V, D)
out_std = 0.02 / math.sqrt(2 * L)
blocks = [dict(g1=p(D, value=1.0), wq=p(H * DH, D), wk=p(KV * DH, D), wv=p(KV * DH, D),
               wo=p(D, H * DH, std=out_std), g2=p(D, value=1.0), wg=p(FF, D), wu=p(FF, D),
               wd=p(D, FF, std=out_std)) for _ in range(L)]
gf = p(D, value=1.0)
names = ("wq", "wk", "wv", "wo", "wg", "wu", "wd")
matrices = [b[k] for b in blocks for k in names]
others = [E, gf] + [b[k] for b in blocks for k in ("g1", "g2")]
opt = torch.optim.AdamW([{"params": matrices, "weight_decay": 0.1},
                         {"params": others, "weight_decay": 0.0}], lr=1e-6, betas=(0.9, 0.95), eps=1e-8)
causal = torch.ones(T, T, dtype=torch.bool).tril()
inputs = torch.randint(0, V, (B, T))
targets = torch.randint(0, V, (B, T))
# RoPE's cos and sin for positions 0..T-1 and the DH/2 pairs, as complex rotations.
angles = torch.outer(torch.arange(T, dtype=torch.float32), 10000.0 ** (-torch.arange(0, DH, 2) / DH))
rotation = torch.polar(torch.ones_like(angles), angles)


def rms(x, g):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-5) * g


def rope(x):  # [B, heads, T, DH], pairs (x_2i, x_2i+1)
    z = torch.view_as_complex(x.reshape(*x.shape[:-1], DH // 2, 2).contiguous()) * rotation
    return torch.view_as_real(z).reshape(x.shape)


def step():
    x = E[inputs]
    for b in blocks:
        a = rms(x, b["g1"])
        q = rope((a @ b["wq"].T).view(B, T, H, DH).transpose(1, 2))
        k = rope((a @ b["wk"].T).view(B, T, KV, DH).transpose(1, 2)).repeat_interleave(H // KV, dim=1)
        v = (a @ b["wv"].T).view(B, T, KV, DH).transpose(1, 2).repeat_interleave(H // KV, dim=1)
        s = (q @ k.transpose(-1, -2) / math.sqrt(DH)).masked_fill(~causal, float("-inf"))
        h = x + (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, D) @ b["wo"].T
        n = rms(h, b["g2"])
        x = h + (F.silu(n @ b["wg"].T) * (n @ b["wu"].T)) @ b["wd"].T
    logits = rms(x, gf) @ E.T
    loss = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(matrices + others, 1.0)
    opt.step()


for _ in range(3):
    step()
times = []
for _ in range(15):
    start = time.perf_counter()
    step()
    times.append((time.perf_counter() - start) * 1e3)
print(json.dumps({"torch_step/64": sorted(times)[7]}))
