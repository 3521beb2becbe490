"""Replot per storage dir through the reconcile role (issue 13): the variables as a farmer writes them ->
the role's gather (plot_info with replot) -> the storage offer. A host with replot off and one dir
`enabled: true` offers replot room in that dir only; a host with replot on and one dir `enabled: false`
offers it everywhere else. Real k18 plots, ansible-playbook on localhost; nothing is deleted."""

import json
import os

import replot_lib as lib
import yaml
from localhost_lib import host_vars, write_inventory

from plotfleet_testlib import run_playbook

PLAYBOOK = [{
    "name": "Gather and keep the offer", "hosts": "storage", "gather_facts": False,
    "tasks": [
        {"name": "Gather", "ansible.builtin.include_role": {
            "name": "plotfleet.chia.reconcile", "tasks_from": "gather", "rolespec_validate": False}},
        {"name": "Keep the offer", "ansible.builtin.copy": {
            "content": "{{ plotfleet_storage_offer | to_json }}", "dest": "{{ plotfleet_state_dir }}/offer.json",
            "mode": "0600"}},
    ]}]


def storage_host(tmp_path, name, replot_of):
    """A storage host with two storage dirs of real old plots; replot_of(a, b) -> its plotfleet_replot."""
    a, b = tmp_path / name / "a", tmp_path / name / "b"
    for directory in (a, b):
        directory.mkdir(parents=True)
        for src, date in zip(lib.og_plots(2), ("2020-01-01-00-00", "2021-01-01-00-00")):
            lib.place(directory, src, date)
    values = host_vars(tmp_path, name, plotfleet_storage_dirs=[str(a), str(b)], plotfleet_start_enabled=False,
                       plotfleet_replot=dict(replot_of(str(a), str(b)), journal=str(tmp_path / name / "j.jsonl")))
    return values, (a, b)


def test_a_dir_enabled_on_its_own_is_offered_with_replot_room_and_a_dir_disabled_is_not(tmp_path):
    hosts, dirs = {}, {}
    hosts["only_a"], dirs["only_a"] = storage_host(
        tmp_path, "only_a", lambda a, b: {"enabled": False, "dirs": {a: {"enabled": True}}})
    hosts["not_b"], dirs["not_b"] = storage_host(
        tmp_path, "not_b", lambda a, b: {"enabled": True, "dirs": {b: {"enabled": False}}})
    playbook = tmp_path / "offer.yml"
    playbook.write_text(yaml.safe_dump(PLAYBOOK))
    before = dict((name, [sorted(os.listdir(str(d))) for d in pair]) for name, pair in dirs.items())
    proc = run_playbook(playbook, inventory=write_inventory(tmp_path, hosts))
    assert proc.returncode == 0, proc.stdout[-4000:]
    for name, (a, b) in dirs.items():
        offer = json.loads((tmp_path / name / "state" / "offer.json").read_text())
        by_path = dict((item["path"], item) for item in offer)
        assert by_path[str(a)].get("replot", {}).get("room_plots") == 2, (name, offer)
        assert "replot" not in by_path[str(b)], (name, offer)
        assert [sorted(os.listdir(str(d))) for d in (a, b)] == before[name]   # the gather deletes nothing
