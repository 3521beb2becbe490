"""hoststate.gather: record/process join, adoption, states (dead, stalled, failed, finished-and-moved),
multi-plot logs, incremental cache, bad input. Real chiapos logs, fake process table."""

import json
import os
import time
from pathlib import Path

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import hoststate, logcache, processes, records

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"
FIXTURE_ROOT = "/tmp/plotfleet-mklogs"
RENAME_ID = "692e98559e35028d79b50b2ccdb883d6bc2f4eda51d9e4ce0bfa580dbfcae764"
KILLED_ID = "994fd27f5d3eef9a1c53fa09cb3d2fb907a0504c0fb8a8e4f3fa6c26930dc9ac"
TWO_IDS = ("88852637e647531d4784347e7f8148f6ece32aec9c4f8e56a11b5678f0fe5883",
           "173e2b5b9fe7be3267990b59fa924c110114f7baa636f6ee0ae56b68314d58e6")


class Host(object):
    """A temp host: dirs, logs rewritten to point into it, a fake process table."""

    def __init__(self, root, monkeypatch):
        self.root = root
        self.log_dir = root / "logs"
        self.state_dir = root / "state"
        for d in ("logs", "state", "t1", "t2", "final"):
            (root / d).mkdir()
        self.procs = []
        self.fd1 = {}
        monkeypatch.setattr(processes, "list_processes", lambda warnings=None: list(self.procs))
        monkeypatch.setattr(processes, "log_path_of", lambda pid: self.fd1.get(pid))

    def lines(self, fixture):
        return (LOGS / fixture).read_text().replace(FIXTURE_ROOT, str(self.root)).splitlines(True)

    def write_log(self, name, fixture, upto=None, extra=""):
        lines = self.lines(fixture)
        if upto is not None:
            lines = lines[:upto]
        path = self.log_dir / name
        path.write_text("".join(lines) + extra)
        return path

    def proc(self, pid, argv, start=None, ppid=1, state="S"):
        proc = {"pid": pid, "ppid": ppid, "start": time.time() - 30 if start is None else start, "argv": argv,
                "command": " ".join(argv), "state": state}
        self.procs.append(proc)
        return proc

    def record(self, launch_id, pid, proc_start, log, **extra):
        rec = {"version": 1, "launch_id": launch_id, "plot_id": None, "plotter": "chiapos", "plotter_kind": "chiapos",
               "argv": [], "pid": pid, "proc_start": proc_start, "log": str(log), "tmp_dir": str(self.root / "t1"),
               "tmp2_dir": str(self.root / "t2"), "dst_dir": str(self.root / "final"), "k": 18, "count": 1,
               "started": time.time() - 30, "unit": None, "method": "setsid"}
        rec.update(extra)
        records.write_record(str(self.state_dir), records.JOBS, launch_id, rec)
        return rec

    def gather(self, now=None, **params):
        base = {"log_dir": str(self.log_dir), "state_dir": str(self.state_dir),
                "tmp_dirs": [str(self.root / "t1"), str(self.root / "t2")], "dst_dirs": [str(self.root / "final")],
                "history_limit": 50, "stall_after_s": None}
        base.update(params)
        return hoststate.gather(base, now=now)

    def driver_argv(self, k=18):
        return ["/usr/bin/python3", str(self.state_dir / "bin" / "plotfleet-chiapos-abc.py"), "-k", str(k), "-n", "1",
                "-t", str(self.root / "t1"), "-2", str(self.root / "t2"), "-d", str(self.root / "final")]


@pytest.fixture
def host(tmp_path, monkeypatch):
    return Host(tmp_path, monkeypatch)


