"""Plotters deciding in the same pass cannot see each other's new copies: the storage host arbitrates
its own disks (issue 10 item 6). Two plotters each send a plot to the same storage dir, which allows one
copy at a time (cap 1): the storage host gives the second copy the next dir the record lists, so never
more than one copy runs in a dir and both dirs are used. Real workers, rsync over a real sshd."""

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plotmove_lib as lib  # noqa: E402
from plotmove_lib import run_module  # noqa: E402

pytestmark = pytest.mark.skipif(not lib.Sshd.available(), reason="needs root, /usr/sbin/sshd and rsync")


class CopyCounter(threading.Thread):
    """Watches dirs and keeps the most copies seen in progress at once in each (partial copies and
    rsync temp files of different plots)."""

    def __init__(self, dirs):
        threading.Thread.__init__(self, daemon=True)
        self.dirs, self.most, self.done = dirs, dict((str(d), 0) for d in dirs), False

    def run(self):
        while not self.done:
            for d in self.dirs:
                plots = set()
                for name in os.listdir(str(d)):
                    if ".plotfleet-partial" in name:
                        plots.add(name.lstrip(".").split(".plot")[0])
                self.most[str(d)] = max(self.most[str(d)], len(plots))
            time.sleep(0.02)


def partials(directory):
    return [n for n in os.listdir(str(directory)) if ".plotfleet-partial" in n]


def signal_quietly(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def rsyncs_reading(source):
    pids = []
    for entry in os.listdir("/proc"):
        try:
            argv = open("/proc/%s/cmdline" % entry, "rb").read().split(b"\0")
        except (OSError, ValueError):
            continue
        if argv and os.path.basename(argv[0]) == b"rsync" and any(str(source).encode() in a for a in argv):
            pids.append(int(entry))
    return pids


def hold_copy(directory, source):
    """SIGSTOP the rsync that copies from `source` once its partial file is in `directory`."""
    assert lib.wait_for(lambda: partials(directory), timeout=60, interval=0.02), "p1's copy never started"
    pids = lib.wait_for(lambda: rsyncs_reading(source), timeout=30, interval=0.02)
    assert pids, "no rsync reading %s" % source
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    return pids


def test_two_plotters_racing_for_one_dir_with_cap_1_use_both_dirs(tmp_path):
    dir_a, dir_b = tmp_path / "storage" / "a", tmp_path / "storage" / "b"
    dir_a.mkdir(parents=True)
    dir_b.mkdir()
    plots = lib.cached_plots(2)
    with lib.Sshd(tmp_path / "sshd") as sshd:
        # What the controller gives both plotters in one pass: /a looks best to each (more free space).
        dests = [sshd.destination(dir_a, free_bytes=10 ** 12 + 10 ** 9), sshd.destination(dir_b, free_bytes=10 ** 12)]
        counter = CopyCounter([dir_a, dir_b])
        counter.start()
        started = []
        for name, plot in zip(("p1", "p2"), plots):
            root = tmp_path / name
            (root / "src").mkdir(parents=True)
            (root / "src" / plot.name).write_bytes(plot.read_bytes())
            args = lib.move_args(root, dests, ssh_options=sshd.ssh_options, bwlimit_kbps=400,
                                 max_transfers_per_destination=1)
            rc, res = run_module("plot_move", args)
            assert [s["destination"] for s in res["started"]] == [str(dir_a)], res  # each chose /a
            started.append(root)
            if name == "p1":
                # p1's copy must still hold /a's slot when p2's worker asks for one: under load its
                # 9 s copy could end first. Stop its rsync (the slot stays held) until p2 is in /b.
                held = hold_copy(dir_a, root / "src")
        try:
            lib.wait_for(lambda: partials(dir_b), timeout=60, interval=0.05)
        finally:
            for pid in held:
                signal_quietly(pid, signal.SIGCONT)
        recs = [lib.wait_transfers_finished(root / "state")[0] for root in started]
        counter.done = True
        counter.join()
    assert [r["state"] for r in recs] == ["done", "done"], [r.get("reason") for r in recs]
    assert sorted(r["destination"] for r in recs) == sorted([str(dir_a), str(dir_b)]), "both dirs used"
    assert counter.most == {str(dir_a): 1, str(dir_b): 1}, counter.most
    assert sorted(os.listdir(str(dir_a)) + os.listdir(str(dir_b))) == sorted(p.name for p in plots)
    moved = next(r for r in recs if r["destination"] == str(dir_b))
    assert "sending to %s instead" % dir_b in Path(moved["log"]).read_text()
