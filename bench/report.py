#!/usr/bin/env python3
"""Tables (and Markdown, SVG) from an actforge_bench JSON file (Google Benchmark's --benchmark_out).

Table 1, ours against the bar: for every kernel, its median GB/s over the repetitions divided
by the median GB/s of memcpy of the same bytes, on the same threads, in the same run; the spread
is the kernel's slowest and fastest repetition over that same memcpy median, and memcpy's own
spread is shown beside it. '/copy' divides by the copy loop with ordinary stores instead (no
non-temporal stores: what a kernel with ordinary stores can reach). Table 2: median
elements/ns of every implementation, and ours over the best peer. Ours are 'actforge' (Halide)
and 'mlir' (the MLIR backend, serial: 1 thread only); the best peer is the best of PEERS ('loop',
the plain C++ loop, is shown but is no peer). Table 3: mlir over actforge per kernel at 1 thread,
with mlir's [slowest, fastest] repetition over the actforge median.

With --accuracy ACC.json (actforge_peer_accuracy's output) it also prints the accuracy tables:
max ULP of every implementation against the long-double reference, and the outputs at NaN, ±inf
and ±FLT_MAX (and the derivatives at kinks) that differ from ACTIVATIONS.md. --md OUT.md writes
all of it as Markdown; --svg OUT.svg draws elements/ns per activation at n = 16 Ki, 1 thread
(a forward and a backward panel), ours beside each peer, memcpy as the roof. No dependency beyond
the Python standard library.

Usage: report.py RESULTS.json [--accuracy ACC.json] [--md OUT.md] [--svg OUT.svg]
"""
import argparse
import json
import math
from collections import defaultdict
from xml.sax.saxutils import escape

OURS = ["actforge", "mlir"]
BASELINES = ["loop"]  # the plain C++ loop: shown beside the peers, never the best peer
PEERS = ["onednn", "xnnpack", "sleef", "eigen", "torch"]
SPECIALS = ["nan", "+inf", "-inf", "+max", "-max"]


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


def median(stats, impl, op, n, t, counter="elem/ns"):
    s = stats.get((impl, op, n, t), {})
    return s["median"][counter] if "median" in s else None


def stalled(stats, impl, op, n, t):
    """An all-threads value below a tenth of the same implementation's 1-thread value: a pool
    that waits for every worker (OpenMP, pthreadpool) stalled for a time slice on a busy machine."""
    v, one = median(stats, impl, op, n, t), median(stats, impl, op, n, 1)
    return t > 1 and v is not None and one is not None and v < 0.1 * one


def best_peer(stats, op, n, t):
    """(name, elements/ns) of the fastest peer that did not stall, or (None, None)."""
    peers = {p: median(stats, p, op, n, t) for p in PEERS}
    peers = {p: v for p, v in peers.items() if v is not None and not stalled(stats, p, op, n, t)}
    if not peers:
        return None, None
    best = max(peers, key=peers.get)
    return best, peers[best]


def implementations(stats):
    return [i for i in OURS + BASELINES + PEERS if any(k[0] == i for k in stats)]


def kernels(stats):
    """(op, n, threads) of every actforge case, in the order of the run."""
    return [(op, n, t) for impl, op, n, t in stats if impl == "actforge"]


def header_lines(context):
    lines = [f"# {context.get('date', '')}  host {context.get('host_name', '?')}  "
             f"cpu {context.get('cpu_model', '?')}  {context.get('num_cpus', '?')} CPUs  "
             f"threads 'all' = {context.get('actforge_threads', '?')}"]
    for k, v in sorted(context.items()):
        if k.startswith("impl:"):
            lines.append(f"#   {k[5:]}: {v}")
    return lines


def table_memcpy(stats):
    ours = [k for k in stats if k[0] in OURS]  # in the order of the run
    lines = ["Ours against memcpy of the same bytes (median GB/s ratio; [slowest, fastest] "
             "repetition)"]
    header = (f"{'impl':<9}{'kernel':<16}{'n':>10}{'thr':>4}{'elem/ns':>9}{'GB/s':>8}  "
              f"{'/memcpy':>7} {'[min , max ]':<14}{'memcpy GB/s':>12} {'spread':>14}{'/copy':>7}")
    lines += [header, "-" * len(header)]
    for key in ours:
        impl, op, n, t = key
        s = stats[key]
        row = f"{impl:<9}{op:<16}{n:>10}{t:>4}"
        if "median" not in s:
            lines.append(row + "  " + s.get("error", "no result"))
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
        lines.append(row)
    return lines


