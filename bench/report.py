#!/usr/bin/env python3
"""Tables from an actforge_bench JSON file (Google Benchmark's --benchmark_out).

Table 1, ours against the bar: for every kernel, its median GB/s over the repetitions divided
by the median GB/s of memcpy of the same bytes, on the same threads, in the same run; the spread
is the kernel's slowest and fastest repetition over that same memcpy median, and memcpy's own
spread is shown beside it. '/copy' divides by the copy loop with ordinary stores instead (no
non-temporal stores: what a kernel with ordinary stores can reach). Table 2: median
elements/ns of every implementation, and ours over the best peer. Ours are 'actforge' (Halide)
and 'mlir' (the MLIR backend, serial: 1 thread only); the best peer is the best of PEERS. Table 3:
mlir over actforge per kernel at 1 thread, with mlir's [slowest, fastest] repetition over the
actforge median.

Usage: report.py RESULTS.json
"""
import json
import sys
from collections import defaultdict

OURS = ["actforge", "mlir"]
PEERS = ["onednn", "xnnpack", "sleef", "eigen"]


def parse_name(name):
    """'actforge/swish_bwd/n:16384/threads:1[/real_time]' -> ('actforge', 'swish_bwd', 16384, 1)."""
    impl, op, n, threads = name.split("/")[:4]
    return impl, op, int(n.split(":")[1]), int(threads.split(":")[1])


def load(path):
    """{(impl, op, n, threads): {'median'|'min'|'max': {'GB/s': .., 'elem/ns': ..}, 'label': ..}}"""
    with open(path) as f:
        data = json.load(f)
    stats = defaultdict(dict)
    samples = defaultdict(list)
    for b in data["benchmarks"]:
        key = parse_name(b.get("run_name", b["name"]))
        if b.get("error_occurred"):
            stats[key]["error"] = b.get("error_message", "error")
            continue
        if "label" in b:
            stats[key]["label"] = b["label"]
        # The counters are per second; in units of 1e9 they are GB/s and elements/ns.
        values = {"GB/s": b["bytes"] * 1e-9, "elem/ns": b["elements"] * 1e-9}
        if b.get("run_type") == "aggregate":
            stats[key][b["aggregate_name"]] = values
        else:
            samples[key].append(values)
    # Runs without --benchmark_report_aggregates_only: aggregate the repetitions here.
    for key, runs in samples.items():
        if "median" in stats[key]:
            continue
        for counter in ("GB/s", "elem/ns"):
            v = sorted(r[counter] for r in runs)
            mid = len(v) // 2
            median = v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2
            for name, value in (("median", median), ("min", v[0]), ("max", v[-1])):
                stats[key].setdefault(name, {})[counter] = value
    return data.get("context", {}), stats


