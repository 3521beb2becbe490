"""What users give the roles, through real ansible-playbook runs on localhost: unknown variables are
warned about per host, every number works given as text (-e key=value), and a bad value stops the host
with one short line naming the plotfleet_* variable (not the argument spec, not a module option).

No test here starts a plot: plotfleet_max_jobs is 0 or starts are disabled.
"""

import re

import pytest
import yaml
from localhost_lib import host_vars, recap, status_doc, write_inventory

from plotfleet_testlib import REPO, run_playbook

WARN_TASK = "Check the plotfleet_* variables of every host"   # it warns, one [WARNING] line per host and name

# A valid value, other than the default, for every number of both roles (as text, like -e gives it).
NUMBERS = {
    "plotfleet_history_limit": "7", "plotfleet_stall_after_s": "900", "plotfleet_k": "22",
    "plotfleet_plots_per_job": "2", "plotfleet_threads": "3", "plotfleet_buckets": "64",
    "plotfleet_buffer_mib": "400", "plotfleet_stripe": "32768", "plotfleet_compression": "0",
    "plotfleet_nice": "5", "plotfleet_max_jobs": "0", "plotfleet_max_jobs_per_tmp": "3",
    "plotfleet_max_before_step": "2", "plotfleet_min_start_interval_minutes": "0.5",
    "plotfleet_max_phase1_jobs": "3", "plotfleet_tmp_space_bytes": "1000000", "plotfleet_dst_space_bytes": "100000",
    "plotfleet_max_load_per_cpu": "500.5", "plotfleet_min_cpu_idle_percent": "0",
    "plotfleet_min_mem_available_bytes": "1", "plotfleet_crash_window_minutes": "1.5",
    "plotfleet_backoff_base_minutes": "2", "plotfleet_backoff_max_minutes": "60",
    "plotfleet_max_starts": "2", "plotfleet_move_max_per_destination": "2", "plotfleet_move_max_per_source": "2",
    "plotfleet_move_bwlimit_kbps": "100000", "plotfleet_move_retry_after_s": "60", "plotfleet_move_max_attempts": "3",
    "plotfleet_storage_ssh_port": "2222", "plotfleet_storage_min_free_bytes": "1000", "plotfleet_table_width": "140",
    "plotfleet_strength": "2",
}


def numeric_settings():
    names = set()
    for role in ("reconcile", "status"):
        for entry in yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())[
                "argument_specs"].values():
            names |= set(n for n, option in entry["options"].items() if option["type"] in ("int", "float"))
    return names


def as_text(values):
    """-e key=value for each: Ansible passes every such value as a string."""
    args = []
    for name, value in sorted(values.items()):
        args += ["-e", "%s=%s" % (name, value)]
    return args


def task_section(out, title):
    """The output of one task (from its TASK line to the next one)."""
    match = re.search(r"^TASK \[[^\]]*: %s\][^\n]*\n(.*?)(?=^TASK \[|^PLAY RECAP)" % re.escape(title), out, re.M | re.S)
    return match.group(1) if match else ""


def host_part(section, host):
    """The lines one host printed in a task section."""
    match = re.search(r"^\w+: \[%s\].*?(?=^\w+: \[|\Z)" % re.escape(host), section, re.M | re.S)
    return match.group(0) if match else ""


def warned_lines(section, host):
    """The messages of the "[WARNING]: host: message" lines of one host (the task runs once, for every host of
    the play); a warning Ansible wrapped over several lines is joined back into one."""
    warnings = re.findall(r"^\[WARNING\]: (.*?)(?=^\[|^\w+: \[|\Z)", section, re.M | re.S)
    prefix = "%s: " % host
    return "\n".join(" ".join(w.split())[len(prefix):] for w in warnings if w.startswith(prefix))


def test_a_variable_no_role_knows_is_warned_per_host_with_the_nearest_name(tmp_path):
    hosts = {"typo": host_vars(tmp_path, "typo", plotfleet_start_enabled=False, plotfleet_max_job=1),
             "fine": host_vars(tmp_path, "fine", plotfleet_start_enabled=False)}
    inventory = write_inventory(tmp_path, hosts, storage=[])
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory, args=["-e", "plotfleet_tabel_width=120"])
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:]
    warned = task_section(out, WARN_TASK)
    typo, fine = warned_lines(warned, "typo"), warned_lines(warned, "fine")
    assert "plotfleet_max_job is not a plotfleet setting" in typo and "did you mean plotfleet_max_jobs?" in typo
    assert "plotfleet_max_job " not in fine  # only the host that sets it
    for part in (typo, fine):  # an extra var reaches every host
        assert "plotfleet_tabel_width is not a plotfleet setting" in part
        assert "did you mean plotfleet_table_width?" in part
    assert recap(out, "typo")["changed"] == 0 and recap(out, "fine")["changed"] == 0
    assert recap(out, "typo")["failed"] == 0

    # status.yml (the gather entry point) warns too; a host without unknown variables is not listed.
    proc = run_playbook(REPO / "status.yml", inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    warned = task_section(proc.stdout, WARN_TASK)
    assert "did you mean plotfleet_max_jobs?" in warned_lines(warned, "typo")
    assert warned_lines(warned, "fine") == ""


def test_the_numbers_cover_every_numeric_variable():
    assert set(NUMBERS) == numeric_settings()


def test_every_number_works_given_as_text(tmp_path):
    inventory = write_inventory(tmp_path, {"localhost": host_vars(tmp_path)})
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory, args=as_text(NUMBERS))
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:]
    assert recap(out)["failed"] == 0 and recap(out)["changed"] == 0
    host = status_doc(tmp_path)["hosts"][0]
    assert host["start"]["started"] == [] and host["start"]["would_start"] == []
    assert any("(limit 0)" in reason for reason in host["start"]["reasons"]), host["start"]  # plotfleet_max_jobs=0
    width = max(len(line) for line in (tmp_path / "status.txt").read_text().splitlines())
    assert width == 140  # plotfleet_table_width=140

    proc = run_playbook(REPO / "status.yml", inventory=inventory, args=as_text(NUMBERS))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap(proc.stdout)["failed"] == 0
    width = max(len(line) for line in (tmp_path / "status.txt").read_text().splitlines())
    assert width == 140


