"""reconcile.yml's rounds (issue 15): every host's pass is one plot_pass task (the storage hosts' gather and offer,
the plotters' clean-up and starts, a host in both groups doing both), so a quiet fleet pays one module round; a
plotter with a finished plot moves it in a second round, to the offers of THIS pass (real playbook on localhost
aliases)."""

import json
import sys
from pathlib import Path

from localhost_lib import host_vars, status_doc

from plotfleet_testlib import REPO, run_playbook

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plotmove_lib as lib  # noqa: E402

PASS_TASK = "TASK [plotfleet.chia.reconcile : Run the pass on every host]"
MOVE_TASK = "TASK [plotfleet.chia.reconcile : Move the finished plots to this pass's offers]"
TIMING = REPO / "bench" / "pass_timing" / "callback_plugins"


def section(out, marker):
    assert marker in out, out[-3000:]
    return out.split(marker, 1)[1].split("TASK [", 1)[0]


def hosts_in(text):
    return sorted(line.split("[", 1)[1].split("]", 1)[0] for line in text.splitlines()
                  if line.startswith(("ok: [", "changed: [", "skipping: [", "fatal: [")))


def test_every_host_passes_in_one_task_and_only_a_plotter_with_a_plot_runs_the_move_round(tmp_path):
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
    first_round, move_round = section(out, PASS_TASK), section(out, MOVE_TASK)
    assert hosts_in(first_round) == ["d1", "p1", "s1"] and "skipping" not in first_round, first_round
    assert hosts_in(move_round) == ["p1"], move_round  # d1 has nothing to move: it is not in the move play
    doc = status_doc(tmp_path)
    assert doc["failures"] == [] and doc["summary"]["hosts_ok"] == 3, doc["failures"]
    dirs = dict((host["name"], sorted(d["path"] for d in host["dirs"])) for host in doc["hosts"])
    assert dirs["s1"] == [str(tmp_path / "s1" / "storage")]
    assert dirs["d1"] == sorted(str(tmp_path / "d1" / name) for name in ("tmp", "dst", "storage"))
    assert dirs["p1"] == sorted(str(tmp_path / "p1" / name) for name in ("tmp", "dst"))
    # p1's move round chose among the storage hosts' offers of this pass
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
    assert hosts_in(section(out, PASS_TASK)) == ["p1", "s1"]  # p1's pass runs, s1's is unreachable
    assert hosts_in(section(out, MOVE_TASK)) == ["p1"]  # p1's plot waits for offers: there are none
    doc = status_doc(tmp_path)
    failed = dict((failure["host"], failure) for failure in doc["failures"])
    assert list(failed) == ["s1"] and "unreachable" in json.dumps(failed["s1"]), doc["failures"]
    p1 = next(host for host in doc["hosts"] if host["name"] == "p1")
    assert p1["move"]["would_move"] == [], p1["move"]  # nothing offered: nowhere to move
    assert "fatal: [s1]" in section(out, "TASK [plotfleet.chia.status : Fail the hosts that failed this pass]")


BETWEEN_PASSES = """
- name: First pass
  ansible.builtin.import_playbook: {reconcile}
- name: Between the passes, d1's storage changes (dir A goes, dir B comes) and a plot finishes on d1
  hosts: d1
  gather_facts: false
  tasks:
    - name: Remove A
      ansible.builtin.file: {{path: "{a}", state: absent}}
    - name: Make B
      ansible.builtin.file: {{path: "{b}", state: directory, mode: "0755"}}
    - name: Finish a plot
      ansible.builtin.copy: {{src: "{plot}", dest: "{dst}/", remote_src: true, mode: "0644"}}
- name: Second pass
  ansible.builtin.import_playbook: {reconcile}
"""


FAIL_TASK = "Fail the hosts that failed this pass"


def module_rounds(events):
    """Per pass (split where its first play starts): [(task, hosts it ran on)] of every plot_pass task, and
    whether any of its tasks reported a change."""
    passes, between = [], False
    for event in events:
        if event["kind"] == "play_start":
            between = event["play"].startswith("Between the passes")  # the test's own play
            if event["play"] == "Check the plotfleet_* variables":
                passes.append({"rounds": {}, "changed": False})
        elif event["kind"] == "host_end" and passes and not between:
            passes[-1]["changed"] |= event["changed"]
            if event["action"] == "plotfleet.chia.plot_pass" and event["status"] != "skipped":
                passes[-1]["rounds"].setdefault(event["task"], []).append(event["host"])
    return [([(task, sorted(hosts)) for task, hosts in one["rounds"].items()], one["changed"])
            for one in passes]


def test_a_quiet_pass_is_one_round_and_a_plot_moves_to_this_passs_offer_in_the_next(tmp_path):
    """Two passes in one run, so that the first pass's offers are still facts in the second: d1 (plotter and
    storage) must move its new plot to dir B, which only the second pass's gather offers; with the first pass's
    offers (B missing then) or none, the plot stays or goes elsewhere."""
    storage = host_vars(tmp_path, "s1")
    for key in ("plotfleet_tmp_dirs", "plotfleet_dst_dirs"):
        storage.pop(key)
    dir_a, dir_b = tmp_path / "d1" / "storage-a", tmp_path / "d1" / "storage-b"
    dir_a.mkdir(parents=True)
    both = host_vars(tmp_path, "d1", plotfleet_storage_dirs=[str(dir_a), str(dir_b)], plotfleet_start_enabled=False)
    plotter = dict(host_vars(tmp_path, "p1", plotfleet_start_enabled=False), plotfleet_storage_dirs=[])
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"children": {
        "plotters": {"hosts": {"p1": plotter, "d1": both}}, "storage": {"hosts": {"s1": storage, "d1": {}}}}}}))
    (plot,) = lib.place_plots(tmp_path, 1)  # outside every dir of the fleet until the first pass is over
    playbook = tmp_path / "two_passes.yml"
    playbook.write_text(BETWEEN_PASSES.format(reconcile=REPO / "reconcile.yml", a=dir_a, b=dir_b, plot=plot,
                                              dst=tmp_path / "d1" / "dst"))
    timing = tmp_path / "timing.json"
    proc = run_playbook(playbook, inventory=inventory, env={
        "ANSIBLE_CALLBACK_PLUGINS": str(TIMING), "ANSIBLE_CALLBACKS_ENABLED": "pass_timing",
        "PLOTFLEET_PASS_TIMING_FILE": str(timing)})
    assert proc.returncode == 0, proc.stdout[-4000:]
    events = json.loads(timing.read_text())["events"]
    first, second = module_rounds(events)
    # No host failed: the fail play has no hosts, so no task of it ran on (or was skipped for) any host.
    assert not [e for e in events if e["kind"] == "host_end" and e["task"].endswith(FAIL_TASK)], events
    pass_task, move_task = PASS_TASK[len("TASK ["):-1], MOVE_TASK[len("TASK ["):-1]
    # Quiet: one plot_pass task for the whole fleet, storage and plotters, and nothing changed.
    assert first == ([(pass_task, ["d1", "p1", "s1"])], False), first
    # A finished plot: the move round on d1 alone.
    assert second[0] == [(pass_task, ["d1", "p1", "s1"]), (move_task, ["d1"])], second
    (d1,) = [host for host in status_doc(tmp_path)["hosts"] if host["name"] == "d1"]
    assert [m["destination"] for m in d1["move"]["moved"]] == [str(dir_b / plot.name)], d1["move"]
    assert (dir_b / plot.name).exists() and not (tmp_path / "d1" / "dst" / plot.name).exists()
