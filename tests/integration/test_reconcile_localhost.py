"""reconcile.yml and status.yml on localhost (connection local, system Python) with real chiapos plots.

One sequence, in order: check mode changes nothing -> a pass starts a plot -> the next pass, inside
the phase stagger, starts none (changed=0) and says why -> once the plot finished, a pass moves it
to storage -> a pass with nothing to do reports changed=0 -> status.yml prints the table and writes
valid JSON -> a JMESPath query. Plus setup.yml's list of what is missing. (Bad input in a pass, a
missing tmp dir, a wrong type, an unknown plotter beside a good host: test_role_inputs.py.)
"""

import json
import re

import pytest
from localhost_lib import host_vars, my_jobs, plots, recap, status_doc, write_inventory

from plotfleet_testlib import REPO, run_playbook, wait_for


@pytest.mark.live
def test_passes_start_stagger_move_and_report(tmp_path):
    inventory = write_inventory(tmp_path, {"localhost": host_vars(tmp_path)})
    root = tmp_path / "localhost"

    # Check mode: shows the plot it would start, starts nothing, writes no record.
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory, check=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap(proc.stdout)["changed"] == 0
    assert not list((root / "state").glob("jobs/*.json")) and not list((root / "logs").glob("*.log"))
    doc = status_doc(tmp_path)
    assert doc["check_mode"] is True and doc["summary"]["would_start"] == 1 and doc["summary"]["started"] == 0

    # Pass 1 starts a plot.
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap(proc.stdout)["changed"] == 1
    doc = status_doc(tmp_path)
    assert doc["summary"]["started"] == 1 and len(list((root / "state").glob("jobs/*.json"))) == 1
    assert "started" in (tmp_path / "status.txt").read_text()

    # Pass 2, inside the stagger: starts none, changes nothing, and says why.
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap(proc.stdout)["changed"] == 0, proc.stdout[-4000:]
    doc = status_doc(tmp_path)
    host = doc["hosts"][0]
    jobs = my_jobs(doc, root)
    assert doc["summary"]["started"] == 0 and len(jobs) == 1 and jobs[0]["state"] == "plotting"
    assert any("before phase 2:1" in reason for reason in host["start"]["reasons"]), host["start"]
    assert "before phase 2:1" in proc.stdout  # the table shows the reason
    assert len(list((root / "state").glob("jobs/*.json"))) == 1

    # The plot finishes; drain the host (pause file) so the next pass only moves.
    assert wait_for(lambda: plots(root / "dst"), timeout=180), "the k22 plot did not finish"
    (root / "state" / "pause").touch()
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap(proc.stdout)["changed"] == 1
    assert len(plots(root / "storage")) == 1 and plots(root / "dst") == []
    assert status_doc(tmp_path)["summary"]["moved"] == 1

    # Nothing to do: changed=0.
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap(proc.stdout)["changed"] == 0, proc.stdout[-4000:]

    # status.yml: the table on stdout, valid JSON with the finished plot in the history.
    (tmp_path / "status.json").unlink()
    proc = run_playbook(REPO / "status.yml", inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap(proc.stdout)["changed"] == 0
    for text in ("HOST", "PLOTTER", "PROGRESS", "localhost (plotter, storage)", "1 finished (history)", "storage "):
        assert text in proc.stdout
    doc = status_doc(tmp_path)
    assert doc["hosts"][0]["recent"][0]["state"] == "finished"
    assert doc["hosts"][0]["recent"][0]["k"] == 22

    # A JMESPath query instead of the table.
    proc = run_playbook(REPO / "status.yml", inventory=inventory,
                        extra_vars={"plotfleet_query": "hosts[0].dirs[?role=='storage'].plot_count"})
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert re.search(r'"?msg"?:\s*\[\s*1\s*\]', proc.stdout), proc.stdout[-2000:]


def test_setup_lists_what_is_missing_with_the_fix(tmp_path):
    plotter = host_vars(tmp_path, "p1", plotfleet_plotter="chia", plotfleet_plotter_binary=str(tmp_path / "no-chia"),
                        plotfleet_tmp_dirs=[str(tmp_path / "no-tmp")])
    storage = host_vars(tmp_path, "nas", plotfleet_storage_address="127.0.0.1", plotfleet_storage_ssh_port=1)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"p1": plotter, "nas": storage}, "children": {
        "plotters": {"hosts": {"p1": {}}}, "storage": {"hosts": {"nas": {}}}}}}))
    proc = run_playbook(REPO / "setup.yml", inventory=inventory)
    out = proc.stdout
    assert proc.returncode != 0
    assert "plotfleet_tmp_dirs: %s does not exist. Fix:" % (tmp_path / "no-tmp") in out
    assert "plotfleet_plotter=chia: %s does not run" % (tmp_path / "no-chia") in out
    assert "plotfleet_farmer_public_key is not set" in out
    assert "p1 cannot write to storage 127.0.0.1:%s over SSH" % (tmp_path / "nas" / "storage") in out
    assert "ssh-copy-id" in out and "5 problem(s) on p1" in out
    assert recap(out, "nas")["failed"] == 0 and recap(out, "p1")["failed"] == 1