def table_all(stats):
    impls = implementations(stats)
    lines = ["Median elements/ns of every implementation (best peer in the last column; * below a "
             "tenth of its 1-thread speed: a stalled thread pool, not counted)"]
    header = f"{'kernel':<16}{'n':>10}{'thr':>4}" + "".join(f"{i:>10}" for i in impls)
    header += f"{'memcpy':>9}  {'ours/best peer':<18}"
    lines += [header, "-" * len(header)]
    for op, n, t in kernels(stats):
        row = f"{op:<16}{n:>10}{t:>4}"
        for impl in impls:
            v = median(stats, impl, op, n, t)
            if v is None:
                row += f"{'-':>10}"
            elif stalled(stats, impl, op, n, t):
                row += f"{v:>9.3f}*"
            else:
                row += f"{v:>10.3f}"
        m = median(stats, "memcpy", role_of(op), n, t)
        row += f"{m:>9.3f}" if m is not None else f"{'-':>9}"
        best, value = best_peer(stats, op, n, t)
        ours = median(stats, "actforge", op, n, t)
        if best and ours is not None:
            row += f"  {ours / value:.2f} ({best})"
        lines.append(row)
    return lines


def table_mlir(stats):
    mlir = [k for k in stats if k[0] == "mlir"]
    if not mlir:
        return []
    lines = ["mlir (MLIR backend, serial) over actforge (Halide), 1 thread: median GB/s ratio; "
             "[slowest, fastest] mlir repetition and actforge's own spread over the actforge median"]
    header = (f"{'kernel':<16}{'n':>10}{'actforge':>10}{'mlir':>8}  {'mlir/actforge':>13} "
              f"{'[min , max ]':<14}{'actforge spread':>16}")
    lines += [header, "-" * len(header)]
    for _, op, n, t in mlir:
        s, h = stats[("mlir", op, n, t)], stats.get(("actforge", op, n, t), {})
        row = f"{op:<16}{n:>10}"
        if "median" not in s or "median" not in h:
            lines.append(row + "  " + s.get("error", h.get("error", "no result")))
            continue
        base = h["median"]["GB/s"]
        row += (f"{base:>10.2f}{s['median']['GB/s']:>8.2f}  {s['median']['GB/s'] / base:>13.2f} "
                f"[{s['min']['GB/s'] / base:.2f}, {s['max']['GB/s'] / base:.2f}]  "
                f"[{h['min']['GB/s'] / base:.2f}, {h['max']['GB/s'] / base:.2f}]")
        lines.append(row)
    return lines


# --- accuracy (actforge_peer_accuracy's JSON) -------------------------------------------------

def load_accuracy(path):
    with open(path) as f:
        return json.load(f)


def accuracy_rows(acc):
    """[(kernel 'gelu_bwd', {impl: result})] in the order of the file."""
    rows, index = [], {}
    for r in acc["results"]:
        kernel = f"{r['activation']}_{r['role']}"
        if kernel not in index:
            index[kernel] = len(rows)
            rows.append((kernel, {}))
        rows[index[kernel]][1][r["impl"]] = r
    return rows


def accuracy_impls(acc):
    return list(acc["implementations"])


def number(v):
    return v if isinstance(v, str) else f"{v:.3g}" if v < 1e4 else f"{v:.1e}"


def ulp_cell(r, field="bulk_ulp"):
    """The figure `field` of one result; '!' where the case has points beyond ACTIVATIONS.md's
    bound (anywhere in the sample)."""
    if r is None:
        return "-"
    if "error" in r:
        return "error"
    return number(r[field]) + ("!" if r["beyond"] and field == "bulk_ulp" else "")


def special_cell(r):
    """'ok', or what differs: '-inf→nan', and backward derivatives at kinks off the convention."""
    if r is None:
        return "-"
    if "error" in r:
        return "error"
    wrong = [f"{name}→{r['specials'][name]['got']}" for name in SPECIALS
             if not r["specials"][name]["ok"]]
    for k in r.get("kinks", []):
        if float(k["got"]) != float(k["pinned"]):
            wrong.append(f"f'({k['x']:g})={k['got']}")
    return ", ".join(wrong) if wrong else "ok"


