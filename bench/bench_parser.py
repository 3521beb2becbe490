"""Benchmark the log parsers against plotman 0.5.3's on the same real logs, and check their answers.

Method
- Logs: every fixture log (tests/fixtures/logs, tests/fixtures/shared = ../shared/fixtures) that
  plotman 0.5.3 has a parser for: chiapos (`chia plots create`, chiapos), madMAx, BladeBit.
- plotman: `plotman.plotters.<kind>.Plotter().update(chunk=<whole log bytes>)`, plotman's own
  incremental entry point (what `plotman status` runs on each log).
- plotfleet: what logcache does with each chunk of a log: decode (from a memoryview), `parser.feed_text(text)`,
  `model.last_nonblank_line(text)` (the tail), on a fresh parser (a cold parse of the whole log).
- One process (the bench venv's Python, which is the system Python), both parsers interleaved per log
  and round in alternating order, after a warm-up round; each figure is the median over the rounds
  of the CPU time (time.process_time: a loaded machine's waits do not count) for all logs of a plotter.
  Ratio = plotman's time / plotfleet's time; "ratio/round" = the median of the ratios of each round
  (both sides measured next to each other, so load changes between rounds cancel out).
- Three figures (--mode all, the default): "cold calls", each log a call of its own after gc.collect()
  (the collection walks the whole heap, so each call starts with cold caches: the latency of parsing one
  log now and then; each call pays a floor of ~40-80 us of first touches, which weighs most on the short
  logs); "calls", each log a call of its own with the collector off and no collection forced before it
  (the first method's figure: BENCHMARKS.md's first table); and "stream", a plotter's logs parsed one after
  the other in one timed loop with the collector as in production (what a cold plot_info gather does over a
  host's logs: the throughput of bulk parsing).
- Same answers: for each log, plotman's final phase, plot id, k, dirs, buckets, threads, buffer, phase
  and total times and final file are compared with plotfleet's last plot; differences are listed.
- plotman runs from a venv of its own (default bench/results/venv-plotman, made on first use from the
  system Python: `pip install --no-deps plotman==0.5.3` and its dependencies; PyYAML 6, as 5.4 does not
  build on Python 3.11, and plotman's parsers never import it). It is never imported by plotfleet.

- --collections DIR: time another checkout's code (e.g. the previous version, which had no feed_text:
  then its logcache loop, feed() per line, is timed).

Usage: python bench/bench_parser.py [--rounds 21] [--venv DIR] [--profile] [--collections DIR] [--no-collect]
       [--mode cold|calls|stream|both|all]
"""

import argparse
import cProfile
import gc
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = "/usr/bin/python3"
VENV = REPO / "bench" / "results" / "venv-plotman"
PLOTMAN_REQUIREMENTS = ["appdirs~=1.4", "attrs==21.2.0", "click~=7.1", "desert==2020.11.18", "marshmallow~=3.12",
                        "packaging~=20.9", "pendulum~=2.1", "psutil~=5.8", "pyyaml~=6.0", "texttable~=1.6",
                        "typing-extensions~=3.10"]
KINDS = {"chiapos": "chianetwork", "madmax": "madmax", "bladebit": "bladebit"}
# Where the answers differ on purpose (docs/scheduling.md): plotman never sees these plots end.
KNOWN = {
    "synthetic-madmax-n2-copy-overlap.log": "newer madMAx `Copy to X finished` wording, unknown to plotman 0.5.3",
    "plotman__bladebit2disk.plot.log": "bladebit diskplot, which plotman 0.5.3 does not read",
    "plotman__2021-07-11T16_52_48.637488+00_00.plot.log": "madMAx with -d = -2: renamed in place, no copy line",
}


def ensure_venv(venv):
    python = venv / "bin" / "python"
    if not python.exists():
        print("creating %s (plotman 0.5.3 for the comparison)" % venv, flush=True)
        subprocess.check_call([SYSTEM_PYTHON, "-m", "venv", str(venv)])
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.check_call(pip + ["--no-deps", "plotman==0.5.3"])
        subprocess.check_call(pip + PLOTMAN_REQUIREMENTS)
    return python


def fixture_logs(model):
    paths = sorted((REPO / "tests" / "fixtures" / "logs").glob("*.log"))
    paths += sorted((REPO / "tests" / "fixtures" / "shared").glob("*/*.log"))
    logs = []
    for path in paths:
        data = path.read_bytes()
        plotter = model.detect_plotter(data[:16384])
        if plotter in KINDS:
            logs.append((path.name, plotter, data))
    return logs


