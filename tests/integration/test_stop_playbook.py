"""stop.yml on localhost with real chiapos plots: stop one job by id prefix (check mode first), then,
after a plot is SIGKILLed, `plotfleet_stop_id=dead` deletes only the temp files that dead job left."""

import os
import signal

import pytest
from localhost_lib import host_vars, my_jobs, recap, status_doc, write_inventory

from plotfleet_testlib import REPO, run_playbook, wait_for

FOREIGN_ID = "ef" * 32
# The plots here only have to be alive while stop.yml runs: one thread is enough (half the CPU). Not
# niced: on a busy machine a niced plotter takes long to write its first temp file, which this test waits for.
ALIVE_PLOT = {"plotfleet_threads": 1}


def temp_files_of(directory, plot_id):
    return sorted(n for n in os.listdir(str(directory)) if plot_id in n and n.endswith(".tmp"))


def start_one_plot(tmp_path, inventory, root):
    """A reconcile pass starts one k22 plot; its job row once it has temp files."""
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory)
    assert proc.returncode == 0 and recap(proc.stdout)["changed"] == 1, proc.stdout[-4000:]
    (job,) = [j for j in my_jobs(status_doc(tmp_path), root) if j.get("just_started")]
    assert job["id"] and wait_for(lambda: temp_files_of(root / "tmp", job["id"]), timeout=60)
    return job


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.live
def test_stop_by_id_then_clean_up_after_a_dead_job(tmp_path):
    inventory = write_inventory(tmp_path, {"localhost": host_vars(tmp_path, **ALIVE_PLOT)})
    root = tmp_path / "localhost"
    foreign = root / "tmp" / ("plot-k22-2026-01-01-00-00-%s.plot.table1.tmp" % FOREIGN_ID)
    foreign.write_text("a temp file of no job on this host")

    job = start_one_plot(tmp_path, inventory, root)
    prefix = job["id"][:8]
    proc = run_playbook(REPO / "stop.yml", inventory=inventory, check=True,
                        extra_vars={"plotfleet_stop_id": prefix})
    assert proc.returncode == 0 and recap(proc.stdout)["changed"] == 1, proc.stdout[-4000:]
    assert alive(job["pid"]) and temp_files_of(root / "tmp", job["id"]), "check mode signals and deletes nothing"
    # check mode says what it would do, not what a real run says it did
    would = "would terminate %s (pid %d), group %d" % (prefix, job["pid"], job["pid"])
    assert would in proc.stdout and "would delete %s" % (root / "tmp") in proc.stdout, proc.stdout[-4000:]
    assert "terminated " not in proc.stdout and "deleted " not in proc.stdout, proc.stdout[-4000:]
    proc = run_playbook(REPO / "stop.yml", inventory=inventory, extra_vars={"plotfleet_stop_id": prefix})
    assert proc.returncode == 0 and recap(proc.stdout)["changed"] == 1, proc.stdout[-4000:]
    assert not alive(job["pid"]) and temp_files_of(root / "tmp", job["id"]) == []
    assert "terminated %s (pid %d), group %d: exited" % (prefix, job["pid"], job["pid"]) in proc.stdout
    assert "deleted %s" % (root / "tmp") in proc.stdout and "would terminate" not in proc.stdout, proc.stdout[-4000:]
    proc = run_playbook(REPO / "stop.yml", inventory=inventory, extra_vars={"plotfleet_stop_id": prefix})
    assert proc.returncode == 0 and recap(proc.stdout)["changed"] == 0, proc.stdout[-4000:]

    # A plot that crashes (SIGKILL) leaves its temp files; `dead` deletes them, and only them.
    job = start_one_plot(tmp_path, inventory, root)
    os.kill(job["pid"], signal.SIGKILL)
    assert wait_for(lambda: not alive(job["pid"]), timeout=10)
    left = temp_files_of(root / "tmp", job["id"])
    assert left
    dead = {"plotfleet_stop_id": "dead"}
    proc = run_playbook(REPO / "stop.yml", inventory=inventory, check=True, extra_vars=dead)
    assert proc.returncode == 0 and recap(proc.stdout)["changed"] == 1, proc.stdout[-4000:]
    assert temp_files_of(root / "tmp", job["id"]) == left
    assert "would delete %s" % (root / "tmp" / left[0]) in proc.stdout, proc.stdout[-4000:]
    proc = run_playbook(REPO / "stop.yml", inventory=inventory, extra_vars=dead)
    assert proc.returncode == 0 and recap(proc.stdout)["changed"] == 1, proc.stdout[-4000:]
    assert temp_files_of(root / "tmp", job["id"]) == [] and foreign.exists()
    proc = run_playbook(REPO / "stop.yml", inventory=inventory, extra_vars=dead)
    assert proc.returncode == 0 and recap(proc.stdout)["changed"] == 0, proc.stdout[-4000:]