ACCURACY_NOTES = {
    "bulk": "bulk: max ULP where x is normal (or 0) and |exact| >= 2^-20; '!': the case has "
            "points beyond ACTIVATIONS.md's bound ({f:g} ULP forward, {b:g} ULP or 2^-24 "
            "absolute backward)",
    "tail": "tails: the other points (results below 2^-20 or subnormal, subnormal inputs): "
            "forward max ULP, backward max |error| in units of 2^-24 (the bound is 1)",
}


def table_accuracy(acc):
    impls = accuracy_impls(acc)
    s = acc["sample"]
    lines = [f"Accuracy against the long-double reference over {s['points']} points "
             f"({s['description']})"]
    for field, note in (("bulk_ulp", "bulk"), ("tail", "tail")):
        lines += ["", ACCURACY_NOTES[note].format(f=s["forward_bound_ulp"],
                                                  b=s["backward_bound_ulp"])]
        header = f"{'kernel':<16}" + "".join(f"{i:>10}" for i in impls)
        lines += [header, "-" * len(header)]
        for kernel, by_impl in accuracy_rows(acc):
            lines.append(f"{kernel:<16}" + "".join(f"{ulp_cell(by_impl.get(i), field):>10}"
                                                   for i in impls))
    lines += ["", "NaN, ±inf, ±FLT_MAX (and derivatives at the kinks) where they differ from "
              "ACTIVATIONS.md (NaN → NaN, ±inf → the limit)"]
    for kernel, by_impl in accuracy_rows(acc):
        wrong = [f"{i}: {special_cell(by_impl[i])}" for i in impls
                 if i in by_impl and special_cell(by_impl[i]) != "ok"]
        lines.append(f"{kernel:<16}" + ("; ".join(wrong) if wrong else "all ok"))
    return lines


# --- Markdown -----------------------------------------------------------------------------------

def fmt(v):
    return "–" if v is None else f"{v:.3g}" if v < 100 else f"{v:.0f}"


