"""Helpers for the plot_start / plot_stop live tests: a host layout in a temp dir, small chiapos plots."""

import glob
import json
import os
import signal
import time

import pytest

from plotfleet_testlib import PLOTTER_PYTHON, run_module

# Small real plots (see /work/shared/fixtures/chiapos): k18 ~1.3 s, k20 ~5 s, k22 ~24 s on 2 cores.
K18 = {"kind": "chiapos", "python": PLOTTER_PYTHON, "k": 18, "stripe": 2000, "buckets": 32, "threads": 2,
       "buffer_mib": 100}
K20 = dict(K18, k=20, buckets=16)
K22 = dict(K18, k=22, stripe=65536, buckets=32, buffer_mib=200)
K18_DIES = dict(K18, stripe=8192)  # chiapos: "Caught plotting error: Stripe size too large"


class Host(object):
    """tmp/dst/log/state dirs of one test 'host' (localhost)."""

    def __init__(self, root):
        self.root = str(root)
        self.tmp = os.path.join(self.root, "tmp")
        self.dst = os.path.join(self.root, "dst")
        self.logs = os.path.join(self.root, "logs")
        self.state = os.path.join(self.root, "state")
        for path in (self.tmp, self.dst, self.logs, self.state):
            os.makedirs(path, exist_ok=True)

    def args(self, **extra):
        args = {"log_dir": self.logs, "state_dir": self.state, "tmp_dirs": [self.tmp], "dst_dirs": [self.dst]}
        args.update(extra)
        return args

    def start(self, plotter, rules=None, check=False, **extra):
        return run_module("plot_start", self.start_args(plotter, rules, **extra), check=check)

    def start_args(self, plotter, rules=None, **extra):
        # max_jobs counts every plotter on the machine; other suites may be plotting at the same time
        # start_timeout: the ID shows within a second when idle, much later on a machine busy with other plots
        extra.setdefault("start_timeout", 120)
        return self.args(plotter=plotter, rules=dict({"crash_window_minutes": 0, "max_jobs": 1000}, **(rules or {})),
                         **extra)

    def stop(self, check=False, **extra):
        return run_module("plot_stop", self.args(**extra), check=check)

    def records(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.state, "jobs", "*.json"))):
            with open(path) as handle:
                out.append(json.load(handle))
        return out

    def plots(self):
        return sorted(glob.glob(os.path.join(self.dst, "*.plot")))

    def wait_plots(self, count, timeout=90):
        deadline = time.time() + timeout
        while len(self.plots()) < count and time.time() < deadline:
            time.sleep(0.3)
        return self.plots()

    def kill_all(self):
        for record in self.records():
            pid = record.get("pid")
            if pid and alive(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (IOError, OSError):
        return False


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as handle:
        return handle.read().rsplit(")", 1)[1].split()[0]


@pytest.fixture
def host(tmp_path):
    h = Host(tmp_path)
    yield h
    h.kill_all()