def plotfleet_parse(model, plotter, data):
    """A cold parse of one whole log, as logcache runs it on a chunk."""
    parser = model.parser_for(plotter)
    if not hasattr(model, "block_pieces"):   # code before block pieces: its logcache sliced, then decoded
        text = data[:data.rfind(b"\n")].decode("utf-8", "replace")
    else:
        text = str(memoryview(data)[:data.rfind(b"\n")], "utf-8", "replace")
    if not hasattr(parser, "feed_text"):   # code from before block parsing (--collections): its logcache loop
        tails = []
        for line in text.split("\n"):
            parser.feed(line)
            if line.strip():
                tails.append(line)   # as its loop kept the tail (one assignment a line)
        return parser.plots
    parser.feed_text(text)
    model.last_nonblank_line(text)
    return parser.plots


def plotman_parse(plotters, plotter, data):
    parser = plotters[plotter].Plotter()
    parser.update(chunk=data)
    return parser.info


def compare(info, plots):
    """Differences between plotman's info and plotfleet's last plot (field: plotman vs plotfleet)."""
    plot = plots[-1] if plots else {}
    common = info.common()
    phase = "%d:%d" % (common.phase.major, common.phase.minor) if common.phase.known else "?"
    theirs = {"step": phase, "id": common.plot_id or None, "k": common.plot_size or None,
              "tmp_dir": (common.tmpdir or "").rstrip("/") or None,
              "tmp2_dir": (common.tmp2dir or "").rstrip("/") or None,
              "buckets": common.buckets or None, "threads": common.threads or None,
              "buffer_mib": common.buffer or None, "total_seconds": common.total_time_raw or None,
              "plot_file": common.filename or None}
    for n in (1, 2, 3, 4):
        theirs["phase%d" % n] = getattr(common, "phase%d_duration_raw" % n) or None
    ours = dict((key, plot.get(key)) for key in theirs)
    for n in (1, 2, 3, 4):
        ours["phase%d" % n] = (plot.get("phase_seconds") or {}).get(str(n))
    if theirs["plot_file"] and "/" not in theirs["plot_file"]:   # BladeBit: plotman keeps the name only
        ours["plot_file"] = plot.get("plot_name")
    return dict((key, (theirs[key], ours[key])) for key in theirs
                if theirs[key] is not None and theirs[key] != ours[key])


COLLECT = True   # --no-collect: False


def timed(function, collect, *args):
    """Seconds of one call, with the garbage collector off (as timeit does) and, with `collect`, run before,
    so neither side pays for collecting the other's objects. The collection leaves the caches cold (and costs
    each call ~0.15 ms of start-up here, both sides: see BENCHMARKS.md)."""
    if collect:
        gc.collect()
    gc.disable()
    try:
        t0 = time.process_time()
        function(*args)
        return time.process_time() - t0
    finally:
        gc.enable()


def call_times(logs, plotters, model, rounds, collect=True):
    """(tool, plotter) -> [seconds per round]: each log in a call of its own (timed())."""
    times = {}
    for rnd in range(rounds + 1):
        per = {}
        for i, (_name, plotter, data) in enumerate(logs):
            order = ("plotman", "plotfleet") if (rnd + i) % 2 else ("plotfleet", "plotman")
            for tool in order:
                if tool == "plotman":
                    spent = timed(plotman_parse, collect, plotters, plotter, data)
                else:
                    spent = timed(plotfleet_parse, collect, model, plotter, data)
                per[(tool, plotter)] = per.get((tool, plotter), 0.0) + spent
        if rnd:   # round 0 is the warm-up
            for key, spent in per.items():
                times.setdefault(key, []).append(spent)
    return times


def stream_times(logs, plotters, model, rounds):
    """(tool, plotter) -> [seconds per round]: all logs of a plotter parsed one after the other in one timed
    loop, as a cold plot_info gather reads a host's logs: no collection forced before a call, the collector on
    (each side pays the collections its own allocations trigger). The sides alternate which goes first."""
    by_plotter = {}
    for _name, plotter, data in logs:
        by_plotter.setdefault(plotter, []).append(data)
    times = {}
    for rnd in range(rounds + 1):
        for i, (plotter, datas) in enumerate(sorted(by_plotter.items())):
            order = ("plotman", "plotfleet") if (rnd + i) % 2 else ("plotfleet", "plotman")
            for tool in order:
                t0 = time.process_time()
                if tool == "plotman":
                    for data in datas:
                        plotman_parse(plotters, plotter, data)
                else:
                    for data in datas:
                        plotfleet_parse(model, plotter, data)
                spent = time.process_time() - t0
                if rnd:   # round 0 is the warm-up
                    times.setdefault((tool, plotter), []).append(spent)
    return times


