"""Benchmark what replot's status costs plot_info on a storage host in every pass (issue 13).

Method
- D storage dirs (default 4), each with 5 real v1 k18 plots (chiapos, OG) and one v2 k18 plot (chia_rs),
  made once by tests/replot_lib.py; a journal of L lines (default 20,000: 10,000 deletions, a farm's
  worth once it is replotted) spread over the dirs and the last 30 days.
- Timed, each the median of 7 calls, the rounds interleaved: plot_info.replot_room (room(), which reads
  the journal per dir from its end back to the last hour), the same with the whole journal read per dir
  (room() before the tail read: replot.read_journal_since replaced by read_journal),
  plot_info.replot_status without a state dir (the whole journal parsed), with a cold cache (first
  call: the journal parsed, its summary written) and with a warm cache
  (the next pass: only the appended lines read, here none).

Usage: python bench/bench_replot_status.py [--lines 20000] [--dirs 4] [--rounds 3]
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "collections"))
sys.path.insert(0, str(REPO / "tests"))

import replot_lib as lib  # noqa: E402

from ansible_collections.plotfleet.chia.plugins.module_utils import replot  # noqa: E402
from ansible_collections.plotfleet.chia.plugins.modules import plot_info  # noqa: E402


def room_with_full_read(conf):
    """plot_info.replot_room as it was before the tail read: the whole journal parsed per dir."""
    tail = replot.read_journal_since
    replot.read_journal_since = lambda journal, directory, since: replot.read_journal(journal, directory)
    try:
        return plot_info.replot_room(conf)
    finally:
        replot.read_journal_since = tail


def make_dirs(base, count):
    dirs = []
    for d in range(count):
        path = os.path.join(base, "d%d" % d)
        os.mkdir(path)
        for i, src in enumerate(lib.og_plots(5)):
            lib.place(path, src, "202%d-01-01-00-00" % i)
        lib.place(path, lib.v2_plots(1)[0])
        dirs.append(path)
    return dirs


def make_journal(path, dirs, lines, now):
    with open(path, "w") as handle:
        for n in range(lines // 2):
            entry = {"dir": os.path.realpath(dirs[n % len(dirs)]), "size": 108837532672, "ino": n,
                     "name": "plot-k32-2021-06-01-12-30-%064x.plot" % n, "plot_id": "%064x" % n,
                     "why": "v1 k32 uncompressed plot (og, 2021-06-01 12:30) replaced by v2 k28 uncompressed",
                     "for": "plot-k28-%064x.plot2" % n}
            t = now - 30 * 86400 + n * (30 * 86400.0 / (lines // 2))
            for event in ("deleting", "deleted"):
                line = dict(entry, event=event, t=t, at="2026-11-01T00:00:00Z")
                handle.write(json.dumps(line, sort_keys=True) + "\n")


def median_ms(call, setup=None, n=7):
    times = []
    for _ in range(n):
        if setup:
            setup()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--dirs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="bench-replot-status-")
    try:
        dirs = make_dirs(base, args.dirs)
        journal, state = os.path.join(base, "journal.jsonl"), os.path.join(base, "state")
        make_journal(journal, dirs, args.lines, time.time())
        conf = {"enabled": True, "storage_dirs": dirs, "journal": journal}
        print("journal: %d lines, %d bytes; %d dirs; load %.1f" % (
            args.lines, os.path.getsize(journal), len(dirs), os.getloadavg()[0]))
        for _ in range(args.rounds):
            cold = median_ms(lambda: plot_info.replot_status(conf, state),
                             setup=lambda: shutil.rmtree(state, ignore_errors=True))
            plot_info.replot_status(conf, state)
            print("replot_room %.1f ms (whole journal read: %.1f ms) | replot_status: full read %.1f ms, "
                  "cold cache %.1f ms, warm cache %.1f ms" % (
                median_ms(lambda: plot_info.replot_room(conf)), median_ms(lambda: room_with_full_read(conf)),
                median_ms(lambda: plot_info.replot_status(conf)),
                cold, median_ms(lambda: plot_info.replot_status(conf, state))))
        assert plot_info.replot_room(conf) == room_with_full_read(conf)   # the same answer
        returned = plot_info.replot_status(conf, state)
        print("returned: %d bytes of JSON (%d per dir)" % (len(json.dumps(returned)),
                                                          len(json.dumps(returned[dirs[0]]))))
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
