"""plot_info through Ansible against real chiapos plots started with plotfleet's chiapos driver.

Job A (k=22) has a launch record, as plot_start writes it; job B (k=22) is started "by hand" (no
record) and is killed mid-plot. Dirs have spaces in their names.
"""

import os
import signal
import subprocess
import time
import uuid

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import chiapos_driver, processes, records
from plotfleet_testlib import PLOTTER_PYTHON, run_module

pytestmark = pytest.mark.live

try:
    subprocess.run([PLOTTER_PYTHON, "-c", "import chiapos"], check=True, stderr=subprocess.DEVNULL)
    HAVE_CHIAPOS = True
except (OSError, subprocess.CalledProcessError):
    HAVE_CHIAPOS = False


def _start(driver, log, tmp, dst, k=22):
    argv = [PLOTTER_PYTHON, driver, "-k", str(k), "-n", "1", "-t", tmp, "-2", tmp, "-d", dst, "-r", "1",
            "-u", "32", "-b", "200", "-s", "65536"]
    with open(log, "w") as out, open(os.devnull) as devnull:
        proc = subprocess.Popen(argv, stdin=devnull, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, argv


def _wait_for(path, text, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(path) as handle:
            if text in handle.read():
                return
        assert proc.poll() is None, "plotter exited early:\n" + open(path).read()[-2000:]
        time.sleep(0.1)
    raise AssertionError("%r never appeared in %s" % (text, path))


def _mine(result, root):
    """Jobs of this test only (other plotters may run on the machine: they are adopted too)."""
    return [j for j in result["jobs"] if str(j.get("tmp_dir") or "").startswith(str(root))]


def _job(result, pid):
    found = [j for j in result["jobs"] if j["pid"] == pid]
    assert len(found) == 1, result["jobs"]
    return found[0]


@pytest.mark.skipif(not HAVE_CHIAPOS, reason="chiapos not installed for %s" % PLOTTER_PYTHON)
def test_plot_info_live(tmp_path):
    state_dir, log_dir = tmp_path / "state", tmp_path / "logs"
    tmp_a, tmp_b, dst = tmp_path / "tmp a", tmp_path / "tmp b", tmp_path / "plots dst"
    for d in (state_dir, log_dir, tmp_a, tmp_b, dst):
        d.mkdir()
    driver = chiapos_driver.install_driver(str(state_dir))
    assert os.path.basename(driver).startswith("plotfleet-chiapos-")
    log_a, log_b = str(log_dir / "a.log"), str(log_dir / "b.log")
    proc_a, argv_a = _start(driver, log_a, str(tmp_a), str(dst))
    proc_b, _ = _start(driver, log_b, str(tmp_b), str(dst))
    procs = []
    try:
        start_a = [p for p in processes.list_processes() if p["pid"] == proc_a.pid][0]["start"]
        launch_id = uuid.uuid4().hex
        records.write_record(str(state_dir), records.JOBS, launch_id, {
            "version": 1, "launch_id": launch_id, "plot_id": None, "plotter": "chiapos", "plotter_kind": "chiapos",
            "argv": argv_a, "pid": proc_a.pid, "proc_start": start_a, "log": log_a, "tmp_dir": str(tmp_a),
            "tmp2_dir": str(tmp_a), "dst_dir": str(dst), "k": 22, "count": 1, "started": time.time(),
            "unit": None, "method": "setsid"})
        args = {"log_dir": str(log_dir), "state_dir": str(state_dir), "tmp_dirs": [str(tmp_a), str(tmp_b)],
                "dst_dirs": [str(dst)]}
        _wait_for(log_a, "Computing table 2", proc_a)
        _wait_for(log_b, "Computing table 2", proc_b)

        rc, result = run_module("plot_info", args, check=True)
        assert rc == 0 and result["changed"] is False, result
        a, b = _job(result, proc_a.pid), _job(result, proc_b.pid)
        assert a["state"] == "plotting" and 0 < a["progress"] < 1 and a["launch_id"] == launch_id
        assert (a["tmp_dir"], a["tmp2_dir"], a["dst_dir"], a["k"]) == (str(tmp_a), str(tmp_a), str(dst), 22)
        assert len(a["id"] or "") == 64 and a["log"] == log_a and a["plotter"] == "chiapos"
        assert b["adopted"] and b["launch_id"] is None and b["log"] == log_b and b["tmp_dir"] == str(tmp_b)
        assert b["state"] == "plotting" and 0 < b["progress"] < 1
        assert a["tmp_bytes"] > 0 and b["tmp_bytes"] > 0
        dirs = dict((d["path"], d) for d in result["dirs"])
        assert dirs[str(tmp_a)]["temp_bytes"] >= a["tmp_bytes"] and dirs[str(dst)]["roles"] == ["dst"]

        # kill B mid-plot: dead, with its log and temp files
        os.killpg(proc_b.pid, signal.SIGKILL)
        proc_b.wait()
        rc, result = run_module("plot_info", args)
        assert rc == 0
        assert [j["pid"] for j in _mine(result, tmp_path)] == [proc_a.pid]
        dead = [h for h in result["history"] if h["id"] == b["id"]][0]
        assert dead["state"] == "dead" and dead["log"] == log_b and dead["pid"] is None
        assert dead["tmp_bytes"] > 0 and all(str(tmp_b) in f and b["id"] in f for f in dead["tmp_files"])
        assert dead["tmp_files"] and all(os.path.exists(f) for f in dead["tmp_files"])

        assert proc_a.wait(timeout=600) == 0, open(log_a).read()[-2000:]
        rc, result = run_module("plot_info", args)
        assert rc == 0 and _mine(result, tmp_path) == []
        done = [h for h in result["history"] if h["id"] == a["id"]][0]
        assert done["state"] == "finished" and done["launch_id"] == launch_id
        assert done["plot_file"] and os.path.isfile(done["plot_file"])
        assert os.path.dirname(done["plot_file"]) == str(dst)
        assert done["elapsed_s"] > 0 and done["phase_seconds"]
        assert [h["id"] for h in result["history"]][:2] == [a["id"], b["id"]]   # newest first
    finally:
        for proc in [proc_a, proc_b] + procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