def markdown(context, stats, acc):
    impls = implementations(stats)
    out = [f"# actforge_bench results, {context.get('date', '')[:10]}", "",
           f"Host `{context.get('host_name', '?')}`, {context.get('cpu_model', '?')}, "
           f"{context.get('num_cpus', '?')} CPUs (all threads = {context.get('actforge_threads', '?')}). "
           "Medians over the repetitions; f32; forward `y = f(x)`, backward `dx = dy·f'(x)`.", ""]
    for k, v in sorted(context.items()):
        if k.startswith("impl:"):
            out.append(f"- `{k[5:]}`: {v}")
    sizes = sorted({n for _, n, _ in kernels(stats)})
    threads = sorted({t for _, _, t in kernels(stats)})
    small, large = (sizes[0], sizes[-1]) if sizes else (None, None)

    out += ["", "## Summary", "",
            f"Ours (`actforge`) ÷ the best peer at n = {small}, 1 thread (in cache), and ÷ memcpy "
            f"of the same bytes at n = {large}, 1 thread (out of cache; the issue's bar is ≥ 0.9).",
            "", "| activation | fwd ÷ best peer | bwd ÷ best peer | fwd ÷ memcpy | bwd ÷ memcpy |",
            "|---|---|---|---|---|"]
    activations = []
    for op, _, _ in kernels(stats):
        a = op.rsplit("_", 1)[0]
        if a not in activations:
            activations.append(a)
    for a in activations:
        cells = []
        for role in ("fwd", "bwd"):
            best, value = best_peer(stats, f"{a}_{role}", small, 1)
            ours = median(stats, "actforge", f"{a}_{role}", small, 1)
            cells.append(f"{ours / value:.2f} ({best})" if best and ours is not None else "–")
        for role in ("fwd", "bwd"):
            ours = median(stats, "actforge", f"{a}_{role}", large, 1, "GB/s")
            m = median(stats, "memcpy", role, large, 1, "GB/s")
            cells.append(f"{ours / m:.2f}" if ours is not None and m else "–")
        out.append(f"| {a} | " + " | ".join(cells) + " |")

    for n in sizes:
        for t in threads:
            out += ["", f"## Elements/ns, n = {n}, {t} thread{'s' if t > 1 else ''}", "",
                    "| kernel | " + " | ".join(impls) + " | memcpy | ours ÷ best peer | ours ÷ memcpy |",
                    "|---|" + "---|" * (len(impls) + 3)]
            for op, kn, kt in kernels(stats):
                if (kn, kt) != (n, t):
                    continue
                cells = []
                for impl in impls:
                    v = median(stats, impl, op, n, t)
                    cells.append(fmt(v) + ("\\*" if stalled(stats, impl, op, n, t) else ""))
                m = median(stats, "memcpy", role_of(op), n, t)
                best, value = best_peer(stats, op, n, t)
                ours = median(stats, "actforge", op, n, t)
                ratio = f"{ours / value:.2f} ({best})" if best and ours is not None else "–"
                roof = f"{ours / m:.2f}" if ours is not None and m else "–"
                out.append(f"| {op} | " + " | ".join(cells) + f" | {fmt(m)} | {ratio} | {roof} |")
            out.append("")
            out.append("\\* an all-threads value below a tenth of the 1-thread one: a pool that "
                       "waits for every worker stalled on the busy machine; not counted.")

    if acc:
        s = acc["sample"]
        aimpls = accuracy_impls(acc)
        out += ["", "## Accuracy", "",
                f"`actforge_peer_accuracy`: f32 results against the long-double reference of "
                f"the check library (the one `actforge check` measures ours with), over "
                f"{s['points']} points ({s['description']}); every activation against the "
                "same bound, piecewise-linear ones included. `-`: not offered."]
        for field, title, note in (
                ("bulk_ulp", "Bulk: max ULP", "Where x is normal (or 0) and the exact value is at "
                 "least 2⁻²⁰. `!`: the case has points beyond ACTIVATIONS.md's bound anywhere in "
                 f"the sample ({s['forward_bound_ulp']:g} ULP forward; "
                 f"{s['backward_bound_ulp']:g} ULP, or 2⁻²⁴ absolute below 2⁻²⁰, backward)."),
                ("tail", "Tails", "The other points: results below 2⁻²⁰ or subnormal, subnormal "
                 "inputs (where `1 + erf(x)` cancels and flushing to zero shows). Forward: max "
                 "ULP; backward: max absolute error in units of 2⁻²⁴ (ACTIVATIONS.md's bound is "
                 "1).")):
            out += ["", f"### {title}", "", note, "",
                    "| kernel | " + " | ".join(aimpls) + " |", "|---|" + "---|" * len(aimpls)]
            for kernel, by_impl in accuracy_rows(acc):
                out.append(f"| {kernel} | " + " | ".join(ulp_cell(by_impl.get(i), field)
                                                        for i in aimpls) + " |")
        out += ["", "### NaN, infinities, FLT_MAX and kinks", "",
                "Outputs (dy = 1) that differ from ACTIVATIONS.md: NaN in → NaN out, ±inf → the "
                "limit, ±FLT_MAX within the bound, and for backward the pinned derivative at each "
                "kink. `ok`: all as specified.", "",
                "| kernel | " + " | ".join(aimpls) + " |", "|---|" + "---|" * len(aimpls)]
        for kernel, by_impl in accuracy_rows(acc):
            out.append(f"| {kernel} | " + " | ".join(special_cell(by_impl.get(i))
                                                    for i in aimpls) + " |")
    return "\n".join(out) + "\n"


# --- SVG ----------------------------------------------------------------------------------------

COLOURS = {"actforge": "#d62728", "mlir": "#ff9896", "loop": "#7f7f7f", "onednn": "#1f77b4",
           "xnnpack": "#2ca02c", "sleef": "#9467bd", "eigen": "#8c564b", "torch": "#e377c2"}


def nice_ticks(top):
    """Tick values 0, step, ... up to at least top, step 1, 2 or 5 times a power of ten."""
    raw = top / 5 if top > 0 else 1
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(int(math.ceil(top / step)) + 1)]


