"""Two checkouts' log parsers side by side in one process, on the small logs (madMAx, BladeBit, GPU plotters).

Method: bench_parser.py's (a cold parse of each whole log as logcache runs it: decode from a memoryview,
feed_text, the tail line; `gc.collect()` before each timed call, the collector off during it, CPU time),
but both checkouts' code is imported into the same process (the second import under the same package name
after the first one's modules are set aside), and each log is parsed by A and B next to each other, in
alternating order. On a loaded machine the other sessions' load then hits both sides alike: the ratio
per round is the figure to read. Both sides must give the same plots on every log (checked first).

--plotman-heap: import plotman 0.5.3's parsers first (run with bench/results/venv-plotman/bin/python), so that
each gc.collect() walks the heap it walks in bench_parser.py: the caches are as cold there as here (without it
the heap is smaller and a call ~1.7x cheaper).

Usage: python bench/bench_parser_small.py --a DIR --b DIR [--plotters madmax,bladebit] [--rounds 61] [--plotman-heap]
(DIR: a checkout's collections/ dir, e.g. of a `git archive` of the commit to compare with.)
"""

import argparse
import gc
import importlib
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = "ansible_collections.plotfleet.chia.plugins.module_utils.logs.model"


def load(collections, plotters):
    """The model module of that checkout, with its parsers imported (then set aside under no name)."""
    for name in [name for name in sys.modules if name.startswith("ansible_collections")]:
        del sys.modules[name]
    sys.path.insert(0, collections)
    try:
        model = importlib.import_module(MODEL)
        for plotter in plotters:
            model.parser_for(plotter)
    finally:
        sys.path.remove(collections)
    return model


def fixture_logs(model, plotters):
    paths = sorted((REPO / "tests" / "fixtures" / "logs").glob("*.log"))
    paths += sorted((REPO / "tests" / "fixtures" / "shared").glob("*/*.log"))
    logs = []
    for path in paths:
        data = path.read_bytes()
        plotter = model.detect_plotter(data[:16384])
        if plotter in plotters:
            logs.append((path.name, plotter, data))
    return logs


def parse(model, plotter, data):
    """A cold parse of one whole log, as logcache runs it on a chunk (bench_parser.plotfleet_parse)."""
    parser = model.parser_for(plotter)
    text = str(memoryview(data)[:data.rfind(b"\n")], "utf-8", "replace")
    parser.feed_text(text)
    model.last_nonblank_line(text)
    return parser.plots


def timed(function, *args):
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        function(*args)
        return time.process_time() - start
    finally:
        gc.enable()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="collections dir of side A (e.g. the code before)")
    ap.add_argument("--b", default=str(REPO / "collections"), help="collections dir of side B (default: this checkout)")
    ap.add_argument("--plotters", default="madmax,bladebit")
    ap.add_argument("--rounds", type=int, default=61)
    ap.add_argument("--plotman-heap", action="store_true", help="import plotman's parsers first (bench_parser's heap)")
    args = ap.parse_args()
    if args.plotman_heap:
        import plotman.plotters.bladebit  # noqa: F401
        import plotman.plotters.chianetwork  # noqa: F401
        import plotman.plotters.madmax  # noqa: F401
    plotters = args.plotters.split(",")
    sides = {"A": load(args.a, plotters), "B": load(args.b, plotters)}
    logs = fixture_logs(sides["B"], plotters)
    for name, plotter, data in logs:
        if json.dumps(parse(sides["A"], plotter, data)) != json.dumps(parse(sides["B"], plotter, data)):
            print("different plots on %s" % name)
            return 1
    times = {}   # (side, plotter) -> [seconds per round]
    for rnd in range(args.rounds + 1):
        spent = {}
        for i, (_name, plotter, data) in enumerate(logs):
            for side in ("A", "B") if (rnd + i) % 2 else ("B", "A"):
                key = (side, plotter)
                spent[key] = spent.get(key, 0.0) + timed(parse, sides[side], plotter, data)
        if rnd:   # round 0 is the warm-up
            for key, seconds in spent.items():
                times.setdefault(key, []).append(seconds)
    with open("/proc/loadavg") as handle:
        load_avg = " ".join(handle.read().split()[:3])
    print("A = %s\nB = %s\n%d rounds, load average after: %s" % (args.a, args.b, args.rounds, load_avg))
    print("%-14s %4s | %9s %9s | %6s %10s" % ("plotter", "logs", "A ms", "B ms", "A/B", "A/B/round"))
    for plotter in plotters:
        a, b = times[("A", plotter)], times[("B", plotter)]
        print("%-14s %4d | %9.3f %9.3f | %6.2f %10.2f" % (
            plotter, sum(1 for x in logs if x[1] == plotter), statistics.median(a) * 1e3, statistics.median(b) * 1e3,
            statistics.median(a) / statistics.median(b), statistics.median(x / y for x, y in zip(a, b))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
