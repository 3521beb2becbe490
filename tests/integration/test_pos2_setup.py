"""setup.yml checks the plotter each host is set up with: chia_rs in the pos2 kind's Python, a custom
template's program on the host. Three localhost "hosts" in one run: a Python without chia_rs (the system
Python here), one with it (the test venv), and a custom template whose program does not exist."""

import json

from localhost_lib import host_vars, recap

from plotfleet_testlib import PLOTTER_PYTHON, REPO, run_playbook

SYSTEM_PYTHON = "/usr/bin/python3"   # has no chia_rs on this machine (checked by the test itself)


def test_setup_checks_chia_rs_for_pos2_and_the_program_of_a_custom_template(tmp_path):
    pos2 = {"plotfleet_plotter": "pos2", "plotfleet_k": 18, "plotfleet_strength": 2}
    missing = str(tmp_path / "no-such-plotter")
    hosts = {
        "no_chia_rs": host_vars(tmp_path, "no_chia_rs", plotfleet_plotter_python=SYSTEM_PYTHON, **pos2),
        "with_chia_rs": host_vars(tmp_path, "with_chia_rs", plotfleet_plotter_python=PLOTTER_PYTHON, **pos2),
        "custom": host_vars(tmp_path, "custom", plotfleet_plotter="custom", plotfleet_k=28,
                            plotfleet_custom_plotter={"argv": [missing, "-o", "{dst_dir}"]}),
    }
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": hosts, "children": {
        "plotters": {"hosts": dict((name, {}) for name in hosts)}, "storage": {"hosts": {}}}}}))
    proc = run_playbook(REPO / "setup.yml", inventory=inventory)
    out = proc.stdout
    assert ("plotfleet_plotter=pos2: %s cannot import chia_rs (ModuleNotFoundError: No module named 'chia_rs'). "
            "Fix: %s -m pip install chia_rs, or set plotfleet_plotter_python to a Python that has it"
            % (SYSTEM_PYTHON, SYSTEM_PYTHON)) in out, out[-4000:]
    assert ("plotfleet_plotter=custom: the program of plotfleet_custom_plotter.argv, %s, is not found or not "
            "executable" % missing) in out
    assert recap(out, "no_chia_rs")["failed"] == 1 and recap(out, "custom")["failed"] == 1
    assert recap(out, "with_chia_rs")["failed"] == 0, out[-4000:]
    assert out.count("cannot import chia_rs") == 1
