"""plot_stop on real chiapos plots: suspend/resume, terminate, and deleting exactly the job's temp files."""

import os
import signal
import time

from module_batch import run_module_calls
from startstop_lib import K22, alive, host, proc_state  # noqa: F401  (host is a fixture)

from plotfleet_testlib import run_module, wait_for


def _wait_temp_files(directory, plot_id, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        names = [n for n in os.listdir(directory) if plot_id in n and n.endswith(".tmp")]
        if names:
            return names
        time.sleep(0.1)
    return []


def test_suspend_resume_terminate_and_cleanup(host):  # noqa: F811
    rc, result = host.start(K22)
    assert rc == 0 and result["changed"], result
    job = result["started"][0]
    plot_id, pid = job["plot_id"], job["pid"]
    assert _wait_temp_files(host.tmp, plot_id)
    other = os.path.join(host.tmp, "plot-k22-2026-01-01-00-00-%s.plot.table1.tmp" % ("e" * 64))
    unrelated = os.path.join(host.tmp, "notes.tmp")
    for path in (other, unrelated):
        with open(path, "w") as handle:
            handle.write("keep me")

    rc, result = host.stop(plot_id=plot_id[:8], action="suspend")
    assert rc == 0 and result["changed"] is True, result
    assert proc_state(pid) == "T"
    rc, result = host.stop(plot_id=plot_id[:8], action="suspend")
    assert rc == 0 and result["changed"] is False and result["jobs"][0]["action"] == "none"
    rc, result = host.stop(plot_id=plot_id[:8], action="resume")
    assert rc == 0 and result["changed"] is True and proc_state(pid) != "T"
    host.stop(plot_id=plot_id[:8], action="suspend")  # terminate must also work on a stopped plotter

    rc, result = host.stop(check=True, plot_id=plot_id[:6], cleanup=True)
    assert rc == 0 and result["changed"] is True and result["deleted"] == []
    listed = result["temp_files"]
    assert listed and all(plot_id in os.path.basename(p) and p.endswith(".tmp") for p in listed)
    assert alive(pid)

    rc, result = host.stop(plot_id=plot_id[:6], cleanup=True, timeout=20)
    assert rc == 0 and result["changed"] is True, result
    assert result["jobs"][0]["exited"] is True and result["jobs"][0]["target"] == "group %d" % pid
    assert not alive(pid)
    assert result["deleted"] and set(listed) <= set(result["deleted"])
    left = sorted(os.listdir(host.tmp))
    assert [n for n in left if plot_id in n] == []
    assert left == sorted([os.path.basename(other), "notes.tmp"])
    assert open(other).read() == "keep me" and host.plots() == []

    rc, result = host.stop(plot_id=plot_id[:6])  # a stopped job: nothing to signal, nothing changed
    assert rc == 0 and result["changed"] is False and result["jobs"][0]["action"] == "none", result


def test_stop_refuses_bad_selections(host):  # noqa: F811
    bad = [
        ({}, "give plot_id (a prefix of at least 4 hex digits) or all=true"),
        ({"plot_id": "xyz!"}, "plot_id: 'xyz!' is not a plot id prefix"),
        ({"plot_id": "abcd"}, "plot_id: abcd matches no job on this host"),
        ({"all": True, "action": "suspend", "cleanup": True}, "cleanup: temp files are deleted only with "
                                                               "action=terminate"),
    ]
    # one Ansible run for the five calls; the last one (all=true) is fine
    results = run_module_calls("plot_stop", [host.args(**args) for args, _ in bad] + [host.args(all=True)])
    for (args, expected), (rc, result) in zip(bad, results):
        assert rc != 0 and expected in result["msg"], (args, result)
    rc, result = results[-1]  # other setups' plotters on this machine are out of scope
    assert rc == 0 and result["changed"] is False and result["jobs"] == []


def _info(host, **extra):  # noqa: F811
    rc, result = run_module("plot_info", host.args(**extra))
    assert rc == 0, result
    return result


def _mine(entries, plot_id):
    found = [e for e in entries if e.get("id") == plot_id]
    assert len(found) == 1, (plot_id, entries)
    return found[0]


def _start_k22(host):  # noqa: F811
    rc, result = host.start(K22)
    assert rc == 0 and result["changed"], result
    job = result["started"][0]
    assert _wait_temp_files(host.tmp, job["plot_id"])
    return job["plot_id"], job["pid"]


def test_a_plot_stopped_on_purpose_is_stopped_and_no_crash_for_the_backoff(host):  # noqa: F811
    """Terminated by plot_stop: `stopped` with who/when, and the next start is not held back. The same
    plot SIGKILLed instead is `dead`, and backoff holds the next start: the check below can fail."""
    backoff = {"crash_window_minutes": 10}
    plot_id, pid = _start_k22(host)
    rc, result = host.stop(plot_id=plot_id[:8], timeout=20)
    assert rc == 0 and result["jobs"][0]["exited"] is True and not alive(pid), result
    entry = _mine(_info(host)["history"], plot_id)
    assert entry["state"] == "stopped" and entry["pid"] is None, entry
    assert entry["stopped"]["by"] == "plot_stop" and entry["stopped"]["action"] == "terminate"
    assert abs(entry["stopped"]["at"] - time.time()) < 600
    assert [r for r in host.records() if r["pid"] == pid][0]["stopped"] == entry["stopped"]
    rc, result = host.start(K22, rules=backoff, check=True)
    assert rc == 0 and result["would_start"], result
    assert not [r for r in result["reasons"] if "backoff" in r], result["reasons"]

    crashed, crashed_pid = _start_k22(host)
    os.killpg(crashed_pid, signal.SIGKILL)
    assert wait_for(lambda: not alive(crashed_pid), timeout=10)
    assert _mine(_info(host)["history"], crashed)["state"] == "dead"
    rc, result = host.start(K22, rules=backoff, check=True)
    assert rc == 0 and not result["would_start"] and [r for r in result["reasons"] if "backoff: 1 job" in r], result


def test_a_suspended_plot_is_suspended_without_eta_or_stall_and_resumes(host):  # noqa: F811
    plot_id, pid = _start_k22(host)
    assert _mine(_info(host)["jobs"], plot_id)["state"] == "plotting"

    rc, result = host.stop(plot_id=plot_id[:8], action="suspend")
    assert rc == 0 and result["changed"] and proc_state(pid) == "T", result
    log = _mine(_info(host)["jobs"], plot_id)["log"]
    old = time.time() - 3600   # as if it had been suspended for an hour: any running job would be stalled
    os.utime(log, (old, old))
    job = _mine(_info(host, stall_after_s=60)["jobs"], plot_id)
    assert job["state"] == "suspended" and job["eta_s"] is None and job["process_state"].startswith("T"), job

    rc, result = host.stop(plot_id=plot_id[:8], action="resume")
    assert rc == 0 and result["changed"] and proc_state(pid) != "T", result
    job = _mine(_info(host, stall_after_s=60)["jobs"], plot_id)   # counted from the resume, not the log
    assert job["state"] == "plotting" and job["process_state"] != "T", job

    os.killpg(pid, signal.SIGSTOP)   # by hand, as a farmer would with kill -STOP
    assert wait_for(lambda: proc_state(pid) == "T", timeout=10)
    assert _mine(_info(host)["jobs"], plot_id)["state"] == "suspended"
    os.killpg(pid, signal.SIGCONT)
    assert wait_for(lambda: proc_state(pid) != "T", timeout=10)
    job = _mine(_info(host)["jobs"], plot_id)
    assert job["state"] == "plotting", job
