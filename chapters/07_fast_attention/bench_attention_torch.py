#!/usr/bin/python3
"""PyTorch's side of bench_attention, for `make bench`: softmax(Q K^T / 8) V at d = 64, one
thread, T = 256, 1024, 4096, causal (masked_fill with -inf) and not, the median of 7 runs.
Prints one JSON object: {"torch_full/1024": milliseconds, ...}. Needs Debian's python3-torch;
without it, says how to install it and exits 3."""
import json
import sys
import time

try:
    import torch
except ImportError:
    print("bench: PyTorch is not installed, so it is left out; for the comparison: "
          "sudo apt-get install python3-torch", file=sys.stderr)
    sys.exit(3)

torch.set_num_threads(1)
results = {}
for T in (256, 1024, 4096):
    generator = torch.Generator().manual_seed(T)
    q, k, v = (torch.randn(T, 64, generator=generator) for _ in range(3))
    future = ~torch.ones(T, T, dtype=torch.bool).tril()
    for causal in (False, True):
        times = []
        for _ in range(7):
            start = time.perf_counter()
            scores = q @ k.T / 8.0
            if causal:
                scores = scores.masked_fill(future, float("-inf"))
            torch.softmax(scores, dim=-1) @ v
            times.append((time.perf_counter() - start) * 1e3)
        results[f"torch_{'causal' if causal else 'full'}/{T}"] = sorted(times)[3]
print(json.dumps(results))
