"""plotfleet_replot: the role's argument spec checks its types and choices under the variable's name,
and what passes it is what replot.policy_problems accepts (its ranges)."""

import yaml

from ansible_collections.plotfleet.chia.plugins.filter import variables
from ansible_collections.plotfleet.chia.plugins.module_utils import replot
from plotfleet_testlib import REPO


def reconcile_defaults(**over):
    values = yaml.safe_load((REPO / "roles" / "reconcile" / "defaults" / "main.yml").read_text())
    return dict(values, **over)


def spec_options():
    return variables.argument_spec("reconcile", "main")["plotfleet_replot"]["options"]


def test_replot_is_off_by_default_and_its_keys_are_the_spec_options():
    assert reconcile_defaults()["plotfleet_replot"] == {"enabled": False}
    assert set(spec_options()) == set(replot.DEFAULTS) | {"dirs", "journal"}
    assert replot.policy_for(dict(reconcile_defaults()["plotfleet_replot"], storage_dirs=["/d"]), "/d") is None


def test_a_full_policy_passes_the_role_and_replot_checks():
    value = {"enabled": True, "formats": ["v1"], "arrivals": ["v2"], "compression_below": 3, "k": [32],
             "pool": "og", "older_than": "2024-01-01", "protect": ["*-2021-06-*"], "reserve_bytes": 1 << 30,
             "max_per_hour": 4, "max_per_pass": 2, "keep_min": 10, "dirs": {"/mnt/d1": {"paused": True}}}
    assert variables.variable_problems(reconcile_defaults(plotfleet_replot=value)) == []
    messages, converted = variables.checked_values(reconcile_defaults(plotfleet_replot={"enabled": True}))
    assert messages == [] and replot.policy_problems(converted["plotfleet_replot"]) == []   # nulls: not set
    assert replot.policy_problems(value) == []


def test_wrong_types_and_choices_are_named_by_the_variable():
    problems = variables.variable_problems(reconcile_defaults(plotfleet_replot={"pool": "solo", "formats": ["v3"]}))
    assert len(problems) == 2 and all("plotfleet_replot" in p and ("pool" in p or "formats" in p) for p in problems)
    assert variables.variable_problems(reconcile_defaults(plotfleet_replot={"enabeld": True}))


def test_nested_range_and_date_problems_are_named_by_the_role():
    value = {"enabled": True, "older_than": "2024-13-40", "dirs": {"/mnt/d1": {"keep_min": -1}}}
    problems = variables.variable_problems(reconcile_defaults(plotfleet_replot=value))
    assert replot.policy_problems(value)
    assert set(replot.policy_problems(value)) <= set(problems)
    assert any("older_than" in p for p in problems)
    assert any("dirs[/mnt/d1]" in p and "keep_min" in p for p in problems)
