"""bin/plotfleet-loop: one pass at a time across loops, summary lines, SIGTERM, backoff, argument
pass-through and exit codes (with a stand-in ansible-playbook), exit codes of real failed passes,
and a real plot that outlives a killed loop."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from plotfleet_testlib import PLOTTER_PYTHON, REPO, VENV_BIN, kill_tree, wait_for

LOOP = REPO / "bin" / "plotfleet-loop"

# Stands in for ansible-playbook: records its argv and when it ran, sleeps, writes the summary.
FAKE_PLAYBOOK = r'''#!/usr/bin/env python3
import json, os, sys, time
record = os.environ["FAKE_RECORD"]
extra = json.loads(sys.argv[sys.argv.index("-e") + 1])
began = time.time()
if os.environ.get("FAKE_BEGAN"):   # the pass is running: a test may signal the loop now
    open(os.environ["FAKE_BEGAN"], "a").close()
time.sleep(float(os.environ.get("FAKE_SLEEP", "0.5")))
with open(record, "a") as handle:
    handle.write(json.dumps({"pid": os.getpid(), "loop": os.getppid(), "began": began, "ended": time.time(),
                             "argv": sys.argv[1:], "cwd": os.getcwd()}) + "\n")
if os.environ.get("FAKE_FAIL"):
    print("fatal: [w1]: UNREACHABLE!")
    sys.exit(4)
summary = {"started": 1, "moved": 2, "failures": 0, "hosts_failed": 0, "hosts": 1, "hosts_ok": 1, "jobs": 1,
           "temp_files_deleted": 3, "table": "HOST TABLE"}
summary.update(json.loads(os.environ.get("FAKE_SUMMARY", "{}")))
with open(extra["plotfleet_summary_file"], "w") as handle:
    json.dump(summary, handle)
sys.exit(int(os.environ.get("FAKE_RC", "0")))
'''


@pytest.fixture
def fake(tmp_path):
    script = tmp_path / "fake-ansible-playbook"
    script.write_text(FAKE_PLAYBOOK)
    script.chmod(0o755)
    record = tmp_path / "record.jsonl"
    began = tmp_path / "began"
    env = dict(os.environ, FAKE_RECORD=str(record), FAKE_BEGAN=str(began))
    return {"script": script, "record": record, "began": began, "env": env, "dir": tmp_path}


def start_loop(fake, *args, env=None, cwd=None):
    cmd = [sys.executable, str(LOOP), "--ansible-playbook", str(fake["script"]), "--lock",
           str(fake["dir"] / "loop.lock"), "--work-dir", str(fake["dir"] / "work")] + list(args)
    return subprocess.Popen(cmd, env=dict(fake["env"], **(env or {})), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, cwd=cwd)


def records(fake):
    if not fake["record"].exists():
        return []
    return [json.loads(line) for line in fake["record"].read_text().splitlines()]


def test_two_loops_run_passes_one_at_a_time(fake):
    loops = [start_loop(fake, "--interval", "0", "--max-passes", "3", env={"FAKE_SLEEP": "0.4"}) for _ in range(2)]
    outputs = [loop.communicate(timeout=60)[0] for loop in loops]
    assert all(loop.returncode == 0 for loop in loops), outputs
    passes = sorted(records(fake), key=lambda r: r["began"])
    assert len(passes) == 6
    assert {r["loop"] for r in passes} == {loop.pid for loop in loops}  # both loops ran passes
    for earlier, later in zip(passes, passes[1:]):
        assert later["began"] >= earlier["ended"], "two passes overlapped"


def test_summary_line_and_argument_pass_through(fake):
    loop = start_loop(fake, "--interval", "0", "--max-passes", "1", "--show-table",
                      "-i", "inventory/example", "--limit", "w1", "-e", "plotfleet_k=20")
    out = loop.communicate(timeout=60)[0]
    assert loop.returncode == 0, out
    assert "pass 1 rc=0 started=1 moved=2 failures=0 hosts=1/1 jobs=1 duration=" in out
    assert re.search(r"duration=[\d.]+s dead-job temp files deleted=3", out), out
    assert "HOST TABLE" in out
    argv = records(fake)[0]["argv"]
    assert argv[0] == str(REPO / "reconcile.yml")
    assert argv[-6:] == ["-i", "inventory/example", "--limit", "w1", "-e", "plotfleet_k=20"]


def test_sigterm_while_waiting_exits_cleanly(fake):
    loop = start_loop(fake, "--interval", "600", env={"FAKE_SLEEP": "0"})
    assert wait_for(lambda: len(records(fake)) == 1)
    time.sleep(0.3)
    loop.send_signal(signal.SIGTERM)
    out = loop.communicate(timeout=10)[0]
    assert loop.returncode == 0, out
    assert "stopped after 1 pass(es)" in out


def test_sigterm_during_a_pass_lets_it_finish(fake):
    loop = start_loop(fake, "--interval", "600", env={"FAKE_SLEEP": "2"})
    assert wait_for(fake["began"].exists)   # the pass is running (a fixed sleep raced a loaded machine)
    loop.send_signal(signal.SIGTERM)
    out = loop.communicate(timeout=30)[0]
    assert loop.returncode == 0, out
    assert len(records(fake)) == 1, out  # the pass ran to its end (it recorded itself)
    assert "pass 1 rc=0 started=1" in out


def test_second_signal_terminates_the_pass(fake):
    loop = start_loop(fake, "--interval", "600", env={"FAKE_SLEEP": "60"})
    assert wait_for(fake["began"].exists)
    loop.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    loop.send_signal(signal.SIGTERM)
    out = loop.communicate(timeout=30)[0]
    assert loop.returncode == 0, out
    assert "terminating the running pass" in out and records(fake) == []


def test_backoff_after_failed_passes(fake):
    loop = start_loop(fake, "--interval", "0.2", "--max-passes", "3", "--max-backoff", "2.5",
                      env={"FAKE_FAIL": "1", "FAKE_SLEEP": "0"})
    out = loop.communicate(timeout=60)[0]
    assert loop.returncode == 1, out  # the last pass failed as a whole
    assert "pass 1 rc=4 no summary" in out and "UNREACHABLE" in out  # the failing pass's output is shown
    # The wait doubles from max(interval, 1 s) and stops at --max-backoff.
    assert "1 failed pass(es) in a row: next pass in 2.0s" in out
    assert "2 failed pass(es) in a row: next pass in 2.5s" in out
    passes = records(fake)
    assert passes[2]["began"] - passes[1]["ended"] >= 2.4


# ------------------------------------------------------------------ exit codes (cron, systemd timers)

@pytest.mark.parametrize("env,code", [
    ({}, 0),                                                                     # every host ok
    ({"FAKE_FAIL": "1"}, 1),                                                     # no report at all
    ({"FAKE_SUMMARY": json.dumps({"hosts_ok": 0, "hosts_failed": 1, "failures": 1}), "FAKE_RC": "2"}, 1),
    ({"FAKE_SUMMARY": json.dumps({"hosts": 0, "hosts_ok": 0})}, 1),             # a pass over no host
    ({"FAKE_SUMMARY": json.dumps({"hosts": 3, "hosts_ok": 2, "hosts_failed": 1, "failures": 1,
                                  "failed_hosts": ["w2: unreachable"]}), "FAKE_RC": "2"}, 3),
    ({"FAKE_RC": "4"}, 1),                                                       # hosts ok, the playbook not
])
def test_one_pass_exit_code_says_how_the_pass_went(fake, env, code):
    loop = start_loop(fake, "--interval", "0", "--max-passes", "1", env=dict(env, FAKE_SLEEP="0"))
    out = loop.communicate(timeout=60)[0]
    assert loop.returncode == code, out
    assert "exit code %d" % code in out


@pytest.mark.parametrize("first_fails,code", [(True, 0), (False, 1)])
def test_last_pass_decides_the_exit_code(fake, tmp_path, first_fails, code):
    """Two passes, one failing as a whole and one fine: the exit code is the last one's."""
    seen = tmp_path / "first-pass-ran"
    first, later = ("FAKE_FAIL=1 ", "") if first_fails else ("", "FAKE_FAIL=1 ")
    wrapper = tmp_path / "flaky"
    wrapper.write_text("#!/bin/sh\nif [ -e %s ]; then %sexec %s \"$@\"; fi\ntouch %s\n%sexec %s \"$@\"\n"
                       % (seen, later, fake["script"], seen, first, fake["script"]))
    wrapper.chmod(0o755)
    loop = subprocess.Popen([sys.executable, str(LOOP), "--ansible-playbook", str(wrapper), "--lock",
                             str(tmp_path / "loop.lock"), "--work-dir", str(tmp_path / "work"), "--interval", "0",
                             "--max-passes", "2", "--max-backoff", "0.1"],
                            env=dict(fake["env"], FAKE_SLEEP="0"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    out = loop.communicate(timeout=60)[0]
    order = ("pass 1 rc=4 no summary", "pass 2 rc=0") if first_fails else ("pass 2 rc=4 no summary", "pass 1 rc=0")
    failed, fine = order
    assert failed in out and fine in out
    assert loop.returncode == code, out


def test_ansible_playbook_runs_in_the_callers_directory(fake, tmp_path):
    """-i inventory/fleet means ./inventory/fleet where the loop was started, not in the checkout."""
    here = tmp_path / "farm"
    here.mkdir()
    loop = start_loop(fake, "--interval", "0", "--max-passes", "1", "--", "-i", "inventory/fleet",
                      env={"FAKE_SLEEP": "0"}, cwd=str(here))
    out = loop.communicate(timeout=60)[0]
    assert loop.returncode == 0, out
    record = records(fake)[0]
    assert record["cwd"] == str(here) and record["argv"][0] == str(REPO / "reconcile.yml")


def test_a_playbook_path_is_the_callers_then_the_checkouts(fake, tmp_path):
    mine = tmp_path / "mine.yml"
    mine.write_text("---\n")
    for playbook, expected in (("mine.yml", str(mine)), ("status.yml", str(REPO / "status.yml"))):
        loop = start_loop(fake, "--interval", "0", "--max-passes", "1", "--playbook", playbook,
                          env={"FAKE_SLEEP": "0"}, cwd=str(tmp_path))
        out = loop.communicate(timeout=60)[0]
        assert loop.returncode == 0, out
        assert records(fake)[-1]["argv"][0] == expected


@pytest.mark.parametrize("args", [["-i", "no/such/inventory.yml"], ["--limit", "no-such-host"]])
def test_a_real_pass_that_reaches_no_host_exits_1(tmp_path, args):
    """ansible-playbook itself exits 0 here (no hosts matched, the play is skipped): no report."""
    loop = subprocess.Popen([sys.executable, str(LOOP), "--ansible-playbook", str(VENV_BIN / "ansible-playbook"),
                             "--lock", str(tmp_path / "loop.lock"), "--work-dir", str(tmp_path / "work"),
                             "--max-passes", "1", "--"] + args,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                            cwd=str(tmp_path))
    out = loop.communicate(timeout=120)[0]
    assert loop.returncode == 1, out
    assert "no summary" in out and "exit code 1" in out


@pytest.mark.live
def test_plot_started_by_the_loop_survives_killing_the_loop(tmp_path):
    dirs = {name: tmp_path / name for name in ("tmp", "dst", "storage", "logs", "state")}
    for path in dirs.values():
        path.mkdir()
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
        "plotfleet_log_dir": str(dirs["logs"]), "plotfleet_state_dir": str(dirs["state"]),
        "plotfleet_tmp_dirs": [str(dirs["tmp"])], "plotfleet_dst_dirs": [str(dirs["dst"])],
        "plotfleet_plotter": "chiapos", "plotfleet_plotter_python": PLOTTER_PYTHON, "plotfleet_k": 20,
        "plotfleet_buckets": 32, "plotfleet_stripe": 4096, "plotfleet_buffer_mib": 200,
        "plotfleet_move_enabled": False, "plotfleet_status_file": str(tmp_path / "status.json"),
        # Only this test's tmp dir counts: other tests' plots may be running on this machine.
        "plotfleet_max_jobs": 50, "plotfleet_min_start_interval_minutes": 0, "plotfleet_crash_window_minutes": 0,
        "plotfleet_status_table_file": str(tmp_path / "status.txt")}},
        "children": {"plotters": {"hosts": {"localhost": {}}}}}}))
    loop = subprocess.Popen([sys.executable, str(LOOP), "--interval", "600", "--ansible-playbook",
                             str(VENV_BIN / "ansible-playbook"), "--lock", str(tmp_path / "loop.lock"),
                             "--work-dir", str(tmp_path / "work"), "-i", str(inventory)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                            start_new_session=True)
    try:
        assert wait_for(lambda: list((dirs["state"] / "jobs").glob("*.json")), timeout=120)
        assert wait_for(lambda: list(dirs["tmp"].glob("*.tmp")), timeout=60)  # the plot is writing
    finally:
        # SIGKILL the loop, the running pass and ansible's workers (in their own sessions).
        kill_tree(loop.pid)
        out = loop.communicate(timeout=30)[0] + "".join(
            path.read_text() for path in (tmp_path / "work").glob("pass-*.log"))
    assert wait_for(lambda: list(dirs["dst"].glob("*.plot")), timeout=180), out
