"""The start policy counts a multi-plot process once: a live Gigahorse `-n 3` process holds two plots
(plot 1 waiting for its copy, plot 2 plotting, one pid), as plot_info's real gather reports it.

The process is the stand-in of test_gpu_live_jobs (Python under the argv `cuda_plot_k32 ...`, its stdout
a synthetic fixture log up to plot 2's `[P1] Table 6 took`). The policy is pure: the free space of the
dirs the log names (/mnt/nvme/gh, /mnt/plot1_31) is given to it as the host would report it.
"""

import os
import signal
import sys
import time

import pytest
from test_gpu_live_jobs import SLEEP, fixture_until, gather, own, stand_in  # noqa: F401  (a fixture)

from ansible_collections.plotfleet.chia.plugins.module_utils.policy import start as policy

TMP, DST = "/mnt/nvme/gh", "/mnt/plot1_31"
PLOT = {"kind": "gigahorse", "k": 32, "compression": 0, "count": 1}
ONE = policy.final_size(32, 0, "gigahorse")   # one k32 plot; gigahorse's tmp work is one plot too
TIB = 1024 ** 4
OFF = {"max_jobs": 99, "max_jobs_per_tmp": 99, "max_before_step": 99, "check_free_space": False}  # rules not under test

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the log through /proc/PID/fd/1")


@pytest.fixture
def gigahorse_state(tmp_path, stand_in):  # noqa: F811
    tmp, dst = tmp_path / "nvme", tmp_path / "hdd"
    tmp.mkdir()
    dst.mkdir()
    text = fixture_until("synthetic-gigahorse-n3-copy-overlap.log", "[P1] Table 6 took", nth=2)
    pid = stand_in(["cuda_plot_k32", "-c", SLEEP, "-n", "3", "-C", "8", "-t", "%s/" % tmp, "-d", "%s/" % dst],
                   text)
    state = gather(tmp_path, [str(tmp), str(dst)])
    jobs = own(state["jobs"], pid)
    # what this file is about: one process, two plot entries
    assert [(j["index"], j["state"], j["tmp_dir"], j["dst_dir"]) for j in jobs] == [
        (1, "copying", TMP, DST), (2, "plotting", TMP, DST)], jobs
    return {"jobs": jobs, "history": [], "load": {}, "dirs": [{"path": TMP, "free_bytes": 4 * TIB},
                                                              {"path": DST, "free_bytes": 40 * TIB}]}


def decide(state, free=None, **rules):
    if free:
        state = dict(state, dirs=[{"path": p, "free_bytes": f} for p, f in free.items()])
    return policy.decide(state, dict(OFF, **rules), time.time(), tmp_dirs=[TMP], dst_dirs=[DST], plot=PLOT)


def detail(result, rule):
    return [c["detail"] for c in result["checks"] if c["rule"] == rule]


def test_max_jobs_counts_the_process_not_its_plots(gigahorse_state):
    result = decide(gigahorse_state, max_jobs=2)
    assert detail(result, "max_jobs") == ["host: 1 job running (limit 2)"]
    assert result["start"] == [{"tmp_dir": TMP, "tmp2_dir": TMP, "dst_dir": DST}]
    blocked = decide(gigahorse_state, max_jobs=1)
    assert blocked["start"] == [] and blocked["reasons"] == ["host: 1 job running (limit 1)"]


def test_per_tmp_caps_count_the_process_once(gigahorse_state):
    result = decide(gigahorse_state, max_jobs_per_tmp=2)
    assert detail(result, "max_jobs_per_tmp") == ["tmp %s: 1 job (limit 2)" % TMP] and result["start"]
    override = decide(gigahorse_state, max_jobs_per_tmp=4, max_jobs_per_tmp_overrides={TMP: 2})
    assert detail(override, "max_jobs_per_tmp") == ["tmp %s: 1 job (limit 2)" % TMP] and override["start"]


def test_stagger_and_phase1_cap_read_the_current_plot(gigahorse_state):
    # plot 2 (1:7) is the process's step; plot 1 waiting for its copy (5:0) is not a second job
    result = decide(gigahorse_state, max_phase1_jobs=2, stagger_step="2:1", max_before_step=2)
    assert detail(result, "max_phase1_jobs") == ["host: 1 job in phase 1 (limit 2)"]
    assert detail(result, "stagger") == ["tmp %s: 1 job before phase 2:1 (limit 2)" % TMP] and result["start"]
    blocked = decide(gigahorse_state, stagger_step="2:1", max_before_step=1)
    assert blocked["reasons"] == ["tmp %s: 1 job before phase 2:1 (limit 1)" % TMP]


