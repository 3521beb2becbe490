"""plot_stop and Gigahorse: its first SIGTERM means "finish this plot and its copy, then exit", so a
graceful stop sends one SIGTERM and, with kill=true, waits graceful_timeout before any SIGKILL.

The process is a stand-in under Gigahorse's argv (`executable=` runs Python while argv[0] reads
`cuda_plot_k32`; Python's `-c CODE` reads to the plotter as its `-c <contract>` option) that reacts to
signals as the reference describes Gigahorse (reference/gpu-plotters.md §3.2, cuda_plot.cpp L40-L70):
the first SIGTERM lets the plot in flight and its copy finish (here 2 s, then a marker file), a second
one within 1 s exits at once.
"""

import os
import subprocess
import sys
import time

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import hoststate, stopping

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

GIGAHORSE = r"""
import os, signal, sys, time
dst = sys.argv[sys.argv.index('-d') + 1]
hits = []
def on_term(signum, frame):
    if hits and time.time() - hits[-1] < 1.0:
        print('Double Ctrl-C pressed, exiting now!', flush=True)
        os._exit(1)
    hits.append(time.time())
    print('The crafting of plots will stop after the creation and copy of the current plot.', flush=True)
signal.signal(signal.SIGTERM, on_term)
print('Crafting plot 1 out of 1', flush=True)
while not hits:
    time.sleep(0.05)
time.sleep(2.0)   # the plot in flight and its copy
open(os.path.join(dst, 'copy-finished'), 'w').close()
print('Copy to %s finished' % dst, flush=True)
"""


@pytest.fixture
def gigahorse(tmp_path):
    tmp, dst, logs = (tmp_path / name for name in ("tmp", "dst", "logs"))
    for path in (tmp, dst, logs, tmp_path / "state"):
        path.mkdir()
    with open(str(logs / "gh.log"), "w") as out:
        proc = subprocess.Popen(["cuda_plot_k32", "-c", GIGAHORSE, "-n", "1", "-C", "7", "-t", str(tmp) + "/",
                                 "-d", str(dst) + "/"], executable=sys.executable, stdout=out,
                                stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while "Crafting" not in (logs / "gh.log").read_text() and time.time() < deadline:
        time.sleep(0.05)
    yield proc, tmp_path
    proc.kill()
    proc.wait()


def stop(tmp_path, **over):
    params = {"log_dir": str(tmp_path / "logs"), "state_dir": str(tmp_path / "state"),
              "tmp_dirs": [str(tmp_path / "tmp")], "dst_dirs": [str(tmp_path / "dst")], "history_limit": 50,
              "stall_after_s": None, "plot_id": None, "all": True, "ended": False, "action": "terminate",
              "timeout": 1, "kill": True, "cleanup": False, "graceful_timeout": 30}
    params.update(over)
    return stopping.run(params, False, hoststate.gather)


def test_kill_waits_for_gigahorse_to_finish_its_plot_and_copy(gigahorse):
    proc, tmp_path = gigahorse
    result = stop(tmp_path)
    (job,) = [j for j in result["jobs"] if j["pid"] == proc.pid]
    assert job["plotter"] == "gigahorse" and job["exited"] is True and job["killed"] is False
    assert proc.wait(5) == 0 and (tmp_path / "dst" / "copy-finished").exists()   # its copy finished
    assert "Double Ctrl-C" not in (tmp_path / "logs" / "gh.log").read_text()     # one SIGTERM only


def test_past_its_graceful_timeout_it_is_killed(gigahorse):
    proc, tmp_path = gigahorse
    result = stop(tmp_path, graceful_timeout=1)
    (job,) = [j for j in result["jobs"] if j["pid"] == proc.pid]
    assert job["killed"] is True and job["exited"] is True
    assert proc.wait(5) == -9 and not (tmp_path / "dst" / "copy-finished").exists()


def test_without_kill_it_is_reported_as_finishing_its_plot(gigahorse):
    proc, tmp_path = gigahorse
    result = stop(tmp_path, kill=False)
    (job,) = [j for j in result["jobs"] if j["pid"] == proc.pid]
    assert job["exited"] is False and job["killed"] is False
    assert any("(gigahorse) finishes its current plot and its copy, then exits" in w for w in result["warnings"])
    assert not [w for w in result["warnings"] if "use kill=true" in w]
    assert proc.wait(10) == 0 and (tmp_path / "dst" / "copy-finished").exists()
    assert os.path.exists(str(tmp_path / "logs" / "gh.log"))
