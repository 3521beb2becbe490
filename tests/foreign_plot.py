"""A foreign plotter: real PyPI chiapos plots (k=22, ~25 s each) restarted in a loop in dirs of its own,
as another setup on the same machine would run them (a farmer's plotman, `make demo`, another test run).

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


def plot_argv(driver, root):
    """The same plotter plotfleet runs (its chiapos driver), so processes.identify() knows it."""
    tmp, dst = os.path.join(root, "tmp"), os.path.join(root, "dst")
    return [PLOTTER_PYTHON, driver, "-k", str(K), "-n", "1", "-t", tmp, "-2", tmp, "-d", dst, "-r", "1",
            "-u", "32", "-b", "200", "-s", "65536"]


def plot_once(argv, log, stopping):
    """One plot, detached like a real plotter (own session, log on fd 1); False if told to stop."""
    with open(log, "w") as out, open(os.devnull) as devnull:
        plot = subprocess.Popen(argv, stdin=devnull, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    while plot.poll() is None:
        if stopping:
            kill_group(plot.pid)
            plot.wait()
            return False
        time.sleep(0.2)
    return True


def tidy(root, keep_logs=3):
    """Its own finished plots and old logs go, so that a long session does not fill the disk."""
    for path in glob.glob(os.path.join(root, "dst", "*.plot")):
        os.unlink(path)
    for path in sorted(glob.glob(os.path.join(root, "logs", "*.log")))[:-keep_logs]:
        os.unlink(path)


def run_forever(root):
    from ansible_collections.plotfleet.chia.plugins.module_utils import chiapos_driver

    for name in DIRS:
        os.makedirs(os.path.join(root, name), exist_ok=True)
    argv = plot_argv(chiapos_driver.install_driver(os.path.join(root, "state")), root)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    number = 0
    while not stopping:
        number += 1
        log = os.path.join(root, "logs", "foreign-%06d.log" % number)
        if not plot_once(argv, log, stopping):
            break
        tidy(root)


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
    """True once a foreign plot has printed its ID (from then on plot_info sees a job)."""
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
