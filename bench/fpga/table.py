#!/usr/bin/env python3
"""Markdown table of the fpga kernels' reports: table.py DIR (the --out of `actforge gen
--target fpga`), activations in the order of `actforge list`."""
import json
import os
import sys


def ops(o):
    return "/".join(str(o[k]) for k in ("multipliers", "adders", "comparators", "selects", "table_reads"))


def tables(rep):
    if not rep["tables"]:
        return "–"
    return ", ".join(f"{t['entries']}×{t['entry_bits']} [{t['lo']:g}, {t['hi']:g}]" for t in rep["tables"])


def error(rep):
    e = rep["error"]
    return f"{e['achieved']:.3g}" if "achieved" in e else f"{e['achieved_ulp']:.3g} ulp"


def main():
    d = sys.argv[1]
    order = sys.argv[2].split(",") if len(sys.argv) > 2 else None
    names = sorted({f[: -len("_fwd.report.json")] for f in os.listdir(d) if f.endswith("_fwd.report.json")})
    if order:
        names.sort(key=lambda n: order.index(n) if n in order else len(order))
    print("| activation | fwd error | fwd tables (entries×bits [range]) | fwd table bits | fwd ops "
          "| bwd error | bwd tables | bwd table bits | bwd ops |")
    print("|---|---|---|---|---|---|---|---|---|")
    total = [0, 0]
    for n in names:
        f = json.load(open(os.path.join(d, n + "_fwd.report.json")))
        b = json.load(open(os.path.join(d, n + "_bwd.report.json")))
        total[0] += f["table_bits"]
        total[1] += b["table_bits"]
        print(f"| {n} | {error(f)} | {tables(f)} | {f['table_bits']} | {ops(f['ops_per_element'])} "
              f"| {error(b)} | {tables(b)} | {b['table_bits']} | {ops(b['ops_per_element'])} |")
    print(f"| all | | | {total[0]} | | | | {total[1]} | |")


if __name__ == "__main__":
    main()
