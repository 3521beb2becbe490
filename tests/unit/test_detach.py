"""detach.detach(): the one way plotters and transfer workers are started detached (setsid path here:
no systemd as PID 1 in the test machine; the systemd-run command itself is checked with a fake run)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import detach
from ansible_collections.plotfleet.chia.plugins.module_utils import moving as transfer
from plotfleet_testlib import REPO

# A parent that detaches a child, keeps an inheritable fd open (it must not leak into the child),
# prints the child's pid and then waits to be killed.
PARENT = r"""
import json, os, sys, time
from ansible_collections.plotfleet.chia.plugins.module_utils import detach
leak = os.open(os.devnull, os.O_RDONLY)
os.set_inheritable(leak, True)
started = detach.detach(["/bin/sh", "-c", sys.argv[2]], sys.argv[1], use_systemd=False)
print(json.dumps(dict(started, parent=os.getpid(), leak=leak)), flush=True)
time.sleep(60)
"""


def _state(pid):
    try:
        return Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _alive(pid):
    fields = _state(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _wait(predicate, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline and not predicate():
        time.sleep(0.05)
    return predicate()


def test_detached_process_outlives_its_parent_in_its_own_session(tmp_path):
    log = tmp_path / "out.log"
    log.write_text("earlier line\n")
    script = "echo out; echo err >&2; exec sleep 60"
    env = dict(os.environ, PYTHONPATH=str(REPO / "collections"))
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(log), script], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env, start_new_session=True, universal_newlines=True)
    started = json.loads(parent.stdout.readline())
    pid = started["pid"]
    try:
        assert started["method"] == "setsid" and started["unit"] is None
        os.killpg(parent.pid, signal.SIGKILL)  # the parent's whole process group dies
        parent.wait()
        parent.stdin.close()
        parent.stdout.close()
        assert _wait(lambda: "sleep" in Path("/proc/%d/cmdline" % pid).read_text())
        time.sleep(0.2)  # would a signal to the parent's group have reached it, it would be gone by now
        assert _alive(pid)
        assert int(_state(pid)[1]) != started["parent"]  # re-parented, not our child's child any more
        assert os.getsid(pid) == pid and os.getpgid(pid) == pid  # leads its own session and group
        assert os.getsid(pid) not in (os.getsid(0), parent.pid)
        assert os.readlink("/proc/%d/fd/0" % pid) == os.devnull
        assert sorted(int(fd) for fd in os.listdir("/proc/%d/fd" % pid)) == [0, 1, 2]  # the leak was closed
        assert os.readlink("/proc/%d/fd/1" % pid) == os.readlink("/proc/%d/fd/2" % pid) == str(log)
        assert os.readlink("/proc/%d/cwd" % pid) == "/"
        assert log.read_text().splitlines() == ["earlier line", "out", "err"]  # appended, both streams
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("make_program,why", [
    (lambda tmp: tmp / "no-such-binary", "No such file or directory"),
    (lambda tmp: tmp, "Permission denied"),  # a directory cannot be executed
])
def test_exec_failure_is_raised_to_the_caller(tmp_path, make_program, why):
    program = str(make_program(tmp_path))
    with pytest.raises(OSError) as info:
        detach.detach([program, "--flag"], str(tmp_path / "x.log"), unit="plotfleet-x", use_systemd=False)
    assert program in str(info.value) and why in str(info.value)


class _Done(object):
    def __init__(self, returncode, stdout="", stderr=""):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def test_systemd_run_is_the_default_where_systemd_runs(monkeypatch, tmp_path):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return _Done(0, "777\n") if cmd[0] == "systemctl" else _Done(0)

    monkeypatch.setattr(detach, "SYSTEMD_DIR", str(tmp_path))
    monkeypatch.setattr(detach.os, "geteuid", lambda: 0)
    monkeypatch.setattr(detach.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(detach.subprocess, "run", fake_run)
    monkeypatch.setenv("HOME", "/root")
    started = detach.detach(["/usr/bin/python3", "/s/bin/w.py", "/s/t.json"], "/l/t.log", unit="plotfleet-t-1")
    assert started == {"pid": 777, "method": "systemd-run", "unit": "plotfleet-t-1.service"}
    assert "--setenv=HOME=/root" in calls[0] and "StandardOutput=append:/l/t.log" in calls[0]
    assert calls[0][calls[0].index("--") + 1:] == ["/usr/bin/python3", "/s/bin/w.py", "/s/t.json"]


def test_transfers_start_their_worker_through_detach(monkeypatch, tmp_path):
    seen = {}

    def fake_detach(argv, log, unit=None, warnings=None, **kwargs):
        seen.update(argv=argv, log=log, unit=unit)
        return {"pid": 4321, "method": "systemd-run", "unit": unit + ".service"}

    monkeypatch.setattr(transfer.detach, "detach", fake_detach)
    plot_id = "ab" * 32
    cand = {"path": "/src/p.plot", "name": "p.plot", "dir": "/src", "size": 10, "dev": 1, "mtime": 0,
            "plot_id": plot_id, "k": 18}
    dest = {"path": "/dst", "host": "store1", "key": "store1:/dst"}
    params = {"state_dir": str(tmp_path / "state"), "log_dir": str(tmp_path / "logs"), "python": "/usr/bin/python3"}
    result = {"started": []}
    transfer._start({"candidate": cand, "destination": dest, "record": None}, params, 1000.0, result, [])
    assert seen["unit"] == "plotfleet-transfer-%s-1" % plot_id
    assert seen["argv"][0] == "/usr/bin/python3" and "/plotfleet-transfer-" in seen["argv"][-2]
    assert result["started"][0]["pid"] == 4321
    rec = json.loads((tmp_path / "state" / "transfers" / ("%s.json" % plot_id)).read_text())
    assert rec["pid"] is None and rec["state"] == "running"  # the worker stamps its own pid
