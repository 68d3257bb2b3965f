#!/usr/bin/env python3
"""`make bench`: runs every benchmark program the build made (build/**/bench_*), one
OpenBLAS thread, three repetitions each, and prints the median time of every benchmark. A
Python script beside a benchmark's source (chapters/NN/bench_x_*.py) adds PyTorch's times,
and every family is then compared with PyTorch's; otherwise, for two families measured at
the same sizes, the ratio of their medians (the first over the second); a family with tokens
per second at size 1 (a batch of one), each size's rate against it. One run.

A benchmark that reports the memory-bandwidth limit (chapter 08) gets it printed beside its
tokens per second, with the fraction reached, and its peak resident memory against the
checkpoint's size. The JSON results are kept in build/bench/. Only Python's standard library is used.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("only", nargs="*", help="run only these programs, e.g. bench_attention")
    args = parser.parse_args()
    build = pathlib.Path(args.build_dir)
    programs = sorted(p for p in build.glob("chapters/*/bench_*") if p.is_file() and os.access(p, os.X_OK))
    if args.only:
        programs = [p for p in programs if p.name in args.only]
    if not programs:
        print("bench: no benchmark programs in " + str(build), file=sys.stderr)
        return 2
    out_dir = build / "bench"
    out_dir.mkdir(exist_ok=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    for program in programs:
        out = out_dir / f"{program.name}.json"
        print(f"== {program.name} (one thread, median of {args.repetitions})", flush=True)
        proc = subprocess.run([str(program), f"--benchmark_repetitions={args.repetitions}",
                               "--benchmark_report_aggregates_only=true", f"--benchmark_out={out}",
                               "--benchmark_out_format=json"], env=env, stdout=subprocess.DEVNULL)
        if proc.returncode != 0:
            print(f"bench: {program.name} failed (exit status {proc.returncode})", file=sys.stderr)
            return 1
        medians = {}  # family -> {size: (ms, tokens per second, runs)}
        limits = {}  # (family, size) -> (copy GB/s, tokens per second that bandwidth allows)
        memory = {}  # (family, size) -> (peak resident MB, the same before loading, file MB)
        for b in json.loads(out.read_text())["benchmarks"]:
            # The median of the repetitions; a benchmark repeated once has its one run.
            if b.get("aggregate_name") != "median" and b.get("repetitions", 1) > 1:
                continue
            family, size = (b["run_name"].split("/") + [""])[:2]
            ms = b["real_time"] * {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
            medians.setdefault(family, {})[size] = (ms, b.get("tokens_per_second"), b.get("repetitions", 1))
            if "bandwidth_limit_tokens_per_second" in b:
                limits[(family, size)] = (b["copy_GB_per_second"], b["bandwidth_limit_tokens_per_second"])
            if "peak_resident_MB" in b:
                memory[(family, size)] = (b["peak_resident_MB"], b["peak_resident_before_loading_MB"], b["file_MB"])
        # A Python script beside the program (PyTorch's side) adds its own families.
        source_dir = pathlib.Path(__file__).resolve().parent.parent / "chapters" / program.parent.name
        for script in sorted(source_dir.glob(f"{program.name}_*.py")):
            proc = subprocess.run(["/usr/bin/python3", str(script)], env=env, stdout=subprocess.PIPE, text=True)
            if proc.returncode == 0:
                for name, ms in json.loads(proc.stdout).items():
                    family, size = name.split("/")
                    medians.setdefault(family, {})[size] = (ms, None, 7)
        families = list(medians)
        for family in families:
            print(f"  {family}")
            for size, (ms, rate, runs) in medians[family].items():
                extra = f"   {rate:10.1f} tokens/s" if rate else ""
                # Against the same family's size 1 (a batch of one), in the same run.
                first = medians[family].get("1", (None, None, None))[1]
                if rate and first and size != "1":
                    extra += f"   {rate / first:5.1f}x size 1"
                shown = f"{ms:12.2f} ms" if ms >= 0.1 else f"{ms * 1e3:12.2f} us"
                print(f"    {size:>6}  {shown}{extra}" + ("   (one run)" if runs == 1 else ""))
                if (family, size) in limits and rate:
                    copy, limit = limits[(family, size)]
                    print(f"            memcpy moves {copy:.1f} GB/s (read + written), {limit:.0f} tokens/s at"
                          f" the model's bytes per token; ratio {rate / limit:.2f}")
                if (family, size) in memory:
                    peak, before, file = memory[(family, size)]
                    print(f"            peak resident memory {peak:.1f} MB for a {file:.1f} MB checkpoint:"
                          f" {peak / file:.2f}x its size ({before:.1f} MB before loading it)")
        torch = [f for f in families if f.startswith("torch_")]
        if torch:
            print("  ratio to PyTorch (medians of the same run; below 1 is faster)")
            for family in families:
                reference = next((t for t in torch if family.endswith(t[len("torch"):])), None)
                if reference is None or family == reference:
                    continue
                ratios = [f"{size}: {medians[family][size][0] / medians[reference][size][0]:.2f}x"
                          for size in medians[family] if size in medians[reference]]
                print(f"    {family:<16} " + "   ".join(ratios))
        else:
            # Every two families measured at the same sizes, the first over the second.
            for i, a in enumerate(families):
                for b in families[i + 1:]:
                    common = [size for size in medians[a] if size in medians[b]]
                    if not common:
                        continue
                    print(f"  ratio {a} / {b} (medians of the same run)")
                    for size in common:
                        print(f"    {size:>6}  {medians[a][size][0] / medians[b][size][0]:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
