"""reconcile.yml's plays (issue 15): the storage hosts' pass runs on the storage hosts only and the plotters'
on the plotters only - no task skipped on a whole group - and a host in both groups is gathered whole by
the storage pass and still runs its plotter's pass (real playbook on localhost aliases)."""

import json
import sys
from pathlib import Path

from localhost_lib import host_vars, status_doc

from plotfleet_testlib import REPO, run_playbook

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plotmove_lib as lib  # noqa: E402

STORAGE_TASK = "TASK [plotfleet.chia.reconcile : Gather the storage host]"
PLOTTER_TASK = "TASK [plotfleet.chia.reconcile : Clean up, start and move as the rules allow]"


def section(out, marker):
    assert marker in out, out[-3000:]
    return out.split(marker, 1)[1].split("TASK [", 1)[0]


def hosts_in(text):
    return sorted(line.split("[", 1)[1].split("]", 1)[0] for line in text.splitlines()
                  if line.startswith(("ok: [", "changed: [", "skipping: [", "fatal: [")))


def test_each_group_runs_its_own_pass_and_a_host_in_both_runs_both(tmp_path):
    storage = host_vars(tmp_path, "s1")
    for key in ("plotfleet_tmp_dirs", "plotfleet_dst_dirs"):
        storage.pop(key)
    plotter = dict(host_vars(tmp_path, "p1"), plotfleet_storage_dirs=[])
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"children": {
        "plotters": {"hosts": {"p1": plotter, "d1": host_vars(tmp_path, "d1")}},
        "storage": {"hosts": {"s1": storage, "d1": {}}}}}}))
    lib.place_plots(tmp_path / "p1" / "dst", 1)  # a finished plot: where would p1 move it?
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory, check=True,
                        extra_vars={"plotfleet_start_enabled": False})
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:]
    storage_pass, plotter_pass = section(out, STORAGE_TASK), section(out, PLOTTER_TASK)
    assert hosts_in(storage_pass) == ["d1", "s1"] and "skipping" not in storage_pass, storage_pass
    assert hosts_in(plotter_pass) == ["d1", "p1"] and "skipping" not in plotter_pass, plotter_pass
    doc = status_doc(tmp_path)
    assert doc["failures"] == [] and doc["summary"]["hosts_ok"] == 3, doc["failures"]
    dirs = dict((host["name"], sorted(d["path"] for d in host["dirs"])) for host in doc["hosts"])
    assert dirs["s1"] == [str(tmp_path / "s1" / "storage")]
    assert dirs["d1"] == sorted(str(tmp_path / "d1" / name) for name in ("tmp", "dst", "storage"))
    assert dirs["p1"] == sorted(str(tmp_path / "p1" / name) for name in ("tmp", "dst"))
    # p1's move step chose among the storage hosts' offers (every offer is known before a plotter's pass)
    moves = dict((host["name"], host["move"]) for host in doc["hosts"])
    (move,) = moves["p1"]["would_move"]
    offered = {"s1": str(tmp_path / "s1" / "storage"), "d1": str(tmp_path / "d1" / "storage")}
    assert offered.get(move["host"]) == move["destination"], moves["p1"]


def test_an_unreachable_storage_host_offers_nothing_and_fails_at_the_end_only(tmp_path):
    storage = dict(host_vars(tmp_path, "s1"), ansible_connection="ssh", ansible_host="127.0.0.1", ansible_port=1)
    plotter = dict(host_vars(tmp_path, "p1"), plotfleet_storage_dirs=[])
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"children": {
        "plotters": {"hosts": {"p1": plotter}}, "storage": {"hosts": {"s1": storage}}}}}))
    lib.place_plots(tmp_path / "p1" / "dst", 1)
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory, check=True,
                        extra_vars={"plotfleet_start_enabled": False})
    out = proc.stdout
    assert proc.returncode != 0, out[-3000:]
    assert hosts_in(section(out, PLOTTER_TASK)) == ["p1"]  # p1's pass runs without s1's offer
    doc = status_doc(tmp_path)
    failed = dict((failure["host"], failure) for failure in doc["failures"])
    assert list(failed) == ["s1"] and "unreachable" in json.dumps(failed["s1"]), doc["failures"]
    p1 = next(host for host in doc["hosts"] if host["name"] == "p1")
    assert p1["move"]["would_move"] == [], p1["move"]  # nothing offered: nowhere to move
    assert "fatal: [s1]" in section(out, "TASK [plotfleet.chia.status : Fail the hosts that failed this pass]")
