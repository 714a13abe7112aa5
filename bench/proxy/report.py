"""Summarises bench/proxy/run.sh's rounds: the median requests/s, p50/p99
and CPU time per request per proxy and body size, the ratios against
Envoy, results.json, and an SVG bar chart (plain SVG, no plotting library
needed)."""
import argparse
import json
import statistics
from collections import defaultdict

PROXIES = ["piimask", "piimask-pass", "envoy", "envoy+lua", "envoy+wasm"]
LABELS = {"piimask": "piimask (masking)", "piimask-pass": "piimask (no masking)", "envoy": "Envoy (no masking)",
          "envoy+lua": "Envoy + Lua masking", "envoy+wasm": "Envoy + wasm masking"}
COLOURS = {"piimask": "#2b8a3e", "piimask-pass": "#8ce99a", "envoy": "#868e96", "envoy+lua": "#c92a2a",
           "envoy+wasm": "#e8590c"}
SIZES = ["1k", "64k", "users-1k", "users-64k"]
TITLES = {"1k": "1 KB orders", "64k": "64 KB orders", "users-1k": "1 KB user directory",
          "users-64k": "64 KB user directory"}


def summarise(rows):
    groups = defaultdict(list)
    for r in rows:
        groups[(r["size"], r["proxy"])].append(r)
    out = {}
    for (size, proxy), rs in groups.items():
        out.setdefault(size, {})[proxy] = {
            "rps": statistics.median(r["rps"] for r in rs),
            "p50_ms": statistics.median(r["p50_ms"] for r in rs),
            "p99_ms": statistics.median(r["p99_ms"] for r in rs),
            "cpu_us_per_request": statistics.median(r["cpu_us_per_request"] for r in rs),
            "non_200": sum(r["other"] for r in rs),
            "rounds": len(rs),
        }
    return out


def per_round(rows):
    """piimask's req/s, p99 and CPU per request over Envoy's in each round
    both ran (seconds apart, so the machine's moment is nearly the same)."""
    rounds = defaultdict(dict)
    for r in rows:
        rounds[(r["size"], r["round"])][r["proxy"]] = r
    out = defaultdict(list)
    for (size, _), by_proxy in sorted(rounds.items()):
        if {"piimask", "envoy"} <= by_proxy.keys():
            ours, theirs = by_proxy["piimask"], by_proxy["envoy"]
            out[size].append({
                "rps": ours["rps"] / theirs["rps"],
                "p99": ours["p99_ms"] / theirs["p99_ms"],
                "cpu_per_request": ours["cpu_us_per_request"] / theirs["cpu_us_per_request"],
            })
    return dict(out)


