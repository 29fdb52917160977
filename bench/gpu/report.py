#!/usr/bin/env python3
"""Markdown summary of a GPU run: actforge_gpu_bench's JSON (ours vs D2D copy vs cuDNN) and the
merged `actforge check --target cuda --json` records.

    python3 bench/gpu/report.py --bench bench.json [--check check.json]

Per activation, direction and dtype (medians over the repetitions):
  ours GB/s [slowest, fastest repetition], /copy (ours GB/s / cudaMemcpy D2D GB/s of the same
  bytes: 1.0 = as fast as copying them), cuDNN GB/s, ours/cuDNN (time ratio: < 1 = ours faster).
Bytes are read + written by one call: 2n elements forward, 3n backward (cuDNN's backward also
reads y, counted as 3n too, so GB/s compare times).
"""
import argparse
import json
import os
import sys


def load_bench(path):
    """{run_name: {"median": GBps, "min":..., "max":..., "time": median real_time}, error: msg}."""
    with open(path) as f:
        data = json.load(f)
    runs = {}
    for b in data.get("benchmarks", []):
        name = b.get("run_name", b["name"]).removesuffix("/manual_time")
        r = runs.setdefault(name, {})
        if b.get("label"):
            r["label"] = b["label"]
        if b.get("error_occurred"):
            r["error"] = b.get("error_message", "error")
            continue
        agg = b.get("aggregate_name")
        if agg in ("median", "min", "max") and "GBps" in b:
            r[agg] = b["GBps"]
            if agg == "median":
                r["time"] = b["real_time"]
        elif agg is None and "GBps" in b:  # a run without repetitions
            r.setdefault("median", b["GBps"])
            r.setdefault("time", b["real_time"])
    return data.get("context", {}), runs


def bench_table(path):
    if not os.path.exists(path):
        return ["## Benchmark", "", "no bench.json (the benchmark was skipped or failed)", ""]
    context, runs = load_bench(path)
    lines = ["## Benchmark: ours vs cudaMemcpy D2D vs cuDNN", ""]
    lines.append(f"GPU {context.get('gpu', '?')}, n = {context.get('gpu_n', '?')}, "
                 f"cuDNN {context.get('cudnn', '?')}, driver {context.get('cuda_driver', '?')}")
    lines.append("")
    lines.append("| activation | dir | dtype | ours GB/s [min, max] | /copy | cuDNN GB/s | ours/cuDNN time |")
    lines.append("|---|---|---|---|---|---|---|")
    fmt = lambda v: f"{v:.0f}" if v is not None else "-"
    ours = sorted((k for k in runs if k.startswith("ours/")),
                  key=lambda k: (k.split("/")[3], k.split("/")[2], k.split("/")[1]))
    for key in ours:
        _, act, direction, dtype = key.split("/")
        r = runs[key]
        copy = runs.get(f"copy/{direction}/{dtype}", {})
        peer = runs.get(f"cudnn/{act}/{direction}/{dtype}")
        if "error" in r:
            cell = f"ERROR: {r['error'][:80]}"
            ratio = "-"
        else:
            cell = f"{fmt(r.get('median'))} [{fmt(r.get('min'))}, {fmt(r.get('max'))}]"
            ratio = (f"{r['median'] / copy['median']:.2f}"
                     if r.get("median") and copy.get("median") else "-")
        if peer is None:
            peer_cell, peer_ratio = "n/a", "-"
        elif "error" in peer:
            peer_cell, peer_ratio = f"skipped: {peer['error'][:60]}", "-"
        else:
            peer_cell = fmt(peer.get("median")) + (" (output differs)" if peer.get("label") else "")
            peer_ratio = (f"{r['time'] / peer['time']:.2f}"
                          if r.get("time") and peer.get("time") else "-")
        lines.append(f"| {act} | {direction} | {dtype} | {cell} | {ratio} | {peer_cell} | {peer_ratio} |")
    sweep = sorted(k for k in runs if k.startswith("sweep/"))
    if sweep:
        lines += ["", "Schedule sweep (forward; ours/ above is the default v4u2t256 f32, v8u2t256 f16):",
                  "", "| kernel | schedule | GB/s | /copy |", "|---|---|---|---|"]
        for key in sweep:
            _, act, direction, dtype, sched = key.split("/")
            r, copy = runs[key], runs.get(f"copy/{direction}/{dtype}", {})
            ratio = (f"{r['median'] / copy['median']:.2f}"
                     if r.get("median") and copy.get("median") else "-")
            lines.append(f"| {act} {direction} {dtype} | {sched} | {fmt(r.get('median'))} | {ratio} |")
    notes = [f"- {k}: {runs[k]['label']}" for k in sorted(runs) if runs[k].get("label")]
    if notes:
        lines += ["", "Peers whose output differs from the double-precision reference (timed anyway):", ""] + notes
    copies = sorted(k for k in runs if k.startswith("copy/"))
    if copies:
        lines.append("")
        lines.append("D2D copy (read + written bytes): " + ", ".join(
            f"{k[5:]} {fmt(runs[k].get('median'))} GB/s" if "error" not in runs[k]
            else f"{k[5:]} ERROR {runs[k]['error']}" for k in copies))
    lines.append("")
    return lines


def check_table(path):
    if not os.path.exists(path):
        return ["## check --target cuda", "", "no check.json (the check was skipped or failed)", ""]
    with open(path) as f:
        records = json.load(f)
    count = {s: sum(r.get("status") == s for r in records) for s in ("pass", "fail", "skip")}
    lines = ["## check --target cuda", "",
             f"{len(records)} records: {count['pass']} pass, {count['fail']} fail, "
             f"{count['skip']} skip", ""]
    fails = [r for r in records if r.get("status") == "fail"]
    if fails:
        lines += ["| activation | role | dtype | max_ulp | max_rel_grad_err | reason |",
                  "|---|---|---|---|---|---|"]
        for r in fails[:60]:
            lines.append(f"| {r.get('activation')} | {r.get('role')} | {r.get('dtype')} | "
                         f"{r.get('max_ulp')} | {r.get('max_rel_grad_err')} | "
                         f"{str(r.get('reason', ''))[:100]} |")
        if len(fails) > 60:
            lines.append(f"... and {len(fails) - 60} more")
    skips = sorted({str(r.get("reason", "")) for r in records if r.get("status") == "skip"})
    if skips:
        lines.append("skip reasons: " + "; ".join(s[:120] for s in skips[:5]))
    passed = [r for r in records if r.get("status") == "pass" and r.get("max_ulp") is not None]
    if passed:
        worst = max(passed, key=lambda r: r["max_ulp"])
        lines.append(f"largest max_ulp among passes: {worst['max_ulp']} "
                     f"({worst.get('activation')} {worst.get('role')} {worst.get('dtype')})")
    lines.append("")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", default="bench.json")
    ap.add_argument("--check", default="check.json")
    args = ap.parse_args()
    print("\n".join(bench_table(args.bench) + check_table(args.check)))


if __name__ == "__main__":
    sys.exit(main())
