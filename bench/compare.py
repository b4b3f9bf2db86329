"""Time lusnet and PyTorch side by side on the same models, shapes and thread counts.

Runs the Google Benchmark binary ``lusnet_bench`` (built with ``-DLUSNET_BUILD_BENCH=ON``) and
PyTorch's eager CPU forward of the same architectures in one run, at each thread count, and
writes the medians and their ratio to a Markdown table (``docs/benchmarks.md`` by default)
with the date, CPU and versions. The same lusnet run times Grad-CAM (``bench/bench_cam.cpp``)
next to the forward pass, and a second table gives Grad-CAM's cost as a multiple of a forward
pass. Usage::

    python bench/compare.py --bench build/bench/lusnet_bench --threads 1 2
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
CASES = [("vgg16", 1), ("vgg16", 8), ("lusnet", 1), ("lusnet", 8)]


def torch_model(arch: str) -> torch.nn.Module:
    if arch == "lusnet":
        path = ROOT / "python" / "lusnet" / "torch_models.py"
        spec = importlib.util.spec_from_file_location("lusnet_torch_models", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.LUSNet(num_classes=2).eval()
    import torchvision

    return getattr(torchvision.models, arch)(weights=None).eval()


def time_torch(arch: str, batch: int, threads: int, repeats: int) -> float:
    """Median wall time of one forward in milliseconds, after two warm-up runs."""
    torch.set_num_threads(threads)
    model = torch_model(arch)
    channels = 1 if arch == "lusnet" else 3
    x = torch.randn(batch, channels, 224, 224, generator=torch.Generator().manual_seed(0))
    times = []
    with torch.inference_mode():
        for i in range(repeats + 2):
            start = time.perf_counter()
            model(x)
            if i >= 2:
                times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def time_lusnet(bench: Path, threads: int, repeats: int) -> tuple:
    """Median real times in milliseconds per (arch, batch) of the forward pass and of Grad-CAM,
    from the benchmark's JSON output."""
    env = dict(os.environ, LUSNET_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    result = subprocess.run(
        [str(bench), "--benchmark_format=json", f"--benchmark_repetitions={repeats}",
         "--benchmark_report_aggregates_only=true"],
        env=env, check=True, capture_output=True, text=True)
    medians, cams = {}, {}
    for row in json.loads(result.stdout)["benchmarks"]:
        if row.get("aggregate_name") != "median":
            continue
        # BM_<arch>_forward/<batch>/real_time or BM_gradcam_<arch>/<batch>/real_time
        run = row["run_name"].split("/")
        name, batch = run[0][len("BM_"):], int(run[1])
        if name.endswith("_forward"):
            medians[(name[: -len("_forward")], batch)] = row["real_time"]
        elif name.startswith("gradcam_"):
            cams[(name[len("gradcam_"):], batch)] = row["real_time"]
    return medians, cams


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def simd_flags() -> str:
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    return ", ".join(f for f in ("avx2", "fma", "f16c", "avx512f", "avx512_vnni") if f in flags)


def cam_table(cam_rows: list) -> list:
    """Markdown lines of Grad-CAM's cost next to the forward pass of the same run."""
    if not cam_rows:
        return []
    lines = [
        "## Grad-CAM cost",
        "",
        "Grad-CAM at each model's default CAM layer (`BM_gradcam_<model>`, forward with capture, "
        "backward from the target logit down to that layer only, weights, upsampling) next to "
        "the plain forward of the same lusnet run; ratio = Grad-CAM / forward (goal: at most "
        "1.3).",
        "",
        "| model | batch | threads | forward ms | Grad-CAM ms | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for arch, batch, threads, forward, cam in cam_rows:
        lines.append(f"| {arch} | {batch} | {threads} | {forward:.1f} | {cam:.1f} | "
                     f"{cam / forward:.2f} |")
    lines.append("")
    return lines


def write_table(out: Path, rows: list, args, cam_rows: list = ()) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Measured by `bench/compare.py`: lusnet (`bench/bench_models.cpp`, Google Benchmark) and "
        "PyTorch eager CPU inference on the same architectures and input shapes (random "
        "weights, 224×224), in the same run, with equal thread counts. Times are medians of "
        f"{args.repeats} runs in milliseconds per forward pass; ratio = lusnet / PyTorch "
        "(below 1 means lusnet is faster).",
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- CPU: {cpu_name()} ({os.cpu_count()} cores; SIMD: {simd_flags()})",
        f"- PyTorch {torch.__version__}, Python {platform.python_version()}",
        f"- lusnet: reference path (im2col + Eigen GEMM, OpenMP threads), {args.compiler}",
        "",
        "| model | batch | threads | lusnet ms | PyTorch ms | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for arch, batch, threads, ours, theirs in rows:
        lines.append(f"| {arch} | {batch} | {threads} | {ours:.1f} | {theirs:.1f} | "
                     f"{ours / theirs:.2f} |")
    lines.append("")
    lines += cam_table(list(cam_rows))
    text = "\n".join(lines)
    if args.notes:
        text += "\n" + args.notes.read_text()
    out.write_text(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=ROOT / "build" / "bench" / "lusnet_bench")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--notes", type=Path, default=ROOT / "bench" / "notes.md",
                        help="Markdown appended after the table")
    parser.add_argument("--compiler", default="g++ -O2 -march=native")
    args = parser.parse_args(argv)
    if not args.bench.exists():
        parser.error(f"{args.bench} not found: configure with -DLUSNET_BUILD_BENCH=ON and build")
    if args.notes and not args.notes.exists():
        args.notes = None

    rows, cam_rows = [], []
    for threads in args.threads:
        ours, cams = time_lusnet(args.bench, threads, args.repeats)
        for arch, batch in CASES:
            if (arch, batch) in cams:
                cam_rows.append((arch, batch, threads, ours[(arch, batch)], cams[(arch, batch)]))
        for arch, batch in CASES:
            theirs = time_torch(arch, batch, threads, args.repeats)
            rows.append((arch, batch, threads, ours[(arch, batch)], theirs))
            print(f"{arch} batch {batch}, {threads} threads: lusnet {ours[(arch, batch)]:.1f} ms, "
                  f"PyTorch {theirs:.1f} ms", flush=True)
    write_table(args.out, rows, args, cam_rows)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