def svg(context, stats, n=16384, threads=1):
    impls = [i for i in implementations(stats)
             if any(median(stats, i, op, n, threads) is not None for op, _, _ in kernels(stats))]
    activations = []
    for op, kn, kt in kernels(stats):
        a = op.rsplit("_", 1)[0]
        if (kn, kt) == (n, threads) and a not in activations:
            activations.append(a)
    width, panel_h, left, right, top_margin = 1120, 300, 70, 20, 60
    plot_w = width - left - right
    height = top_margin + 2 * (panel_h + 70) + 40
    group = plot_w / max(1, len(activations))
    bar = group * 0.8 / max(1, len(impls))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="16">'
             f'{escape(f"Elements/ns per activation, n = {n}, {threads} thread, f32")}</text>',
             f'<text x="{width / 2}" y="40" text-anchor="middle" fill="#555">'
             f'{escape(context.get("cpu_model", context.get("host_name", "")) + ", " + context.get("date", "")[:10] + "; memcpy of the same bytes drawn as the roof (dashed)")}</text>']
    # Legend.
    x = left
    for impl in impls:
        parts.append(f'<rect x="{x}" y="{height - 28}" width="12" height="12" '
                     f'fill="{COLOURS.get(impl, "#bcbd22")}"/>')
        parts.append(f'<text x="{x + 16}" y="{height - 18}">{escape(impl)}</text>')
        x += 24 + 8 * len(impl) + 12
    parts.append(f'<line x1="{x}" y1="{height - 22}" x2="{x + 24}" y2="{height - 22}" '
                 f'stroke="black" stroke-dasharray="6,3" stroke-width="2"/>')
    parts.append(f'<text x="{x + 30}" y="{height - 18}">memcpy (roof)</text>')

    for p, role in enumerate(("fwd", "bwd")):
        y0 = top_margin + p * (panel_h + 70)  # top of the plot area
        base = y0 + panel_h
        values = {(i, a): median(stats, i, f"{a}_{role}", n, threads)
                  for i in impls for a in activations}
        roof = median(stats, "memcpy", role, n, threads)
        top = max([v for v in values.values() if v is not None] + [roof or 0, 1e-9])
        ticks = nice_ticks(top * 1.05)
        scale = panel_h / ticks[-1]
        parts.append(f'<text x="{left}" y="{y0 - 8}" font-size="14">'
                     f'{"Forward y = f(x)" if role == "fwd" else "Backward dx = dy·f′(x)"}</text>')
        for tick in ticks:
            y = base - tick * scale
            parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                         f'stroke="#e5e5e5"/>')
            parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
        parts.append(f'<line x1="{left}" y1="{y0}" x2="{left}" y2="{base}" stroke="black"/>')
        parts.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" '
                     f'stroke="black"/>')
        parts.append(f'<text x="18" y="{y0 + panel_h / 2}" text-anchor="middle" '
                     f'transform="rotate(-90 18 {y0 + panel_h / 2})">elements/ns</text>')
        for g, a in enumerate(activations):
            gx = left + g * group + group * 0.1
            for b, impl in enumerate(impls):
                v = values[(impl, a)]
                if v is None:
                    continue
                h = v * scale
                parts.append(f'<rect x="{gx + b * bar:.1f}" y="{base - h:.1f}" '
                             f'width="{bar * 0.9:.1f}" height="{h:.1f}" '
                             f'fill="{COLOURS.get(impl, "#bcbd22")}">'
                             f'<title>{escape(f"{impl} {a}_{role}: {v:.3f} elements/ns")}</title>'
                             f'</rect>')
            parts.append(f'<text x="{left + (g + 0.5) * group:.1f}" y="{base + 16}" '
                         f'text-anchor="middle">{escape(a)}</text>')
        if roof is not None:
            y = base - roof * scale
            parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                         f'stroke="black" stroke-dasharray="6,3" stroke-width="2"/>')
            parts.append(f'<text x="{width - right - 4}" y="{y - 5:.1f}" text-anchor="end">'
                         f'memcpy {roof:.2f}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="actforge_bench's JSON (--benchmark_out)")
    parser.add_argument("--accuracy", help="actforge_peer_accuracy's JSON (--out)")
    parser.add_argument("--md", help="write the Markdown report here")
    parser.add_argument("--svg", help="write the SVG chart here")
    args = parser.parse_args()
    context, stats = load(args.results)
    acc = load_accuracy(args.accuracy) if args.accuracy else None

    blocks = [header_lines(context), table_memcpy(stats), table_all(stats), table_mlir(stats)]
    if acc:
        blocks.append(table_accuracy(acc))
    print("\n\n".join("\n".join(b) for b in blocks if b))
    if args.md:
        with open(args.md, "w") as f:
            f.write(markdown(context, stats, acc))
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg(context, stats))


if __name__ == "__main__":
    main()
