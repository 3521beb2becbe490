"""A foreign plotter: real PyPI chiapos plots (k=22) restarted in a loop in dirs of its own, as another
setup on the same machine would run them (a farmer's plotman, `make demo`, another test run, a script).
Two plots run at any time: one through plotfleet's chiapos driver with a log, one from a `python -c`
script whose output goes nowhere (plot id never known).

plot_info adopts it (it is a plotter process), so it shows up in every test's `info.jobs`: tests must
assert on their own jobs and dirs and leave it alone. Rules that count every plotter on the host
(max_jobs, max_phase1_jobs, min_start_interval_minutes) see it too.

For a whole pytest session: PLOTFLEET_TEST_FOREIGN_PLOT=1 (tests/conftest.py starts it beside the
integration tests). By hand: `.venv/bin/python tests/foreign_plot.py /tmp/foreign-plot` (SIGTERM or
Ctrl-C ends the loop and its plot).
"""

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plotfleet_testlib import PLOTTER_PYTHON  # noqa: E402  (also puts collections/ on sys.path)

K = 22
DIRS = ("tmp", "dst", "logs", "state")
# The second kind: a hand-written chiapos script (plot_info knows it by `chiapos` in its code and its
# chia-style flags) whose output goes nowhere, so its plot id is never known, as for a plot run from a
# terminal or through a pipe.
SCRIPT = ("import os, sys\n"
          "from chiapos import DiskPlotter\n"
          "a = dict(zip(sys.argv[1::2], sys.argv[2::2]))\n"
          "plot_id = os.urandom(32)\n"
          "name = 'plot-k%s-2026-01-01-00-00-%s.plot' % (a['-k'], plot_id.hex())\n"
          "DiskPlotter().create_plot_disk(a['-t'], a['-2'], a['-d'], name, int(a['-k']), os.urandom(128), plot_id,"
          " 200, 32, 65536, 1, False)\n")


def dir_flags(root):
    tmp, dst = os.path.join(root, "tmp"), os.path.join(root, "dst")
    return ["-k", str(K), "-t", tmp, "-2", tmp, "-d", dst]


def driver_argv(driver, root):
    """The same plotter plotfleet runs (its chiapos driver), with its log on fd 1: a known plot id."""
    return [PLOTTER_PYTHON, driver, "-n", "1", "-r", "1", "-u", "32", "-b", "200", "-s", "65536"] + dir_flags(root)


def script_argv(root):
    return [PLOTTER_PYTHON, "-c", SCRIPT] + dir_flags(root)


def launch(argv, log):
    """One plot, detached like a real plotter (own session); its output to log, or nowhere."""
    with open(log or os.devnull, "w") as out, open(os.devnull) as devnull:
        return subprocess.Popen(argv, stdin=devnull, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def tidy(root, keep_logs=3):
    """Its own finished plots and old logs go, so that a long session does not fill the disk."""
    for path in glob.glob(os.path.join(root, "dst", "*.plot")):
        os.unlink(path)
    for path in sorted(glob.glob(os.path.join(root, "logs", "*.log")))[:-keep_logs]:
        os.unlink(path)


def run_forever(root):
    """Both kinds plot all the time, each restarted when its plot ends, at low priority (CPU is shared)."""
    from ansible_collections.plotfleet.chia.plugins.module_utils import chiapos_driver

    os.nice(19)
    for name in DIRS:
        os.makedirs(os.path.join(root, name), exist_ok=True)
    driver = chiapos_driver.install_driver(os.path.join(root, "state"))
    kinds = {"driver": driver_argv(driver, root), "script": script_argv(root)}
    stopping, running, number = [], {}, 0
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    while not stopping:
        for kind, argv in sorted(kinds.items()):
            if kind not in running or running[kind].poll() is not None:
                tidy(root)
                number += 1
                log = os.path.join(root, "logs", "foreign-%06d.log" % number) if kind == "driver" else None
                running[kind] = launch(argv, log)
        time.sleep(0.2)
    for proc in running.values():
        kill_group(proc.pid)
        proc.wait()


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def start(root=None):
    """Start the loop in its own session; returns (Popen, root)."""
    root = root or tempfile.mkdtemp(prefix="plotfleet-foreign-plot-")
    with open(os.devnull) as devnull:
        proc = subprocess.Popen([PLOTTER_PYTHON, os.path.abspath(__file__), root], stdin=devnull,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return proc, root


def plotting_now(root):
    """True once the driver's plot has printed its ID (the script's plot started with it)."""
    for log in glob.glob(os.path.join(root, "logs", "*.log")):
        with open(log) as handle:
            if "ID: " in handle.read(4096):
                return True
    return False


def wait_plotting(proc, root, timeout=60):
    deadline = time.time() + timeout
    while not plotting_now(root):
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("the foreign plotter in %s did not start a plot" % root)
        time.sleep(0.2)


def stop(proc, root, remove=True):
    """End the loop (it kills its plot) and, if asked, remove its dirs."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            proc.wait()
    if remove:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    run_forever(os.path.abspath(sys.argv[1]))
