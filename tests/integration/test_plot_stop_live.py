"""plot_stop on real chiapos plots: suspend/resume, terminate, and deleting exactly the job's temp files."""

import os
import time

from startstop_lib import K22, alive, host, proc_state  # noqa: F401  (host is a fixture)


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
    for args, expected in [
        ({}, "give plot_id (a prefix of at least 4 hex digits) or all=true"),
        ({"plot_id": "xyz!"}, "plot_id: 'xyz!' is not a plot id prefix"),
        ({"plot_id": "abcd"}, "plot_id: abcd matches no job on this host"),
        ({"all": True, "action": "suspend", "cleanup": True}, "cleanup: temp files are deleted only with "
                                                               "action=terminate"),
    ]:
        rc, result = host.stop(**args)
        assert rc != 0 and expected in result["msg"], (args, result)
    rc, result = host.stop(all=True)  # other setups' plotters on this machine are out of scope
    assert rc == 0 and result["changed"] is False and result["jobs"] == []