def test_tmp_space_is_reserved_once_for_the_process(gigahorse_state):
    # the process's current plot reserves its working space; plot 1's file is on the disk already
    free = {TMP: int(2.5 * ONE), DST: 40 * TIB}
    result = decide(gigahorse_state, free=free, check_free_space=True)
    assert result["start"], result["reasons"]
    assert detail(result, "tmp_free_space") == ["tmp %s: %s free, %s reserved by running jobs, plot needs %s" % (
        TMP, policy.fmt_bytes(free[TMP]), policy.fmt_bytes(ONE), policy.fmt_bytes(ONE))]


def test_dst_space_is_the_plots_still_to_arrive(gigahorse_state):
    # plot 1 (copy in flight), plot 2 and plot 3: three plots, plus the one to start
    free = {TMP: 4 * TIB, DST: int(4.5 * ONE)}
    result = decide(gigahorse_state, free=free, check_free_space=True)
    assert result["start"], result["reasons"]
    assert detail(result, "dst_free_space") == ["dst %s: %s free, %s reserved by running jobs, plot needs %s" % (
        DST, policy.fmt_bytes(free[DST]), policy.fmt_bytes(3 * ONE), policy.fmt_bytes(ONE))]
    full = decide(gigahorse_state, free={TMP: 4 * TIB, DST: int(3.5 * ONE)}, check_free_space=True)
    assert full["start"] == [] and full["reasons"] == detail(full, "dst_free_space")


def test_min_start_interval_counts_when_the_process_started_not_its_later_plots():
    # a BladeBit CUDA `-n 0` process started 3 h ago, now on plot 3 (started 5 min ago): plot_info's
    # shape (pid, proc_start, index; plots 1 and 2 in history)
    now = time.time()
    plot3 = {"pid": 4242, "proc_start": now - 3 * 3600, "index": 3, "count": 0, "started": now - 300,
             "plotter": "bladebit_cuda", "k": 32, "state": "plotting", "step": "1:2", "phase": 1,
             "tmp_dir": None, "dst_dir": DST}
    history = [{"index": i, "state": "finished", "plotter": "bladebit_cuda", "started": now - 3 * 3600 + (i - 1) * 600,
                "ended": now - 3 * 3600 + i * 600} for i in (1, 2)]
    state = {"jobs": [plot3], "history": history, "load": {}, "dirs": []}
    result = decide(state, min_start_interval_minutes=60)
    assert detail(result, "min_start_interval") == ["host: last start 180 min ago (limit 60 min)"]
    assert result["start"], result["reasons"]


def dated_now(text, dates):
    """The fixture's `Crafting plot i out of N (date)` lines dated as given (epoch each), so its plots
    are recent: a process that died minutes after it started."""
    out = []
    for line in text.splitlines(True):
        if line.startswith("Crafting plot ") and "(" in line:
            index = int(line.split()[2])
            line = "%s(%s)\n" % (line.split("(")[0], time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(dates[index])))
        out.append(line)
    return "".join(out)


@pytest.fixture
def dead_gigahorse_state(tmp_path, stand_in):  # noqa: F811
    """A Gigahorse `-n 3` process that died 4 minutes after it started, plot 1 still copying, plot 2
    plotting: its history as plot_info's real gather reports it once the process is gone."""
    tmp, dst = tmp_path / "nvme", tmp_path / "hdd"
    tmp.mkdir()
    dst.mkdir()
    now = time.time()
    text = dated_now(fixture_until("synthetic-gigahorse-n3-copy-overlap.log", "[P1] Table 6 took", nth=2),
                     {1: now - 240, 2: now - 60})
    pid = stand_in(["cuda_plot_k32", "-c", SLEEP, "-n", "3", "-C", "8", "-t", "%s/" % tmp, "-d", "%s/" % dst],
                   text)
    assert len(own(gather(tmp_path, [str(tmp), str(dst)])["jobs"], pid)) == 2   # one process, two plots
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    log = str(tmp_path / "logs")
    history = [e for e in gather(tmp_path, [str(tmp), str(dst)])["history"] if (e.get("log") or "").startswith(log)]
    assert [(e["index"], e["state"]) for e in sorted(history, key=lambda e: e["index"])] == [(1, "dead"), (2, "dead")]
    return {"jobs": [], "history": history, "load": {}, "dirs": []}


def test_a_multi_plot_process_that_dies_is_one_crash_not_one_per_plot(dead_gigahorse_state):
    result = decide(dead_gigahorse_state, backoff_base_minutes=5.0)
    assert detail(result, "crash_backoff")[0].startswith(
        "backoff: 1 job died within 10 min of starting: waiting 5 min after the last"), detail(result, "crash_backoff")
    assert result["start"] == []


def test_two_processes_that_die_are_two_crashes(dead_gigahorse_state):
    earlier = [dict(e, log=e["log"] + ".earlier", ended=e["ended"] - 120) for e in dead_gigahorse_state["history"]]
    result = decide(dict(dead_gigahorse_state, history=dead_gigahorse_state["history"] + earlier))
    assert detail(result, "crash_backoff")[0].startswith(
        "backoff: 2 jobs died within 10 min of starting: waiting 10 min after the last")
