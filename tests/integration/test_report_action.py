"""The write_reports action through real Ansible: it writes on the controller without connecting to the
task's host (an ssh host that refuses connections), honours check mode (nothing written, changed),
reports a write as changed and an up-to-date file as not."""

import json

from localhost_lib import recap

from plotfleet_testlib import run_playbook

PLAY = [{
    "name": "Write reports", "hosts": "far", "gather_facts": False,
    "tasks": [{"name": "Write the files", "plotfleet.chia.write_reports": {"files": [
        {"dest": "{{ out }}/sub/status.json", "content": "{{ {'ok': 1} | to_json }}"},
        {"dest": None, "content": "skipped"}]}}],
}]


def test_write_reports_writes_on_the_controller_honours_check_mode_and_reports_changes(tmp_path):
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps(PLAY))
    inventory = tmp_path / "hosts.ini"   # port 1 refuses: any connection attempt makes the host unreachable
    inventory.write_text("far ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n")
    out = tmp_path / "out"
    extra = {"out": str(out)}

    proc = run_playbook(playbook, extra_vars=extra, inventory=inventory, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap(proc.stdout, "far")["changed"] == 1
    assert not out.exists()                           # check mode: nothing written, not even the dir

    proc = run_playbook(playbook, extra_vars=extra, inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap(proc.stdout, "far")["changed"] == 1
    assert json.loads((out / "sub" / "status.json").read_text()) == {"ok": 1}
    assert sorted(p.name for p in (out / "sub").iterdir()) == ["status.json"]   # no temp file left

    proc = run_playbook(playbook, extra_vars=extra, inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap(proc.stdout, "far")["changed"] == 0   # the same content: nothing to do


# ------------------------------------------------------------------ fleet_report: the status role in one action

ID_RUN, ID_OLD, ID_M = "3f" * 32, "cd" * 32, "5c" * 32
SETTING_TASK = "TASK [plotfleet.chia.status : Check the status settings, build the fleet status and write the reports]"


def recorded_job(**over):
    base = {"id": ID_RUN, "plotter": "chiapos", "k": 32, "pid": 100, "state": "plotting", "phase": 2, "step": "2:3",
            "progress": 0.48, "elapsed_s": 3723, "eta_s": 5000, "tmp_dir": "/mnt/nvme1", "dst_dir": "/mnt/dst",
            "log": "/var/log/plotfleet/a.log"}
    return dict(base, **over)


def recorded_fleet(tmp_path, **all_vars):
    """Two plotters whose pass results are inventory vars (nothing is gathered) and a storage host that failed:
    the status role reports them as after a pass."""
    common = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
    free = {"exists": True, "free_bytes": 500 * 2 ** 30, "total_bytes": 1000 * 2 ** 30}
    hosts = {
        "plotter1": dict(common, plotfleet_tmp_dirs=["/mnt/nvme1"], plotfleet_dst_dirs=["/mnt/dst"],
                         plotfleet_host_state={
                             "jobs": [recorded_job()], "transfers": [], "load": {"load1": 3.2, "cpus": 16},
                             "history": [recorded_job(id=ID_OLD, state="finished", progress=1.0, phase=5,
                                                      started=1700000000, finished=1700030000)],
                             "dirs": [dict(free, path="/mnt/nvme1"), dict(free, path="/mnt/dst")]},
                         plotfleet_start_result={"started": [], "reasons": ["tmp /mnt/nvme1: 1 job before 2:1"]}),
        "plotter2": dict(common, plotfleet_tmp_dirs=["/mnt/fast"], plotfleet_dst_dirs=["/mnt/dst"],
                         plotfleet_host_state={
                             "jobs": [recorded_job(id=ID_M, plotter="madmax", state="failed", tmp_dir="/mnt/fast",
                                                   error="Only wrote 0 of 1 bytes")],
                             "history": [], "transfers": [], "load": {}, "dirs": [dict(free, path="/mnt/fast")]}),
        "nas1": dict(common, plotfleet_storage_dirs=["/srv/plots"],
                     plotfleet_failure={"task": "Gather plots, transfers and disks", "msg": "unreachable: timed out"}),
    }
    inventory = tmp_path / "fleet.yml"
    inventory.write_text(json.dumps({"all": {
        "vars": dict({"plotfleet_status_file": str(tmp_path / "out" / "status.json"),
                      "plotfleet_summary_file": str(tmp_path / "out" / "summary.json")}, **all_vars),
        "hosts": hosts,
        "children": {"plotters": {"hosts": {"plotter1": {}, "plotter2": {}}}, "storage": {"hosts": {"nas1": {}}}}}}))
    return inventory


def report_play(name, play_vars=None, after=()):
    return {"name": name, "hosts": "plotters:storage", "gather_facts": False, "vars": play_vars or {},
            "tasks": [{"name": "Report the fleet", "ansible.builtin.import_role": {
                "name": "plotfleet.chia.status", "rolespec_validate": False}}] + list(after)}


def task_output(out, name, role="plotfleet.chia.status : "):
    """The output of the status role's task `name` (role="": a play's own task), up to the next task."""
    marker = "TASK [%s%s]" % (role, name)
    assert marker in out, out[-4000:]
    return out.split(marker, 1)[1].split("TASK [", 1)[0]


def shown_msg(out, name="Show the fleet"):
    """The msg of a show task under the default callback with the JSON result format."""
    text = task_output(out, name)
    return json.JSONDecoder().raw_decode(text[text.index("=> ") + 3:].strip())[0]["msg"]


# Every play host holds the same document after the role (hostvars), for this run only.
SAME_DOC = "Every play host has the status document"
SAME_DOC_EVERYWHERE = {"name": SAME_DOC, "run_once": True, "ansible.builtin.debug": {
    "msg": "generated {{ ansible_play_hosts_all | map('extract', hostvars, ['plotfleet_status', 'generated'])"
           " | unique | list }}"}}


def test_fleet_report_shows_queries_analyses_and_writes_in_check_mode_without_fact_cache(tmp_path):
    """Under the default callback with YAML results (ansible.cfg's), in check mode, with a jsonfile fact cache:
    three plays (table, query, analysis) show their result as a YAML block or value, each task named by what
    it shows; the reports are written in check mode (marked so), nothing is changed, only the failed host
    fails, every host holds plotfleet_status and the fact cache never does."""
    inventory = recorded_fleet(tmp_path)
    playbook = tmp_path / "report.yml"
    playbook.write_text(json.dumps([
        report_play("Table", {"plotfleet_fail_on_host_errors": False}),
        report_play("Query", {"plotfleet_fail_on_host_errors": False, "plotfleet_query": "jobs[?bad].id_short"}),
        report_play("Analysis", {"plotfleet_fail_on_host_errors": False, "plotfleet_analyze": True}),
        report_play("Fail", {"plotfleet_table_ascii": True}, after=[SAME_DOC_EVERYWHERE]),
    ]))
    cache = tmp_path / "facts"
    proc = run_playbook(playbook, inventory=inventory, check=True, env={
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml", "ANSIBLE_CACHE_PLUGIN": "jsonfile",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(cache)})
    out = proc.stdout
    assert proc.returncode == 2, out[-4000:]   # nas1 failed, in the last play only
    for host in ("plotter1", "plotter2"):
        assert recap(out, host)["changed"] == 0 and recap(out, host)["failed"] == 0, out[-3000:]
    assert recap(out, "nas1")["failed"] == 1 and recap(out, "nas1")["changed"] == 0

    plays = out.split("PLAY [")[1:]
    table = task_output(plays[0], "Show the fleet")
    assert "msg: |-" in table, table                       # a block: the table reads as lines
    assert "plotter1   3f3f3f3f  chiapos" in table and "\\n" not in table
    query = task_output(plays[1], "Show what plotfleet_query selects")
    assert "msg:\n    - 5c5c5c5c" in query.replace("        ", "    "), query   # the query's own value
    assert "Show the fleet" not in plays[1] and "Show the fleet" not in plays[2]
    analysis = task_output(plays[2], "Show the analysis")
    assert "msg: |-" in analysis and "plotfleet analyze: 1 finished plots over 2 hosts" in analysis, analysis
    assert "fatal: [nas1]" in task_output(plays[3], "Fail the hosts that failed this pass")
    assert "--" in task_output(plays[3], "Show the fleet") and "─" not in task_output(plays[3], "Show the fleet")

    status = json.loads((tmp_path / "out" / "status.json").read_text())
    assert status["check_mode"] is True                     # written in check mode, marked so
    assert [h["name"] for h in status["hosts"]] == ["plotter1", "plotter2", "nas1"]
    assert [f["host"] for f in status["failures"]] == ["nas1"]
    assert "generated [%s]" % status["generated"] in task_output(plays[3], SAME_DOC, role="")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["hosts_failed"] == 1 and "plotter1" in summary["table"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "report.html", "report.json", "status.json", "summary.json"]     # no temp file left, no table file
    assert json.loads((tmp_path / "out" / "report.json").read_text())["analysis"]["plots"]["finished"] == 1
    cached = "".join(p.read_text() for p in cache.iterdir()) if cache.exists() else ""
    assert "plotfleet_status" not in cached and "3f3f3f3f" not in cached   # the document stays out of the cache


def test_fleet_report_shows_lines_as_a_list_under_json_results_and_other_callbacks(tmp_path):
    """JSON result format (default callback, as AWX reads it) and the minimal callback: the table is a list of
    lines, its rules as wide as the width less the callback's indent."""
    inventory = recorded_fleet(tmp_path, plotfleet_fail_on_host_errors=False, plotfleet_table_width=120)
    playbook = tmp_path / "report.yml"
    playbook.write_text(json.dumps([report_play("Table")]))
    proc = run_playbook(playbook, inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    lines = shown_msg(proc.stdout)
    assert isinstance(lines, list) and any(line.startswith("plotter1   3f3f3f3f") for line in lines), lines
    rules = [line for line in lines if line.startswith("── ")]   # a host's rule spans the width less the indent
    assert rules and all(len(line) == 120 - 11 for line in rules), rules
    assert (tmp_path / "out" / "status.json").read_text().startswith("{\n    \"check_mode\": false,")

    proc = run_playbook(playbook, inventory=inventory, env={"ANSIBLE_STDOUT_CALLBACK": "minimal"})
    assert proc.returncode == 0, proc.stdout[-4000:]
    out = proc.stdout
    results = [json.JSONDecoder().raw_decode(part.strip())[0] for part in out.split("plotter1 | SUCCESS => ")[1:]]
    shown = [r["msg"] for r in results if "msg" in r]   # minimal dumps every result: one shows the table
    assert len(shown) == 1 and shown[0][1:] == lines[1:]   # the same lines (the first has the time)


def test_fleet_report_stops_on_bad_settings_with_the_validator_messages(tmp_path):
    inventory = recorded_fleet(tmp_path)
    playbook = tmp_path / "report.yml"
    playbook.write_text(json.dumps([report_play("Table")]))
    proc = run_playbook(playbook, inventory=inventory, extra_vars={
        "plotfleet_table_width": "wide", "plotfleet_report": "maybe"})
    out = proc.stdout
    assert proc.returncode != 0
    check = task_output(out, SETTING_TASK.split(" : ", 1)[1][:-1])
    assert "Validation of arguments failed" in check, out[-3000:]
    assert "argument 'plotfleet_table_width' is of type str" in check and "plotfleet_report" in check
    assert check.count("fatal: [") == 1                 # one check for the play, on the controller
    assert "Show the fleet" not in out and not (tmp_path / "out").exists()   # nothing shown or written
