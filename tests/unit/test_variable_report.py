"""variable_report: every play host's plotfleet_* variables checked in one controller task (issue 15).

hostvars is a plain dict here (the filter only reads it as a mapping); the run through ansible-playbook
is tests/integration/test_variable_report_play.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "collections"))

from ansible_collections.plotfleet.chia.plugins.filter import variable_report, variables  # noqa: E402


def role_values(**changes):
    """The reconcile settings as the run_once host sees them: the role defaults plus changes."""
    values = dict((name, variable_report._defaults().get(name)) for name in variables.role_settings("reconcile"))
    values.update(tmp_dirs_value(), **changes)
    return values


def tmp_dirs_value():
    return {"plotfleet_tmp_dirs": ["/mnt/tmp"]}


def report(mine, hostvars, hosts=("a", "b"), plotters=("a", "b"), my_names=()):
    return variable_report.variable_report(mine, hostvars, list(hosts), "a", "gather", list(my_names), list(plotters))


def test_a_bad_value_in_another_hosts_inventory_is_that_hosts_problem_only():
    hostvars = {"a": dict(tmp_dirs_value()), "b": dict(tmp_dirs_value(), plotfleet_max_jobs=-2)}
    found = report(role_values(), hostvars)
    assert found["problems"] == {"b": ["plotfleet_max_jobs must be >= 0, got -2"]}


def test_my_own_bad_inventory_value_is_not_given_to_the_others():
    hostvars = {"a": dict(tmp_dirs_value(), plotfleet_max_jobs=-2), "b": dict(tmp_dirs_value())}
    found = report(role_values(plotfleet_max_jobs=-2), hostvars)
    assert found["problems"] == {"a": ["plotfleet_max_jobs must be >= 0, got -2"]}


def test_a_play_level_value_above_the_inventory_reaches_every_host():
    # a play var (or -e) shadows a's inventory value: it is b's value too, whatever b's inventory says
    hostvars = {"a": dict(tmp_dirs_value(), plotfleet_max_jobs=3), "b": dict(tmp_dirs_value(), plotfleet_max_jobs=5)}
    found = report(role_values(plotfleet_max_jobs=-1), hostvars)
    assert sorted(found["problems"]) == ["a", "b"]


def test_start_problems_only_for_plotters_that_start():
    hostvars = {"a": dict(tmp_dirs_value(), plotfleet_k=17, plotfleet_plotter="chiapos"),
                "b": dict(tmp_dirs_value(), plotfleet_k=17, plotfleet_plotter="chiapos",
                          plotfleet_start_enabled="false"),
                "s": {"plotfleet_k": 17, "plotfleet_plotter": "chiapos"}}
    found = report(role_values(plotfleet_k=17, plotfleet_plotter="chiapos"), hostvars, hosts=("a", "b", "s"))
    assert list(found["start"]) == ["a"]
    assert any("plotfleet_k: 17 is out of range" in message for message in found["start"]["a"])
    assert found["problems"] == {}


def test_unknown_names_per_host_and_as_lines():
    hostvars = {"a": dict(tmp_dirs_value()), "b": dict(tmp_dirs_value(), plotfleet_max_job=1)}
    found = report(role_values(), hostvars, my_names=["plotfleet_tmp_dirs", "plotfleet_tabel_width",
                                                      variable_report.REPORT_FACT])
    # a sees the extra var (-e, in a's names but not a's inventory): b gets it too; b's own typo is b's only
    assert [m.split(" ")[0] for m in found["unknown"]["a"]] == ["plotfleet_tabel_width"]
    assert [m.split(" ")[0] for m in found["unknown"]["b"]] == ["plotfleet_max_job", "plotfleet_tabel_width"]
    assert found["warnings"][0].startswith("a: plotfleet_tabel_width is not a plotfleet setting")
    assert len(found["warnings"]) == 3


class Unrenderable(dict):
    def __getitem__(self, name):
        if name == "plotfleet_max_jobs":
            raise ValueError("'nope' is undefined")
        return dict.__getitem__(self, name)


def test_a_value_that_cannot_be_templated_is_that_hosts_problem():
    hostvars = {"a": dict(tmp_dirs_value()), "b": Unrenderable(tmp_dirs_value(), plotfleet_max_jobs="{{ nope }}")}
    found = report(role_values(), hostvars)
    assert found["problems"] == {"b": ["plotfleet_max_jobs: 'nope' is undefined"]}


def test_warn_shows_each_unknown_name_as_an_ansible_warning_and_only_with_warn(monkeypatch):
    shown = []
    monkeypatch.setattr(variable_report.Display, "warning", lambda self, msg, *a, **k: shown.append(msg))
    hostvars = {"a": dict(tmp_dirs_value()), "b": dict(tmp_dirs_value(), plotfleet_max_job=1)}
    args = (role_values(), hostvars, ["a", "b"], "a", "gather", [], ["a", "b"])
    quiet = variable_report.variable_report(*args)
    assert shown == [] and quiet["warnings"] == [
        "b: plotfleet_max_job is not a plotfleet setting and has no effect: did you mean plotfleet_max_jobs?"]
    warned = variable_report.variable_report(*args, warn=True)
    assert shown == warned["warnings"] == quiet["warnings"]
