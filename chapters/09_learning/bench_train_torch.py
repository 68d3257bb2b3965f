#!/usr/bin/python3
"""PyTorch's side of bench_train, for `make bench`: one training step (forward, backward,
clip_grad_norm_, AdamW with decay on the blocks' matrices) of chapter 09's GPT (vocabulary
26, context 16, d_model 32, 2 pre-LN blocks of 4 heads, d_ff 128, biases, tanh GELU, tied
embedding) on 64 sequences of 10 random tokens, eager, one thread; the median of 15 steps
after 3 to warm up. Prints {"torch_step/64": milliseconds}. Needs Debian's python3-torch;
without it, says how to install it and exits 3."""
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
V, C, D, L, H, FF = 26, 16, 32, 2, 4, 128
B, T = 64, 10


def p(*shape, std=0.02, value=None):
    t = torch.full(shape, value) if value is not None else torch.randn(*shape) * std
    return t.requires_grad_()


E, P = p(V, D), p(C, D)
blocks = [dict(g1=p(D, value=1.0), b1=p(D, value=0.0), wq=p(D, D), wk=p(D, D), wv=p(D, D),
               wo=p(D, D, std=0.02 / math.sqrt(2 * L)), bq=p(D, value=0.0), bk=p(D, value=0.0),
               bv=p(D, value=0.0), bo=p(D, value=0.0), g2=p(D, value=1.0), b2=p(D, value=0.0),
               w1=p(D, FF), c1=p(FF, value=0.0), w2=p(FF, D, std=0.02 / math.sqrt(2 * L)),
               c2=p(D, value=0.0)) for _ in range(L)]
gf, bf = p(D, value=1.0), p(D, value=0.0)
matrices = [b[k] for b in blocks for k in ("wq", "wk", "wv", "wo", "w1", "w2")]
others = [E, P, gf, bf] + [b[k] for b in blocks for k in b if k not in ("wq", "wk", "wv", "wo", "w1", "w2")]
opt = torch.optim.AdamW([{"params": matrices, "weight_decay": 0.1},
                         {"params": others, "weight_decay": 0.0}], lr=1e-6, betas=(0.9, 0.95), eps=1e-8)
causal = torch.ones(T, T, dtype=torch.bool).tril()
inputs = torch.randint(0, V, (B, T))
targets = torch.randint(0, V, (B, T))


def step():
    x = E[inputs] + P[:T]
    for b in blocks:
        a = F.layer_norm(x, (D,), b["g1"], b["b1"], eps=1e-5)
        q = (a @ b["wq"] + b["bq"]).view(B, T, H, D // H).transpose(1, 2)
        k = (a @ b["wk"] + b["bk"]).view(B, T, H, D // H).transpose(1, 2)
        v = (a @ b["wv"] + b["bv"]).view(B, T, H, D // H).transpose(1, 2)
        s = (q @ k.transpose(-1, -2) / math.sqrt(D // H)).masked_fill(~causal, float("-inf"))
        h = x + (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, D) @ b["wo"] + b["bo"]
        n = F.layer_norm(h, (D,), b["g2"], b["b2"], eps=1e-5)
        x = h + F.gelu(n @ b["w1"] + b["c1"], approximate="tanh") @ b["w2"] + b["c2"]
    logits = F.layer_norm(x, (D,), gf, bf, eps=1e-5) @ E.T
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