def _one(entries, **match):
    found = [e for e in entries if all(e.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, entries)
    return found[0]


def test_finished_plot_keeps_finished_after_move(host):
    host.write_log("a.log", "chiapos-k18-rename.log")
    plot = host.root / "final" / ("plot-k18-2026-11-29-01-58-%s.plot" % RENAME_ID)
    plot.write_bytes(b"x")
    state = host.gather()
    entry = _one(state["history"], id=RENAME_ID)
    assert entry["state"] == "finished" and entry["plot_file"] == str(plot) and entry["pid"] is None
    assert state["jobs"] == []
    plot.unlink()   # moved away by plot_move
    entry = _one(host.gather()["history"], id=RENAME_ID)
    assert entry["state"] == "finished" and entry["plot_file"] is None


def test_killed_log_without_process_is_dead_with_its_temp_files(host):
    log = host.write_log("killed.log", "chiapos-k20-killed-phase1.log")
    tmp = host.root / "t1" / ("plot-k20-2026-11-29-01-58-%s.plot.table1.tmp" % KILLED_ID)
    tmp.write_bytes(b"0" * 1000)
    (host.root / "t1" / "plot-k20-2026-11-29-01-58-other.plot.table1.tmp").write_bytes(b"0" * 7)
    state = host.gather()
    entry = _one(state["history"], id=KILLED_ID)
    assert entry["state"] == "dead" and entry["log"] == str(log)
    assert entry["tmp_bytes"] == 1000 and entry["tmp_files"] == [str(tmp)]
    t1 = _one(state["dirs"], path=str(host.root / "t1"))
    assert t1["temp_bytes"] == 1007 and t1["temp_count"] == 2 and t1["roles"] == ["tmp"]
    assert t1["free_bytes"] > 0 and t1["total_bytes"] >= t1["free_bytes"] and t1["mount_point"]


def test_error_line_is_failed(host):
    host.write_log("err.log", "chiapos-k18-rename.log", upto=60,
                   extra="Caught plotting error: Matches do not match with number of write entries 1016 764\n")
    entry = _one(host.gather()["history"], id=RENAME_ID)
    assert entry["state"] == "failed" and "Matches do not match" in entry["error"]


def test_recorded_live_job_plotting_then_stalled_and_incremental(host):
    log = host.write_log("job.log", "chiapos-k18-rename.log", upto=300)
    proc = host.proc(4242, host.driver_argv())
    host.record("L1", 4242, proc["start"] + 0.5, log)
    state = host.gather()
    job = _one(state["jobs"], pid=4242)
    assert job["state"] == "plotting" and job["launch_id"] == "L1" and not job["adopted"]
    assert job["id"] == RENAME_ID and 0 < job["progress"] < 1 and job["phase"] >= 1
    assert job["tmp_dir"] == str(host.root / "t1") and job["dst_dir"] == str(host.root / "final")
    assert job["elapsed_s"] >= 29 and job["log"] == str(log)
    first = job["progress"]
    # the log grows: only the appended bytes are read, progress moves on
    lines = host.lines("chiapos-k18-rename.log")
    with open(str(log), "a") as handle:
        handle.write("".join(lines[300:600]))
    job2 = _one(host.gather()["jobs"], pid=4242)
    assert job2["progress"] > first and job2["state"] == "plotting"
    cache = host.state_dir / "cache" / logcache.CACHE_NAME
    assert cache.exists() and str(log) in cache.read_text()
    # the log stops growing
    old = time.time() - 3600
    os.utime(str(log), (old, old))
    assert _one(host.gather(stall_after_s=600)["jobs"], pid=4242)["state"] == "stalled"
    assert _one(host.gather()["jobs"], pid=4242)["state"] == "stalled"   # auto: max(600 s, 5 steps)


def test_pid_reused_by_another_program(host):
    log = host.write_log("job.log", "chiapos-k18-rename.log", upto=300)
    host.proc(4243, ["/usr/sbin/nginx", "-g", "daemon off;"], start=time.time() - 5)
    host.record("L2", 4243, time.time() - 4000, log)
    state = host.gather()
    assert state["jobs"] == []
    assert any("pid 4243" in w and "another program" in w for w in state["warnings"])
    assert _one(state["history"], id=RENAME_ID)["state"] == "dead"


def test_record_whose_process_died_before_printing(host):
    empty = host.log_dir / "empty.log"
    empty.write_text("")
    host.record("L3", 999999, 1.0, empty, plot_id=None)
    broken = host.log_dir / "broken.log"
    broken.write_text("Traceback (most recent call last):\nModuleNotFoundError: No module named 'chiapos'\n")
    host.record("L4", 999998, 1.0, broken)
    history = host.gather()["history"]
    dead = _one(history, launch_id="L3")
    assert dead["state"] == "dead" and dead["started"] and dead["ended"] and dead["pid"] is None
    failed = _one(history, launch_id="L4")
    assert failed["state"] == "failed" and "chiapos" in failed["error"]


def test_multi_plot_log_only_last_plot_is_the_job(host):
    argv = ["chia", "plots", "create", "-k", "18", "-n", "2", "-t", str(host.root / "t1"), "-2",
            str(host.root / "t2"), "-d", str(host.root / "final")]
    log = host.write_log("two.log", "chiapos-k18-two-plots.log", upto=900)
    host.proc(5000, argv)
    host.fd1[5000] = str(log)
    state = host.gather()
    job = _one(state["jobs"], pid=5000)
    assert job["id"] == TWO_IDS[1] and job["index"] == 2 and job["adopted"] and job["launch_id"] is None
    done = _one(state["history"], id=TWO_IDS[0])
    assert done["state"] == "finished" and done["pid"] is None


def test_adopted_process_with_piped_stdout_finds_log_by_dirs(host):
    log = host.write_log("hand.log", "chiapos-k18-rename.log", upto=200)
    argv = ["chia", "plots", "create", "-k", "18", "-t", str(host.root / "t1"), "-2", str(host.root / "t2"),
            "-d", str(host.root / "final")]
    host.proc(6000, argv)
    job = _one(host.gather()["jobs"], pid=6000)
    assert job["log"] == str(log) and job["id"] == RENAME_ID and job["adopted"]


def test_parent_child_pair_is_one_job(host):
    host.proc(7000, ["chia", "plotters", "madmax", "-k", "32", "-t", "/t/", "-d", "/d/"])
    host.proc(7001, ["/opt/chia/madmax/chia_plot", "-k", "32", "-t", "/t/", "-d", "/d/"], ppid=7000)
    jobs = host.gather()["jobs"]
    assert [j["pid"] for j in jobs] == [7001] and jobs[0]["plotter"] == "madmax" and jobs[0]["phase"] == 0


def test_bad_input_gives_warnings_not_tracebacks(host):
    (host.log_dir / "garbage.bin").write_bytes(bytes(range(256)) * 100)
    (host.log_dir / "notes.txt").write_text("hello\n" * 20000)
    (host.state_dir / "jobs").mkdir()
    (host.state_dir / "jobs" / "empty.json").write_text("")
    cache = host.state_dir / "cache" / logcache.CACHE_NAME
    cache.parent.mkdir()
    cache.write_bytes(b"\x00garbage")
    host.write_log("a.log", "chiapos-k18-rename.log")
    state = host.gather(tmp_dirs=[str(host.root / "missing")], log_dir=str(host.log_dir))
    text = "\n".join(state["warnings"])
    assert "binary" in text and "not a plotter log" in text and "empty.json" in text and "parser cache" in text
    assert _one(state["dirs"], path=str(host.root / "missing"))["exists"] is False
    assert _one(state["history"], id=RENAME_ID)["state"] == "finished"
    state = host.gather(log_dir=str(host.root / "no-such-dir"))
    assert any("no-such-dir" in w for w in state["warnings"]) and state["history"] == []


def test_replaced_log_is_parsed_again(host):
    log = host.write_log("a.log", "chiapos-k18-rename.log")
    assert _one(host.gather()["history"], id=RENAME_ID)["state"] == "finished"
    log.unlink()
    host.write_log("a.log", "chiapos-k20-killed-phase1.log")   # new inode, other content
    history = host.gather()["history"]
    assert [h["id"] for h in history] == [KILLED_ID]


def test_history_newest_first_and_limited(host):
    host.write_log("two.log", "chiapos-k18-two-plots.log")
    host.write_log("rename.log", "chiapos-k18-rename.log")
    host.write_log("x.log", "chiapos-k20-tmp2-crossdevice.log")
    history = host.gather(history_limit=3)["history"]
    assert len(history) == 3
    ends = [h["ended"] for h in history]
    assert ends == sorted(ends, reverse=True)
    assert host.gather(history_limit=0)["history"] == []


def test_cache_files_are_readable(host):
    host.write_log("a.log", "chiapos-k18-rename.log")
    host.gather()
    files = sorted(f.name for f in (host.state_dir / "cache").iterdir())
    assert files == sorted([logcache.CACHE_NAME, logcache.STORE_NAME, logcache.LOCK_NAME])
    index = (host.state_dir / "cache" / logcache.CACHE_NAME).read_text().splitlines()
    header = json.loads(index[0])
    assert header["version"] == logcache.VERSION and header["means"][0][:2] == ["chiapos", 18]
    assert header["sums"][0][:3] == ["chiapos", 18, "1"]
    assert index[1].startswith(str(host.log_dir / "a.log") + "\t")


# ---------------------------------------------------------------------------------------------
# suspended (process state T) and stopped (plot_stop noted it before signalling)

def _age(path, seconds):
    old = time.time() - seconds
    os.utime(str(path), (old, old))


def test_suspended_job_has_no_eta_and_never_stalls_then_resumed_is_normal(host):
    log = host.write_log("job.log", "chiapos-k18-rename.log", upto=300)
    proc = host.proc(4250, host.driver_argv(), state="T")
    host.record("S1", 4250, proc["start"], log)
    _age(log, 3600)   # an hour without a log line: only a suspended job is excused
    job = _one(host.gather(stall_after_s=600)["jobs"], pid=4250)
    assert job["state"] == "suspended" and job["eta_s"] is None and job["process_state"] == "T"
    assert "stall_after_s" not in job and job["progress"] > 0 and job["step"] != "0:0"
    proc["state"] = "t"   # stopped by a tracer (ptrace): suspended as well
    assert _one(host.gather(stall_after_s=600)["jobs"], pid=4250)["state"] == "suspended"
    proc["state"] = "R"   # resumed by hand: counted from the last pass that saw it suspended, not from its log
    job = _one(host.gather(stall_after_s=600)["jobs"], pid=4250)
    assert job["state"] == "plotting" and job["process_state"] == "R" and job["eta_s"] > 0
    later = time.time() + 700   # 700 s after that pass, still not a line in its log: stalled
    assert _one(host.gather(now=later, stall_after_s=600)["jobs"], pid=4250)["state"] == "stalled"
    host.record("S1", 4250, proc["start"], log, resumed={"at": later - 60, "by": "plot_stop", "action": "resume"})
    job = _one(host.gather(now=later, stall_after_s=600)["jobs"], pid=4250)   # resumed by plot_stop since
    assert job["state"] == "plotting" and job["eta_s"] is not None and job["eta_s"] > 0


def test_a_job_never_seen_suspended_with_an_old_log_is_stalled(host):
    log = host.write_log("job.log", "chiapos-k18-rename.log", upto=300)
    proc = host.proc(4252, host.driver_argv(), state="R")
    host.record("S3", 4252, proc["start"], log)
    _age(log, 3600)
    assert _one(host.gather(stall_after_s=600)["jobs"], pid=4252)["state"] == "stalled"


def test_suspended_state_from_ps_where_there_is_no_proc(host, monkeypatch):
    """The process table from ps has no state letter: run_states asks for the jobs' pids only."""
    log = host.write_log("job.log", "chiapos-k18-rename.log", upto=300)
    proc = host.proc(4251, host.driver_argv())
    del proc["state"]
    host.record("S2", 4251, proc["start"], log)
    asked = []
    monkeypatch.setattr(processes, "run_states", lambda pids: asked.append(sorted(pids)) or {4251: "TN"})
    job = _one(host.gather()["jobs"], pid=4251)
    assert job["state"] == "suspended" and asked == [[4251]]


def test_job_terminated_by_plot_stop_is_stopped_not_dead(host):
    log = host.write_log("killed.log", "chiapos-k20-killed-phase1.log")
    tmp = host.root / "t1" / ("plot-k20-2026-11-29-01-58-%s.plot.table1.tmp" % KILLED_ID)
    tmp.write_bytes(b"0" * 100)
    host.record("T1", 999990, 1.0, log, plot_id=KILLED_ID, k=20)
    assert _one(host.gather()["history"], id=KILLED_ID)["state"] == "dead"   # no note: a crash
    note = {"at": time.time() - 5, "by": "plot_stop", "action": "terminate"}
    host.record("T1", 999990, 1.0, log, plot_id=KILLED_ID, k=20, stopped=note)
    entry = _one(host.gather()["history"], id=KILLED_ID)
    assert entry["state"] == "stopped" and entry["stopped"] == note and entry["launch_id"] == "T1"
    assert entry["tmp_files"] == [str(tmp)] and entry["tmp_bytes"] == 100   # the cleanup may still take them


def test_adopted_job_stopped_by_plot_stop_is_found_by_its_stop_record(host):
    host.write_log("hand.log", "chiapos-k20-killed-phase1.log")
    note = {"at": time.time() - 5, "by": "plot_stop", "action": "terminate"}
    records.write_record(str(host.state_dir), records.STOPS, KILLED_ID,
                         {"version": 1, "plot_id": KILLED_ID, "pid": 5555, "proc_start": 1.0, "log": None,
                          "stopped": note})
    entry = _one(host.gather()["history"], id=KILLED_ID)
    assert entry["state"] == "stopped" and entry["stopped"] == note and entry["launch_id"] is None


def test_adopted_job_without_plot_id_is_found_by_its_log(host):
    log = host.write_log("hand.log", "chiapos-k20-killed-phase1.log")
    records.write_record(str(host.state_dir), records.STOPS, "pid-5556-100",
                         {"version": 1, "plot_id": None, "pid": 5556, "proc_start": 100.0, "log": str(log),
                          "stopped": {"at": time.time(), "by": "plot_stop", "action": "terminate"}})
    assert _one(host.gather()["history"], id=KILLED_ID)["state"] == "stopped"


def test_record_stopped_before_its_log_named_a_plot(host):
    empty = host.log_dir / "empty.log"
    empty.write_text("")
    host.record("T2", 999991, 1.0, empty, stopped={"at": time.time(), "by": "plot_stop", "action": "terminate"})
    assert _one(host.gather()["history"], launch_id="T2")["state"] == "stopped"


def test_a_finished_plot_stays_finished_whatever_the_note(host):
    log = host.write_log("a.log", "chiapos-k18-rename.log")
    host.record("T3", 999992, 1.0, log, plot_id=RENAME_ID, stopped={"at": time.time(), "by": "plot_stop",
                                                                   "action": "terminate"})
    assert _one(host.gather()["history"], id=RENAME_ID)["state"] == "finished"
