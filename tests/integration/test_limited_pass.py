"""A pass limited with --limit reports only the hosts it ran on, and a plotter whose storage host
was left out says so in its move reasons (real reconcile.yml on localhost aliases)."""

import json

from localhost_lib import host_vars, status_doc

from plotfleet_testlib import REPO, run_playbook

DISABLED = "starts disabled (plotfleet_start_enabled=false): no new plots this pass"
NOT_IN_PASS = "storage host s1 not in this pass (--limit?): no destination there"


def fleet_inventory(tmp_path):
    """p1 plots, s1 only stores (both are this machine)."""
    storage = host_vars(tmp_path, "s1")
    for key in ("plotfleet_tmp_dirs", "plotfleet_dst_dirs"):
        storage.pop(key)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"children": {
        "plotters": {"hosts": {"p1": dict(host_vars(tmp_path, "p1"), plotfleet_storage_dirs=[])}},
        "storage": {"hosts": {"s1": storage}}}}}))
    return inventory


def test_limited_pass_reports_its_hosts_and_why_nothing_can_move(tmp_path):
    inventory = fleet_inventory(tmp_path)
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory, args=["--limit", "p1"],
                        extra_vars={"plotfleet_start_enabled": False})
    assert proc.returncode == 0, proc.stdout[-4000:]
    doc = status_doc(tmp_path)
    assert [host["name"] for host in doc["hosts"]] == ["p1"]
    assert doc["summary"]["hosts"] == 1 and doc["summary"]["hosts_failed"] == 0 and doc["failures"] == []
    p1 = doc["hosts"][0]
    assert NOT_IN_PASS in p1["move"]["reasons"]
    assert p1["start"]["reasons"] == [DISABLED]
    table = (tmp_path / "status.txt").read_text()
    assert "no result" not in table and "s1" in table
    assert "move   " + NOT_IN_PASS in table and "wait   " + DISABLED in table
