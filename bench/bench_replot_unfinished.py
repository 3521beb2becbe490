"""Benchmark replot.unfinished() over the dirs of one arrival: what make_room pays under the storage
host's lock before it deletes (explain_unfinished), now one read of the journal for all dirs, against the
read per dir it replaced.

Method
- A journal of L lines (default 20,000: 10,000 deletions over 30 days, written as append_journal writes
  them, bench_replot_status.make_journal) spread over D dirs (default 4), plus one interrupted deletion
  ("deleting", no outcome) per dir.
- Timed (wall and this process's CPU time), each the median of 7 calls, interleaved call by call:
  unfinished(journal, dirs) (one read), the same per dir (read_journal once per dir, the dirs in sorted
  order: the implementation before), and read_journal(journal) (every line parsed once: the floor of any
  exact read); the answers of the first two asserted equal.

Usage: python bench/bench_replot_unfinished.py [--lines 20000] [--dirs 4] [--rounds 3]
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "collections"))
sys.path.insert(0, str(REPO / "bench"))

from bench_replot_status import make_journal  # noqa: E402

from ansible_collections.plotfleet.chia.plugins.module_utils import replot  # noqa: E402


def unfinished_per_dir(journal, directories):
    """unfinished() before: the journal read once per dir."""
    entries = [e for d in sorted(set(os.path.realpath(d) for d in directories))
               for e in replot.read_journal(journal, d)]
    done = set((e.get("dir"), e.get("name"), e.get("ino")) for e in entries
               if e.get("event") in ("deleted", "failed", "kept"))
    return [e for e in entries if e.get("event") == "deleting"
            and (e.get("dir"), e.get("name"), e.get("ino")) not in done]


def timed(call):
    """(wall ms, CPU ms of this process) of one call: the CPU figure drifts less on a loaded machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return 1000 * (time.perf_counter() - wall), 1000 * (time.process_time() - cpu)


def medians(pairs):
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--dirs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="bench-replot-unfinished-")
    try:
        dirs = [os.path.join(base, "d%d" % d) for d in range(args.dirs)]
        for path in dirs:
            os.mkdir(path)
        journal = os.path.join(base, "journal.jsonl")
        make_journal(journal, dirs, args.lines, time.time())
        for n, path in enumerate(dirs):
            replot.append_journal(journal, {"dir": os.path.realpath(path), "name": "plot-k32-left-%d.plot" % n,
                                            "size": 1, "ino": n, "event": "deleting"})
        assert replot.unfinished(journal, dirs) == unfinished_per_dir(journal, dirs)   # the same answer
        assert len(replot.unfinished(journal, dirs)) == len(dirs)
        print("journal: %d lines, %d bytes; %d dirs; load %.1f" % (
            args.lines, os.path.getsize(journal), len(dirs), os.getloadavg()[0]))
        for _ in range(args.rounds):
            runs = {"one": [], "per_dir": [], "parse": []}
            for _ in range(7):   # interleaved call by call (a loaded machine drifts)
                runs["one"].append(timed(lambda: replot.unfinished(journal, dirs)))
                runs["per_dir"].append(timed(lambda: unfinished_per_dir(journal, dirs)))
                runs["parse"].append(timed(lambda: replot.read_journal(journal)))
            (one, one_cpu), (per_dir, per_dir_cpu), (parse, parse_cpu) = (
                medians(runs[k]) for k in ("one", "per_dir", "parse"))
            print("unfinished: one read %.0f ms (CPU %.0f) | read per dir %.0f ms (CPU %.0f) | ratio %.2fx (CPU "
                  "%.2fx) | every line parsed once (read_journal) %.0f ms (CPU %.0f)" % (
                      one, one_cpu, per_dir, per_dir_cpu, per_dir / one, per_dir_cpu / one_cpu, parse, parse_cpu))
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