def test_text_that_is_no_number_stops_the_host_in_one_short_line(tmp_path):
    inventory = write_inventory(tmp_path, {"localhost": host_vars(tmp_path, plotfleet_start_enabled=False)})
    # The checkout's own result format (YAML), where a dumped argument spec takes ~240 lines.
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory, args=["-e", "plotfleet_max_jobs=abc"],
                        env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml"})
    out = proc.stdout
    assert proc.returncode != 0
    stopped = host_part(task_section(out, "Stop on a plotfleet_* variable with a wrong type or value"), "localhost")
    assert stopped.startswith("fatal") and "plotfleet_max_jobs must be an int, got 'abc'" in stopped, out[-3000:]
    assert "argument_spec_data" not in out and "plotfleet_backoff_base_minutes" not in out  # no spec dumped
    # Up to the rescue: 224 lines with the argument spec printed, 22 without it (the report after it
    # lists every plotter process on the machine, so its length is not this test's to judge).
    before_rescue = out[:out.index("TASK [Record why this host failed]")]
    assert len(before_rescue.splitlines()) < 40, before_rescue
    failures = dict((f["host"], f["msg"]) for f in status_doc(tmp_path)["failures"])
    assert failures == {"localhost": "plotfleet_max_jobs must be an int, got 'abc'"}


BAD_VALUES = {
    "max_jobs": ({"plotfleet_max_jobs": -2}, "plotfleet_max_jobs must be >= 0, got -2"),
    "overrides": ({"plotfleet_max_jobs_per_tmp_overrides": {"/mnt/nvme1": -1}},
                  "plotfleet_max_jobs_per_tmp_overrides[/mnt/nvme1] must be >= 0, got -1"),
    "windows": ({"plotfleet_time_windows": ["22:00-6"]}, "plotfleet_time_windows: '22:00-6' is not HH:MM-HH:MM"),
    "stagger": ({"plotfleet_stagger_step": "second"}, "plotfleet_stagger_step must look like '2:1'"),
    "k": ({"plotfleet_k": 17}, "plotfleet_k: 17 is out of range for plotter kind chiapos (18..35)"),
    "retry": ({"plotfleet_move_retry_after_s": -1}, "plotfleet_move_retry_after_s must be >= 0, got -1"),
}


def test_bad_values_are_named_by_the_variable_the_user_set(tmp_path):
    """One pass for the bad values above and a missing tmp dir, a wrong type and an unknown plotter (each
    names the variable and the host), beside a good host that goes on."""
    hosts = dict((name, host_vars(tmp_path, name, **values)) for name, (values, _) in BAD_VALUES.items())
    hosts.update({
        "missing_tmp": host_vars(tmp_path, "missing_tmp", plotfleet_tmp_dirs=[str(tmp_path / "no-such-dir")]),
        "wrong_type": host_vars(tmp_path, "wrong_type", plotfleet_k="thirty-two"),
        "bad_plotter": host_vars(tmp_path, "bad_plotter", plotfleet_plotter="gpuplot"),
        "good": host_vars(tmp_path, "good", plotfleet_start_enabled=False),
    })
    bad_input = ("missing_tmp", "wrong_type", "bad_plotter")
    inventory = write_inventory(tmp_path, hosts, storage=[])
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory)
    out = proc.stdout
    assert proc.returncode != 0
    assert re.search(r"fatal: \[missing_tmp\].*plotfleet_tmp_dirs: %s" % re.escape(str(tmp_path / "no-such-dir")), out)
    assert re.search(r"fatal: \[wrong_type\].*plotfleet_k", out)
    assert re.search(r"fatal: \[bad_plotter\].*plotfleet_plotter.*gpuplot", out)
    failures = dict((f["host"], f["msg"]) for f in status_doc(tmp_path)["failures"])
    assert set(failures) == set(BAD_VALUES) | set(bad_input)
    assert "plotfleet_tmp_dirs" in failures["missing_tmp"] and "plotfleet_k" in failures["wrong_type"]
    assert "plotfleet_plotter" in failures["bad_plotter"]
    for name, (_, message) in BAD_VALUES.items():
        assert message in failures[name], (name, failures[name])
        assert not re.search(r"\b(rules|plotter)\.\w", failures[name]), failures[name]  # no module option names
    assert recap(out, "good")["failed"] == 0  # the good host went on
    for name in bad_input + tuple(BAD_VALUES):
        assert recap(out, name)["failed"] == 1
        assert not list((tmp_path / name / "state").glob("jobs/*.json"))


@pytest.mark.parametrize("stop_id, message", [(None, "plotfleet_stop_id is required"),
                                              ("plot-1", "plotfleet_stop_id must be a plot id prefix")])
def test_stop_names_plotfleet_stop_id(tmp_path, stop_id, message):
    inventory = write_inventory(tmp_path, {"localhost": host_vars(tmp_path)})
    extra = {"plotfleet_stop_id": stop_id} if stop_id else None
    proc = run_playbook(REPO / "stop.yml", inventory=inventory, extra_vars=extra)
    assert proc.returncode != 0
    assert message in proc.stdout, proc.stdout[-3000:]
    assert "plot_id" not in proc.stdout and "argument_spec_data" not in proc.stdout
