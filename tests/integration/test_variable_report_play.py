"""The variables of every play host are checked by one controller task (tasks/variables.yml, run_once):
a bad value on a host that is not the one the task ran on still stops that host, and only that host,
before any module runs there, in one line naming the variable; plot_pass refuses a host's own start
settings. Real ansible-playbook runs on localhost; nothing starts (plotfleet_max_jobs 0 or k refused)."""

from localhost_lib import host_vars, recap, status_doc, write_inventory

from plotfleet_testlib import REPO, run_playbook

# The status role's first task (the fleet_report action).
STATUS_TASK = "TASK [plotfleet.chia.status : Check the status settings, build the fleet status and write the reports]"


def test_each_host_stops_on_its_own_bad_value_only(tmp_path):
    hosts = {"fine": host_vars(tmp_path, "fine", plotfleet_max_jobs=0),
             "bad": host_vars(tmp_path, "bad", plotfleet_max_jobs=-2),
             "lowk": host_vars(tmp_path, "lowk", plotfleet_k=17)}
    inventory = write_inventory(tmp_path, hosts, storage=[])
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory)
    out = proc.stdout
    assert proc.returncode != 0
    failures = dict((f["host"], f) for f in status_doc(tmp_path)["failures"])
    assert sorted(failures) == ["bad", "lowk"], out[-4000:]
    assert failures["bad"]["msg"] == "plotfleet_max_jobs must be >= 0, got -2"
    assert "plotfleet_k: 17 is out of range for plotter kind chiapos" in failures["lowk"]["msg"]
    assert recap(out, "fine")["failed"] == 0 and recap(out, "fine")["changed"] == 0
    # bad stopped at the check: its plot_pass never ran (no gathered state in the status)
    by_name = dict((h["name"], h) for h in status_doc(tmp_path)["hosts"])
    check = out.split("Stop on a plotfleet_* variable with a wrong type or value", 1)[1].split("TASK [", 1)[0]
    assert "fatal: [bad]" in check and "fatal: [lowk]" not in check
    assert not by_name["bad"].get("jobs")


def test_the_status_settings_are_checked_once_and_a_bad_one_stops_the_pass(tmp_path):
    hosts = {"one": host_vars(tmp_path, "one", plotfleet_max_jobs=0),
             "two": host_vars(tmp_path, "two", plotfleet_max_jobs=0)}
    inventory = write_inventory(tmp_path, hosts, storage=[])
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory, args=["-e", "plotfleet_table_width=wide"])
    out = proc.stdout
    assert proc.returncode != 0
    check = out.split(STATUS_TASK, 1)[1].split("TASK [", 1)[0]
    assert "argument 'plotfleet_table_width' is of type str" in check, out[-3000:]
    assert check.count("fatal: [") == 1  # one check for the play, on the controller
