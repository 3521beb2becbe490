"""plot_stop notes who/when before it signals (launch record, or a stop record for an adopted job),
and says what it did or, in check mode, what it would do. Real child processes, hand-built host state."""

import json
import os
import subprocess

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import processes, records, stopping

PLOT_ID = "4d" * 32


@pytest.fixture
def host(tmp_path):
    """A running process (a setsid sleep: it leads its group like a plotfleet launch) and its job."""
    state_dir, tmp = tmp_path / "state", tmp_path / "tmp"
    state_dir.mkdir()
    tmp.mkdir()
    temp = tmp / ("plot-k18-2026-01-01-00-00-%s.plot.table1.tmp" % PLOT_ID)
    temp.write_text("x")
    child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    job = {"id": PLOT_ID, "pid": child.pid, "launch_id": "L1", "plotter": "chiapos", "state": "plotting",
           "tmp_dir": str(tmp), "tmp2_dir": str(tmp), "dst_dir": str(tmp), "log": str(tmp_path / "a.log"),
           "proc_start": 1234.5, "count": 1}
    records.write_record(str(state_dir), records.JOBS, "L1", {"version": 1, "launch_id": "L1", "pid": child.pid,
                                                               "plotter": "chiapos", "unit": None})
    params = {"log_dir": str(tmp_path), "state_dir": str(state_dir), "tmp_dirs": [str(tmp)], "dst_dirs": [],
              "plot_id": PLOT_ID[:8], "all": False, "ended": False, "action": "terminate", "timeout": 10,
              "kill": False, "cleanup": False}
    yield {"child": child, "job": job, "params": params, "state_dir": str(state_dir), "temp": str(temp)}
    child.kill()
    child.wait()


def run(host, check_mode=False, **over):
    state = {"jobs": [host["job"]], "history": [], "warnings": []}
    return stopping.run(dict(host["params"], **over), check_mode, lambda params: state)


def launch_record(host):
    return records.read_json(records.record_path(host["state_dir"], records.JOBS, "L1"))


def test_terminate_notes_stopped_in_the_launch_record_before_the_signal(host, monkeypatch):
    seen = []
    real_send = stopping.send

    def send(target, sig):
        seen.append((sig, dict(launch_record(host))))
        real_send(target, sig)
    monkeypatch.setattr(stopping, "send", send)
    result = run(host)
    assert result["jobs"][0]["exited"] is True and host["child"].wait(5) is not None
    first_sig, record_then = seen[0]
    assert record_then["stopped"]["by"] == "plot_stop" and record_then["stopped"]["action"] == "terminate"
    stopped = launch_record(host)["stopped"]
    assert isinstance(stopped["at"], float) and launch_record(host)["pid"] == host["child"].pid  # rest kept
    assert result["summary"] == ["terminated 4d4d4d4d (pid %d), group %d: exited" % ((host["child"].pid,) * 2)]


def test_adopted_job_gets_a_stop_record_keyed_by_plot_id_or_pid_and_start(host):
    host["job"]["launch_id"] = None
    run(host, action="suspend")
    note = records.read_json(records.record_path(host["state_dir"], records.STOPS, PLOT_ID))
    assert note["suspended"]["action"] == "suspend" and note["pid"] == host["child"].pid
    assert note["proc_start"] == 1234.5 and note["plot_id"] == PLOT_ID and "stopped" not in note
    run(host, action="resume")
    note = records.read_json(records.record_path(host["state_dir"], records.STOPS, PLOT_ID))
    assert note["resumed"]["at"] >= note["suspended"]["at"]   # one record per job, both notes kept
    host["job"]["id"] = None
    assert stopping.note_key(host["job"]) == "pid-%d-1234" % host["child"].pid


def test_check_mode_says_would_and_writes_nothing(host):
    before = json.dumps(launch_record(host), sort_keys=True)
    result = run(host, check_mode=True, cleanup=True)
    pid = host["child"].pid
    assert result["summary"] == ["would terminate 4d4d4d4d (pid %d), group %d" % (pid, pid),
                                 "would delete %s" % host["temp"]]
    assert json.dumps(launch_record(host), sort_keys=True) == before
    assert not os.path.exists(os.path.join(host["state_dir"], records.STOPS)) and os.path.exists(host["temp"])
    assert host["child"].poll() is None
    result = run(host, check_mode=True, action="suspend")
    assert result["summary"] == ["would suspend 4d4d4d4d (pid %d), group %d" % (pid, pid)]


def test_suspend_resume_summaries_and_nothing_to_do(host):
    pid = host["child"].pid
    assert run(host, action="suspend")["summary"] == ["suspended 4d4d4d4d (pid %d), group %d" % (pid, pid)]
    assert processes.is_suspended(processes.run_states([pid])[pid])
    assert run(host, action="suspend")["summary"] == ["4d4d4d4d (pid %d) is already suspended: nothing to suspend"
                                                      % pid]
    assert run(host, action="resume")["summary"] == ["resumed 4d4d4d4d (pid %d), group %d" % (pid, pid)]
    assert launch_record(host)["resumed"]["at"] >= launch_record(host)["suspended"]["at"]
    assert run(host, action="resume")["summary"] == ["4d4d4d4d (pid %d) is not suspended: nothing to resume" % pid]


def test_stopped_jobs_are_ended_jobs_for_the_cleanup(host):
    stopped = dict(host["job"], pid=None, state="stopped", launch_id="L0", id="5e" * 32)
    state = {"jobs": [], "history": [stopped], "warnings": []}
    assert stopping.ended_in_scope(state, host["params"]["tmp_dirs"], []) == [stopped]
    live, ended = stopping.select(state, "5e5e5e5e", False)
    assert live == [] and ended == [stopped]


def test_a_note_that_cannot_be_written_does_not_keep_the_job_running(host, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(records, "write_record", full_disk)
    result = run(host)
    assert result["jobs"][0]["exited"] is True and host["child"].wait(5) is not None
    assert any("cannot note the terminate" in w and "No space left" in w for w in result["warnings"])