def svg(summary, note, machine):
    sizes = [s for s in SIZES if s in summary]
    width, height, top, bottom, left = 300 + 300 * len(sizes), 376, 76, 70, 70
    panel = (width - left - 20) / len(sizes)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
             'Requests per second through an mTLS proxy, one worker thread (higher is better)</text>',
             f'<text x="{width / 2}" y="40" text-anchor="middle" fill="#555">{note}</text>',
             f'<text x="{width / 2}" y="56" text-anchor="middle" fill="#555">{machine}</text>']
    for i, size in enumerate(sizes):
        data = summary[size]
        peak = max(d["rps"] for d in data.values()) * 1.2
        x0 = left + i * panel
        plot_h = height - top - bottom
        parts.append(f'<text x="{x0 + panel / 2}" y="{height - 20}" text-anchor="middle" font-weight="bold">'
                     f'{TITLES[size]}</text>')
        bar_w = panel / (len(PROXIES) + 1)
        for j, proxy in enumerate(p for p in PROXIES if p in data):
            d = data[proxy]
            h = plot_h * d["rps"] / peak
            x = x0 + bar_w * (j + 0.5)
            y = top + plot_h - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.8:.1f}" height="{h:.1f}" fill="{COLOURS[proxy]}"/>')
            parts.append(f'<text x="{x + bar_w * 0.4:.1f}" y="{y - 31:.1f}" text-anchor="middle">{d["rps"]:,.0f}/s</text>')
            parts.append(f'<text x="{x + bar_w * 0.4:.1f}" y="{y - 18:.1f}" text-anchor="middle" fill="#555">'
                         f'{d["cpu_us_per_request"]:,.0f} µs CPU</text>')
            parts.append(f'<text x="{x + bar_w * 0.4:.1f}" y="{y - 5:.1f}" text-anchor="middle" fill="#555">'
                         f'p99 {d["p99_ms"]:.1f} ms</text>')
        parts.append(f'<line x1="{x0}" y1="{top + plot_h}" x2="{x0 + panel - 10}" y2="{top + plot_h}" stroke="#333"/>')
    shown = [p for p in PROXIES if any(p in summary[size] for size in sizes)]
    for k, proxy in enumerate(shown):
        x = left + k * 180
        parts.append(f'<rect x="{x}" y="{height - 48}" width="12" height="12" fill="{COLOURS[proxy]}"/>')
        parts.append(f'<text x="{x + 18}" y="{height - 38}">{LABELS[proxy]}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rounds")
    ap.add_argument("json_out")
    ap.add_argument("svg_out")
    ap.add_argument("--note", default="")
    ap.add_argument("--machine", default="", help="the CPU and what shares it: the ratios depend on both")
    a = ap.parse_args()
    rows = [json.loads(line) for line in open(a.rounds) if line.strip()]
    summary = summarise(rows)
    print(f"\n{'body':9} {'proxy':20} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/req':>11} {'non-200':>8}")
    for size, data in summary.items():
        for proxy in PROXIES:
            if proxy in data:
                d = data[proxy]
                print(f"{size:9} {LABELS[proxy]:20} {d['rps']:10,.0f} {d['p50_ms']:8.2f} {d['p99_ms']:8.2f} "
                      f"{d['cpu_us_per_request']:11,.0f} {d['non_200']:8}")
    print()
    ratios = {}
    for size, data in summary.items():
        if {"piimask", "envoy"} <= data.keys():
            r = {
                "rps_vs_envoy": data["piimask"]["rps"] / data["envoy"]["rps"],
                "p99_vs_envoy": data["piimask"]["p99_ms"] / data["envoy"]["p99_ms"],
                "cpu_per_request_vs_envoy": data["piimask"]["cpu_us_per_request"] / data["envoy"]["cpu_us_per_request"],
            }
            line = (f"{size:9} piimask/Envoy req/s {r['rps_vs_envoy']:.2f}x, p99 {r['p99_vs_envoy']:.2f}x, "
                    f"CPU per request {r['cpu_per_request_vs_envoy']:.2f}x")
            if "envoy+lua" in data:
                r["rps_vs_envoy_lua"] = data["piimask"]["rps"] / data["envoy+lua"]["rps"]
                line += f"; piimask/Envoy+Lua req/s {r['rps_vs_envoy_lua']:.2f}x"
            if "envoy+wasm" in data:
                r["rps_vs_envoy_wasm"] = data["piimask"]["rps"] / data["envoy+wasm"]["rps"]
                line += f"; piimask/Envoy+wasm req/s {r['rps_vs_envoy_wasm']:.2f}x"
            if "piimask-pass" in data:
                # The proxy's own cost against Envoy's, and what masking adds.
                r["pass_cpu_per_request_vs_envoy"] = (data["piimask-pass"]["cpu_us_per_request"]
                                                      / data["envoy"]["cpu_us_per_request"])
                r["masking_cpu_us_per_request"] = (data["piimask"]["cpu_us_per_request"]
                                                   - data["piimask-pass"]["cpu_us_per_request"])
            ratios[size] = r
            print(line)
            if "masking_cpu_us_per_request" in r:
                print(f"{'':9} piimask without masking/Envoy CPU per request {r['pass_cpu_per_request_vs_envoy']:.2f}x; "
                      f"masking adds {r['masking_cpu_us_per_request']:,.0f} µs CPU per request")
    rounds = per_round(rows)
    for size, rs in rounds.items():
        n = len(rs)
        rps, p99, cpu = ([r[k] for r in rs] for k in ("rps", "p99", "cpu_per_request"))
        listed = " ".join(f"{x:.2f}" for x in rps)
        print(f"{size:9} round by round, piimask/Envoy: req/s {listed} (median {statistics.median(rps):.2f}, "
              f"ahead in {sum(x >= 1 for x in rps)} of {n}); p99 lower in {sum(x < 1 for x in p99)} of {n} "
              f"(median {statistics.median(p99):.2f}); CPU per request median {statistics.median(cpu):.2f}")
    json.dump({"note": a.note, "machine": a.machine, "summary": summary, "ratios": ratios, "per_round": rounds, "rounds": rows},
              open(a.json_out, "w"), indent=1)
    open(a.svg_out, "w").write(svg(summary, a.note, a.machine))
    print(f"\nwrote {a.json_out} and {a.svg_out}")
    failed = sum(d["non_200"] for data in summary.values() for d in data.values())
    if failed:
        raise SystemExit(f"{failed} responses were not 200: the figures above do not measure proxying")


if __name__ == "__main__":
    main()
