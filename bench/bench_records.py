"""Benchmark what old transfer records cost each plot_move pass, before and after they are archived.

Method
- A state dir with N transfer records (default 10,000: a farm's worth of moved k32 plots), all
  `done` and acknowledged, as plot_move leaves them; one source dir holding one plot-named file that
  is not a plot (no candidates to move: the pass only reads its records).
- "kept": the records finished 1 hour ago, so none is archived and every pass reads them all (what
  every pass paid before records were archived).
- "archived": the same records finished 8 days ago; the first pass moves them to transfers/done/,
  and the timed passes after it read none of them.
- Each pass is transfer.run_pass() in this process (the body of plot_move, under the host lock,
  without the Ansible module start-up); median and p90 over the passes.

Usage: python bench/bench_records.py [--records 10000] [--passes 15]
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

from ansible_collections.plotfleet.chia.plugins.module_utils import moving as transfer  # noqa: E402


def build(root, count, age_s):
    state = os.path.join(root, "state")
    folder = os.path.join(state, "transfers")
    os.makedirs(folder)
    src = os.path.join(root, "src")
    os.makedirs(src)
    now = time.time()
    for n in range(count):
        plot_id = "%064x" % n
        rec = {"version": 1, "id": plot_id, "plot_id": plot_id, "plot_name": "plot-k32-%s.plot" % plot_id,
               "k": 32, "source": os.path.join(src, "plot-k32-%s.plot" % plot_id), "source_dir": src,
               "destination": "/srv/plots", "host": "nas1", "method": "rsync", "bytes_total": 108837532883,
               "bytes_done": 108837532883, "started": now - age_s - 900, "finished": now - age_s,
               "state": "done", "reason": None, "pid": 1000 + n, "attempt": 1, "acknowledged": True}
        with open(os.path.join(folder, plot_id + ".json"), "w") as handle:
            json.dump(rec, handle)
    return {"log_dir": os.path.join(root, "logs"), "state_dir": state, "dst_dirs": [src], "source_dirs": [],
            "destinations": [{"path": os.path.join(root, "dst")}], "max_transfers_per_destination": 1,
            "max_transfers_per_source": 1}


def timed_passes(params, passes):
    times = []
    for _ in range(passes + 1):
        start = time.perf_counter()
        transfer.run_pass(params, None, [], False, [])
        times.append(time.perf_counter() - start)
    return times[0], times[1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10000)
    ap.add_argument("--passes", type=int, default=15)
    args = ap.parse_args()
    print("records: %d, passes: %d, python %s" % (args.records, args.passes, sys.version.split()[0]))
    print("| records | first pass | median pass | p90 pass | records left in transfers/ |")
    print("| --- | --- | --- | --- | --- |")
    for label, age in (("kept (finished 1 h ago)", 3600), ("archived (finished 8 days ago)", 8 * 86400)):
        root = tempfile.mkdtemp(prefix="plotfleet-bench-records-")
        try:
            params = build(root, args.records, age)
            os.makedirs(params["destinations"][0]["path"])
            first, rest = timed_passes(params, args.passes)
            left = len([n for n in os.listdir(os.path.join(params["state_dir"], "transfers")) if n.endswith(".json")])
            rest.sort()
            print("| %s | %.1f ms | %.1f ms | %.1f ms | %d |" % (
                label, first * 1000, statistics.median(rest) * 1000, rest[int(len(rest) * 0.9) - 1] * 1000, left))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
