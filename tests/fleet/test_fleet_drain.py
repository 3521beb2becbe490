"""Drain workers on the SSH fleet (issue 11): two plotters send to one storage host with two dirs at
once. The storage host hands out the slots: never more copies in a dir than the cap (1), never a copy
into a dir without room for it (the 6 MB dir takes one k18 plot), both dirs used; after one pass the
workers drain on by themselves, with the controller gone. The fault suite's invariants hold.
"""

import os
import shutil
import sys
import threading
import time
from pathlib import Path

import fleetops
import pytest
from fleetcheck import storage_leftovers
from fleetlib import rules_vars

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import plotmove_lib  # noqa: E402

pytestmark = pytest.mark.fleet

PLOTS_PER_PLOTTER = 3
SLOW_COPY_KBPS = 1200   # a k18 plot (~4 MB) takes ~3 s: the two plotters' copies overlap


class CopyWatch(threading.Thread):
    """Samples each storage dir every 20 ms: the plots being copied into it (their temp names) and
    its free bytes. Only reads files."""

    def __init__(self, dirs):
        threading.Thread.__init__(self, daemon=True)
        self.dirs, self.most, self.least_free, self.seen = dirs, dict((d, 0) for d in dirs), {}, set()
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for directory in self.dirs:
                copying = in_flight(directory)
                self.seen.update((directory, name) for name in copying)
                self.most[directory] = max(self.most[directory], len(copying))
                free = os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize
                self.least_free[directory] = min(self.least_free.get(directory, free), free)
            time.sleep(0.02)


def in_flight(directory):
    """Plot names with a temp copy in directory: rsync's .<partial>.XXXXXX, the partial copy, rsync's
    resumable copy in .plotfleet-rsync/."""
    names = set()
    try:
        entries = os.listdir(directory)
        entries += os.listdir(os.path.join(directory, ".plotfleet-rsync")) if ".plotfleet-rsync" in entries else []
    except OSError:
        return names
    for name in entries:
        bare = name.lstrip(".")  # rsync's temp file is ".<partial name>.XXXXXX": two leading dots
        if bare.startswith("plot-k") and ".plot.plotfleet-partial" in bare:
            names.add(bare[:bare.index(".plot.plotfleet-partial") + 5])
    return names


def finish_like_a_plotter(dst_dir, plot):
    temp = os.path.join(dst_dir, plot.name + ".tmp")
    shutil.copyfile(str(plot), temp)
    os.rename(temp, os.path.join(dst_dir, plot.name))


def test_two_plotters_drain_into_two_dirs_of_one_storage_host(fleet, ledger):
    store = fleet.storage
    small, big = store.small_storage_dir, store.storage_dirs[0]
    plots = plotmove_lib.cached_plots(2 * PLOTS_PER_PLOTTER)
    overrides = dict((h.name, dict(rules_vars(max_jobs=0), plotfleet_move_max_per_destination=1,
                                   plotfleet_move_bwlimit_kbps=SLOW_COPY_KBPS)) for h in fleet.plotters)
    overrides[store.name] = {"plotfleet_storage_dirs": [small, big]}
    fleet.write_inventory(overrides=overrides)
    fleetops.pause(fleet)
    for index, host in enumerate(fleet.plotters):
        for plot in plots[index * PLOTS_PER_PLOTTER:(index + 1) * PLOTS_PER_PLOTTER]:
            finish_like_a_plotter(host.dst_dirs[0], plot)
    watch = CopyWatch([small, big])
    watch.start()
    try:
        fleetops.run_pass(fleet)  # one pass: both plotters start sending at once, then the controller is gone
        fleetops.wait_for(lambda: not any(fleetops.transfers_running(fleet).values()), 180,
                          "the drain workers to finish", diagnose=lambda: fleetops.diagnose(fleet))
        drained = len(fleetops.plots_at_storage(fleet))
        fleetops.settle(fleet, timeout=120)  # what a worker left (a refused or held copy) goes in later passes
    finally:
        watch.stop.set()
        watch.join()
    at_storage = fleetops.plots_at_storage(fleet)
    in_small = [p for p in at_storage if os.path.dirname(p) == small]
    print("drain: %d plots moved by the first pass's workers, %d in all; most copies at once %s; least free %s"
          % (drained, len(at_storage), watch.most, watch.least_free))
    assert len(at_storage) == len(plots) and not fleetops.plots_in_dst(fleet)
    assert drained > len(fleet.plotters), "the workers went on after the pass (one plot per plotter and dir started)"
    assert watch.most == {small: 1, big: 1}, "at most the cap (1) per dir, and both dirs used: %s" % watch.most
    assert len(in_small) == 1 and watch.least_free[small] >= 0, "the 6 MB dir took the one plot it has room for"
    assert not storage_leftovers(fleet)
    ledger.assert_invariants(min_finished=len(plots))
