"""The fleet_report action's parts without a playbook: the settings spec it validates against is the status
role's (every setting, with its defaults), the callback rule for a block or a list of lines, where the HTML
report and its JSON go, and the files one run writes from a recorded fleet (tests/fixtures/report)."""

import json
import os
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.plotfleet.chia.plugins.action import fleet_report as action
from ansible_collections.plotfleet.chia.plugins.filter import fleet

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "report" / "fleet-hostvars.json"


def defaults():
    return ArgumentSpecValidator(action.settings_spec()).validate({}, validate_role_argument_spec=True)


def test_the_spec_is_the_status_roles_and_names_every_default():
    role_defaults = yaml.safe_load((REPO / "roles" / "status" / "defaults" / "main.yml").read_text())
    assert set(action.settings_spec()) == set(role_defaults)
    expanded = dict((k, os.path.expanduser(v) if k.endswith("_file") and v else v) for k, v in role_defaults.items())
    assert defaults().validated_parameters == expanded   # the spec's defaults are the role's (paths expanded)


@pytest.mark.parametrize("callback, result_format, block", [
    ("default", "yaml", True), ("ansible.builtin.default", "yaml", True), ("default", "json", False),
    ("community.general.yaml", "json", True), ("minimal", "yaml", False), ("ansible.posix.json", "yaml", False),
])
def test_a_block_where_the_callback_writes_yaml_else_a_list(monkeypatch, callback, result_format, block):
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", callback)
    monkeypatch.setenv("ANSIBLE_CALLBACK_RESULT_FORMAT", result_format)
    assert action.table_as_block() is block


def settings(**over):
    values = dict(defaults().validated_parameters)
    values.update(over)
    return values


def test_the_report_goes_beside_the_status_file_unless_placed_or_off():
    assert action.report_dests(settings(plotfleet_status_file="/srv/pf/status.json")) == (
        "/srv/pf/report.html", "/srv/pf/report.json")
    assert action.report_dests(settings(plotfleet_report_file="/www/r.html")) == (
        "/www/r.html", os.path.expanduser("~/.plotfleet/report.json"))
    assert action.report_dests(settings(plotfleet_status_file=None)) == (None, None)
    assert action.report_dests(settings(plotfleet_report=False, plotfleet_report_file="/www/r.html")) == (None, None)


@pytest.fixture
def recorded():
    data = json.loads(FIXTURE.read_text())
    hostvars, names = data["hostvars"], data["hosts"]
    return hostvars, names, fleet.fleet_status(hostvars, names, data["plotters"], data["storage"])


def test_one_run_writes_the_files_its_settings_name(tmp_path, recorded):
    hostvars, names, status = recorded
    out = str(tmp_path)
    files = action.report_files(status, settings(
        plotfleet_status_file=os.path.join(out, "status.json"), plotfleet_status_table_file=None,
        plotfleet_summary_file=os.path.join(out, "summary.json"), plotfleet_table_ascii=True), hostvars)
    by_name = dict((os.path.basename(f["dest"]), f["content"]) for f in files)
    assert sorted(by_name) == ["report.html", "report.json", "status.json", "summary.json"]
    assert json.loads(by_name["status.json"]) == status
    summary = json.loads(by_name["summary.json"])
    assert summary["table"] == fleet.fleet_table(status, 100, True) and summary["hosts"] == len(names)
    assert sorted(h["name"] for h in json.loads(by_name["report.json"])["hosts"]) == sorted(names)


def test_what_is_shown_follows_query_analysis_table(recorded):
    hostvars, names, status = recorded
    what, value = action.shown(status, settings(plotfleet_query="summary.hosts"), hostvars, names, True)
    assert (what, value) == ("query", len(names))
    what, value = action.shown(status, settings(plotfleet_analyze=True), hostvars, names, False)
    assert what == "analysis" and isinstance(value, list) and value[0].startswith("plotfleet analyze:")
    what, block = action.shown(status, settings(plotfleet_table_width=120), hostvars, names, True)
    assert what == "table" and block.splitlines()[1:] == fleet.fleet_table(status, 112).splitlines()[1:]
    _what, lines = action.shown(status, settings(plotfleet_table_width=120), hostvars, names, False)
    assert lines[1:] == fleet.fleet_table(status, 109).splitlines()[1:]


class Counting(dict):
    """A hostvars stand-in that counts its lookups (HostVars builds and templates on every one)."""

    def __init__(self, *args):
        super(Counting, self).__init__(*args)
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return super(Counting, self).__getitem__(key)


def test_memo_reads_each_host_and_key_once_and_keeps_missing_keys_missing():
    host = Counting({"plotfleet_host_state": {"jobs": []}})
    hostvars = Counting({"p1": host})
    memo = action.Memo(hostvars)
    for _ in range(3):
        assert memo["p1"]["plotfleet_host_state"] == {"jobs": []}
        assert "plotfleet_failure" not in memo["p1"] and memo["p1"].get("plotfleet_failure", 7) == 7
        with pytest.raises(KeyError):
            memo["gone"]
    assert hostvars.reads == 2 and host.reads == 2   # p1 and gone once; the state and the failure once


def test_the_document_through_the_memo_is_the_filters(recorded):
    hostvars, names, status = recorded
    data = json.loads(FIXTURE.read_text())
    again = fleet.fleet_status(action.Memo(hostvars), names, data["plotters"], data["storage"], now=status["generated"])
    assert again == fleet.fleet_status(hostvars, names, data["plotters"], data["storage"], now=status["generated"])
