"""plot_start with real chiapos plots (k18-k20) through real Ansible on the system Python."""

import json
import os
import re
import subprocess

from module_batch import run_module_calls
from startstop_lib import K18, K18_DIES, K20, alive, host  # noqa: F401  (host is a fixture)

from plotfleet_testlib import PLOTTER_PYTHON, REPO, VENV_BIN, ansible_env, kill_tree, wait_for


def test_check_mode_starts_nothing(host):  # noqa: F811
    rc, result = host.start(K18, check=True)
    assert rc == 0, result
    assert result["changed"] is False
    assert result["would_start"] == [{"tmp_dir": host.tmp, "tmp2_dir": host.tmp, "dst_dir": host.dst}]
    assert result["started"] == [] and result["reasons"] == []
    assert host.records() == [] and os.listdir(host.logs) == [] and os.listdir(host.tmp) == []


def slow_python(tmp_path, delay=3):
    """The plotter's Python behind a few seconds' wait before it runs (as `chia plots create` loads for a
    while before it prints the plot's ID): plot_start is still waiting for that ID when the test kills it."""
    path = tmp_path / "slowbin" / "python3"
    path.parent.mkdir()
    path.write_text('#!/bin/sh\nsleep %d\nexec "%s" "$@"\n' % (delay, PLOTTER_PYTHON))
    path.chmod(0o755)
    return str(path)


def test_plot_survives_when_ansible_and_its_process_group_are_killed_mid_start(host, tmp_path):  # noqa: F811
    plotter = dict(K20, python=slow_python(tmp_path))
    playbook = tmp_path / "start.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False,
        # max_jobs counts every plotter on the machine (other setups may be plotting here): cap per tmp dir
        "tasks": [{"plotfleet.chia.plot_start": host.args(plotter=plotter, start_timeout=60, rules={
            "max_jobs": 1000, "max_jobs_per_tmp": 1, "crash_window_minutes": 0})}],
    }]))
    output = tmp_path / "ansible.out"
    with open(str(output), "w") as out:
        proc = subprocess.Popen([str(VENV_BIN / "ansible-playbook"), str(playbook)], cwd=str(REPO), env=ansible_env(),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        records = wait_for(lambda: host.records() or proc.poll() is not None, timeout=120) and host.records()
        assert records, "plot_start did not launch anything:\n" + output.read_text()[-3000:]
        assert proc.poll() is None and not records[0]["plot_id"], "plot_start was no longer waiting: no test"
    finally:
        kill_tree(proc.pid)  # its process group and ansible's workers (they run in their own sessions)
        proc.wait()
    record = records[0]
    assert alive(record["pid"]), "the plot died with ansible-playbook"
    assert os.getpgid(record["pid"]) == record["pid"] != proc.pid
    assert record["method"] in ("setsid", "systemd-run") and record["plotter_kind"] == "chiapos" and record["k"] == 20
    assert record["log"].startswith(host.logs)

    # The next pass knows the orphaned plot (its record joins the live process): no second start in its slot.
    rc, again = host.start(K20, rules={"max_jobs_per_tmp": 1, "max_before_step": 100})
    assert alive(record["pid"]), "the plot ended before the second pass: it proves nothing"
    assert rc == 0 and again["changed"] is False and again["reasons"] == ["tmp %s: 1 job (limit 1)" % host.tmp]
    assert len(host.records()) == 1

    plots = host.wait_plots(1)
    with open(record["log"]) as handle:
        log = handle.read()
    plot_id = re.search(r"^ID: ([0-9a-f]{64})$", log, re.M).group(1)
    assert len(plots) == 1 and plot_id in plots[0] and "Renamed final file" in log


def test_a_plotter_that_dies_at_once_backs_off(host):  # noqa: F811
    rules = {"crash_window_minutes": 10, "backoff_base_minutes": 5}
    rc, result = host.start(K18_DIES, rules=rules)
    assert rc != 0, result
    assert "plotter died at once" in result["msg"] and "Stripe size too large" in result["msg"]
    assert len(host.records()) == 1 and host.records()[0]["ended"] is not None
    for _ in range(2):  # the next passes wait instead of starting it again
        rc, result = host.start(K18_DIES, rules=rules)
        assert rc == 0 and result["changed"] is False, result
        assert len(result["reasons"]) == 1
        assert result["reasons"][0].startswith("backoff: 1 job died within 10 min of starting: waiting 5 min")
    assert len(host.records()) == 1


def test_pause_file_stops_starts(host):  # noqa: F811
    pause = os.path.join(host.state, "pause")
    open(pause, "w").close()
    rc, result = host.start(K18)
    assert rc == 0 and result["changed"] is False
    assert result["reasons"] == ["pause file %s exists: draining, no new starts" % pause]
    assert host.records() == []
    os.unlink(pause)
    rc, result = host.start(K18)
    assert rc == 0 and result["changed"] is True and len(result["started"]) == 1
    assert host.wait_plots(1)


def test_bad_input_fails_naming_the_option_and_starts_nothing(host):  # noqa: F811
    a_file = os.path.join(host.root, "a-file")
    open(a_file, "w").close()
    cases = [
        (dict(plotter=dict(K18, kind="plotman")), "plotter", "kind"),
        (dict(plotter=dict(K18, k=17)), "plotter.k: 17 is out of range for plotter kind chiapos (18..35)", None),
        (dict(plotter=K18, tmp_dirs=[os.path.join(host.root, "missing")]), "tmp_dirs: %s/missing does not exist"
         % host.root, None),
        (dict(plotter=K18, tmp_dirs=[a_file]), "tmp_dirs: %s is not a directory" % a_file, None),
        (dict(plotter={"kind": "madmax", "binary": "/nonexistent/chia_plot", "farmer_public_key": "a" * 96,
                       "pool_public_key": "b" * 96}), "plotter.binary: /nonexistent/chia_plot not found", None),
        (dict(plotter=dict(K18, python="/nonexistent/python3")), "plotter.python: /nonexistent/python3 not found",
         None),
        (dict(plotter=dict(K18, python="/bin/false")), "plotter.python: /bin/false cannot import chiapos", None),
        (dict(plotter=K18, rules={"time_windows": ["10-12"]}), "rules.time_windows: '10-12' is not HH:MM-HH:MM",
         None),
    ]
    calls = [host.start_args(extra.pop("plotter"), **extra) for extra, _, _ in cases]
    for (extra, expected, also), (rc, result) in zip(cases, run_module_calls("plot_start", calls)):
        assert rc != 0, (extra, result)
        assert expected in result["msg"], result["msg"]
        if also:
            assert also in result["msg"]
        assert not result.get("changed")
    assert host.records() == [] and os.listdir(host.logs) == [] and os.listdir(host.tmp) == []