def role_of(op):
    return op.rsplit("_", 1)[1]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    context, stats = load(sys.argv[1])
    print(f"# {context.get('date', '')}  host {context.get('host_name', '?')}  "
          f"{context.get('num_cpus', '?')} CPUs  threads 'all' = {context.get('actforge_threads', '?')}")
    for k, v in sorted(context.items()):
        if k.startswith("impl:"):
            print(f"#   {k[5:]}: {v}")

    ours = [k for k in stats if k[0] in OURS]  # in the order of the run
    print()
    print("Ours against memcpy of the same bytes (median GB/s ratio; [slowest, fastest] repetition)")
    header = (f"{'impl':<9}{'kernel':<16}{'n':>10}{'thr':>4}{'elem/ns':>9}{'GB/s':>8}  "
              f"{'/memcpy':>7} {'[min , max ]':<14}{'memcpy GB/s':>12} {'spread':>14}{'/copy':>7}")
    print(header)
    print("-" * len(header))
    for key in ours:
        impl, op, n, t = key
        s = stats[key]
        row = f"{impl:<9}{op:<16}{n:>10}{t:>4}"
        if "median" not in s:
            print(row + "  " + s.get("error", "no result"))
            continue
        m = stats.get(("memcpy", role_of(op), n, t), {})
        row += f"{s['median']['elem/ns']:>9.3f}{s['median']['GB/s']:>8.2f}  "
        if "median" in m:
            base = m["median"]["GB/s"]
            row += (f"{s['median']['GB/s'] / base:>7.2f} "
                    f"[{s['min']['GB/s'] / base:.2f}, {s['max']['GB/s'] / base:.2f}]  "
                    f"{base:>10.2f} [{m['min']['GB/s'] / base:.2f}, {m['max']['GB/s'] / base:.2f}]")
        else:
            row += "   (no memcpy in this run)"
        loop = stats.get(("copy", role_of(op), n, t), {})
        if "median" in m and "median" in loop:
            row += f"{s['median']['GB/s'] / loop['median']['GB/s']:>7.2f}"
        print(row)

    impls = [i for i in OURS + PEERS if any(k[0] == i for k in stats)]
    print()
    print("Median elements/ns of every implementation (best peer in the last column; * below a "
          "tenth of its 1-thread speed: a stalled thread pool, not counted)")
    header = f"{'kernel':<16}{'n':>10}{'thr':>4}" + "".join(f"{i:>10}" for i in impls)
    header += f"{'memcpy':>9}  {'ours/best peer':<18}"
    print(header)
    print("-" * len(header))
    for key in (k for k in ours if k[0] == "actforge"):
        _, op, n, t = key
        row = f"{op:<16}{n:>10}{t:>4}"
        values = {}
        for impl in impls:
            s = stats.get((impl, op, n, t), {})
            one = stats.get((impl, op, n, 1), {})
            if "median" in s and t > 1 and "median" in one and \
                    s["median"]["elem/ns"] < 0.1 * one["median"]["elem/ns"]:
                # A pool that waits for every worker (OpenMP, pthreadpool) stalls for a time slice
                # when the machine is busy: shown with *, left out of the best peer.
                row += f"{s['median']['elem/ns']:>9.3f}*"
            elif "median" in s:
                values[impl] = s["median"]["elem/ns"]
                row += f"{values[impl]:>10.3f}"
            else:
                row += f"{'-':>10}"
        m = stats.get(("memcpy", role_of(op), n, t), {})
        row += f"{m['median']['elem/ns']:>9.3f}" if "median" in m else f"{'-':>9}"
        peers = {p: v for p, v in values.items() if p in PEERS}
        if peers and "actforge" in values:
            best = max(peers, key=peers.get)
            row += f"  {values['actforge'] / peers[best]:.2f} ({best})"
        print(row)

    mlir = [k for k in ours if k[0] == "mlir"]
    if mlir:
        print()
        print("mlir (MLIR backend, serial) over actforge (Halide), 1 thread: median GB/s ratio; "
              "[slowest, fastest] mlir repetition and actforge's own spread over the actforge median")
        header = (f"{'kernel':<16}{'n':>10}{'actforge':>10}{'mlir':>8}  {'mlir/actforge':>13} "
                  f"{'[min , max ]':<14}{'actforge spread':>16}")
        print(header)
        print("-" * len(header))
        for _, op, n, t in mlir:
            s, h = stats[("mlir", op, n, t)], stats.get(("actforge", op, n, t), {})
            row = f"{op:<16}{n:>10}"
            if "median" not in s or "median" not in h:
                print(row + "  " + s.get("error", h.get("error", "no result")))
                continue
            base = h["median"]["GB/s"]
            row += (f"{base:>10.2f}{s['median']['GB/s']:>8.2f}  {s['median']['GB/s'] / base:>13.2f} "
                    f"[{s['min']['GB/s'] / base:.2f}, {s['max']['GB/s'] / base:.2f}]  "
                    f"[{h['min']['GB/s'] / base:.2f}, {h['max']['GB/s'] / base:.2f}]")
            print(row)


if __name__ == "__main__":
    main()