def print_table(title, logs, times, rounds):
    print(title)
    print("%-9s %5s %10s | %12s %10s | %12s %10s | %6s %11s" % (
        "plotter", "logs", "bytes", "plotman ms", "MB/s", "plotfleet ms", "MB/s", "ratio", "ratio/round"))
    total = {"plotman": 0.0, "plotfleet": 0.0}
    for plotter in KINDS:
        size = sum(len(d) for _n, p, d in logs if p == plotter)
        a = statistics.median(times[("plotman", plotter)])
        b = statistics.median(times[("plotfleet", plotter)])
        total["plotman"] += a
        total["plotfleet"] += b
        per_round = statistics.median(x / y for x, y in zip(times[("plotman", plotter)], times[("plotfleet", plotter)]))
        print("%-9s %5d %10d | %12.3f %10.1f | %12.3f %10.1f | %6.2f %11.2f" % (
            plotter, sum(1 for _n, p, _d in logs if p == plotter), size, a * 1e3, size / a / 1e6,
            b * 1e3, size / b / 1e6, a / b, per_round))
    size = sum(len(d) for _n, _p, d in logs)
    sums = [(sum(times[("plotman", p)][i] for p in KINDS), sum(times[("plotfleet", p)][i] for p in KINDS))
            for i in range(rounds)]
    print("%-9s %5d %10d | %12.3f %10.1f | %12.3f %10.1f | %6.2f %11.2f" % (
        "total", len(logs), size, total["plotman"] * 1e3, size / total["plotman"] / 1e6,
        total["plotfleet"] * 1e3, size / total["plotfleet"] / 1e6, total["plotman"] / total["plotfleet"],
        statistics.median(x / y for x, y in sums)))
    print("(medians of %d rounds; ratio = plotman time / plotfleet time; load average after: %s)"
          % (rounds, machine().rsplit("load average ", 1)[1]))


def machine():
    model = "?"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as handle:
        load = " ".join(handle.read().split()[:3])
    return "nproc %d, CPU %s, Python %s, load average %s" % (os.cpu_count(), model, sys.version.split()[0], load)


def run(args):
    sys.path.insert(0, args.collections)
    import plotman.plotters.bladebit
    import plotman.plotters.chianetwork
    import plotman.plotters.madmax

    from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model
    plotters = {"chiapos": plotman.plotters.chianetwork, "madmax": plotman.plotters.madmax,
                "bladebit": plotman.plotters.bladebit}
    logs = fixture_logs(model)
    print("machine: %s" % machine())
    print("code: %s%s" % (args.collections, "" if COLLECT else " (no gc.collect before each call)"))
    print("logs: %d (%s)" % (len(logs), ", ".join("%s %d" % (k, sum(1 for x in logs if x[1] == k)) for k in KINDS)))
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.rounds):
            for _name, plotter, data in logs:
                plotfleet_parse(model, plotter, data)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        return 0
    differ = 0
    for name, plotter, data in logs:
        diff = compare(plotman_parse(plotters, plotter, data), plotfleet_parse(model, plotter, data))
        if diff:
            known = KNOWN.get(name) if set(diff) == {"step"} else None
            differ += not known
            print("answers differ on %s: %s%s" % (name, ", ".join("%s plotman %r plotfleet %r" % (k, a, b)
                                                                 for k, (a, b) in sorted(diff.items())),
                                                   " (known: %s)" % known if known else ""))
    print("same answers on %d of %d logs, %d differences not known" % (
        sum(1 for n, p, d in logs if not compare(plotman_parse(plotters, p, d), plotfleet_parse(model, p, d))),
        len(logs), differ))
    rounds = args.rounds
    if args.mode in ("cold", "both", "all") and COLLECT:
        print_table("cold calls: one log a call, gc.collect() before each (caches cold; both sides pay it)",
                    logs, call_times(logs, plotters, model, rounds), rounds)
    if args.mode in ("calls", "all") or (args.mode == "cold" and not COLLECT):
        print_table("calls: one log a call, the collector off during each, no collection forced before it",
                    logs, call_times(logs, plotters, model, rounds, collect=False), rounds)
    if args.mode in ("stream", "both", "all"):
        print_table("stream: each plotter's logs back to back in one timed loop, the collector as in production",
                    logs, stream_times(logs, plotters, model, rounds), rounds)
    return 1 if differ else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--venv", default=str(VENV), help="venv with plotman 0.5.3 (created if missing)")
    ap.add_argument("--profile", action="store_true", help="cProfile plotfleet's side instead of timing")
    ap.add_argument("--no-collect", action="store_true", help="--mode cold without gc.collect(): --mode calls")
    ap.add_argument("--mode", choices=("cold", "calls", "stream", "both", "all"), default="all",
                    help="cold: one log a call after gc.collect(); calls: one log a call, no collection forced; "
                         "stream: a plotter's logs back to back; both: cold + stream; all (default): the three")
    ap.add_argument("--collections", default=str(REPO / "collections"), help="collections dir whose code is timed")
    args, _unknown = ap.parse_known_args()
    try:
        import plotman  # noqa: F401
    except ImportError:
        python = ensure_venv(Path(args.venv))
        return subprocess.call([str(python), str(Path(__file__).resolve())] + sys.argv[1:])
    global COLLECT
    COLLECT = not args.no_collect
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
