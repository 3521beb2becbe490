"""The roles' variables: argument specs vs defaults (no drift), and the checks of plugins/filter/variables.py."""

import re

import pytest
import yaml

from ansible_collections.plotfleet.chia.plugins.filter import variables
from ansible_collections.plotfleet.chia.plugins.module_utils import launch
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import start as policy
from plotfleet_testlib import REPO

ROLES = ("reconcile", "status")


def load(path):
    return yaml.safe_load((REPO / path).read_text()) or {}


def specs(role):
    return load("roles/%s/meta/argument_specs.yml" % role)["argument_specs"]


def defaults(role):
    return load("roles/%s/defaults/main.yml" % role)


def reconcile_defaults(**over):
    values = dict(defaults("reconcile"))
    values.update(over)
    return values


def same_value(a, b):
    """Equal, and a bool only equals a bool (True == 1 in Python)."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


# ---------------------------------------------------------------- argument specs vs defaults/main.yml

@pytest.mark.parametrize("role", ROLES)
def test_every_default_has_a_spec_entry_and_every_spec_entry_a_default(role):
    in_specs = set(name for entry in specs(role).values() for name in entry["options"])
    assert set(defaults(role)) - in_specs == set(), "defaults/main.yml variables without an argument spec"
    assert in_specs - set(defaults(role)) == set(), "argument spec options without a default in defaults/main.yml"


@pytest.mark.parametrize("role", ROLES)
def test_argument_spec_defaults_are_the_role_defaults(role):
    values = defaults(role)
    for entry_point, entry in specs(role).items():
        for name, option in entry["options"].items():
            if option.get("required"):
                assert "default" not in option, (entry_point, name)
                continue
            assert same_value(option.get("default"), values[name]), (entry_point, name, option.get("default"))


@pytest.mark.parametrize("role", ROLES)
def test_the_defaults_pass_their_own_checks(role):
    for entry_point in specs(role):
        values = defaults(role)
        if entry_point == "stop":
            values = dict(values, plotfleet_stop_id="all")
        assert variables.variable_problems(values, entry_point, role) == [], entry_point


def test_group_vars_pass_the_checks_and_are_all_known():
    values = reconcile_defaults(**load("group_vars/all.yml"))
    assert variables.variable_problems(values) == []
    assert variables.unknown_variables(load("group_vars/all.yml")) == []


# ---------------------------------------------------------------- ranges

def numeric_settings(role="reconcile"):
    options = {}
    for entry in specs(role).values():
        options.update(entry["options"])
    return sorted(name for name, option in options.items() if option["type"] in ("int", "float"))


def test_every_number_of_the_reconcile_role_has_a_range():
    # plotfleet_k's range depends on the plotter: start_problems checks it as plot_start does.
    assert set(numeric_settings()) - set(variables.RANGES) == {"plotfleet_k"}
    assert set(variables.RANGES) - set(numeric_settings()) == set()


def module_refuses(name, value):
    """Whether plot_start's own checks (policy / launch) refuse this value of a rule or plotter variable."""
    rules = dict(policy.DEFAULT_RULES)
    plotter = {"kind": "madmax", "k": 32, "farmer_public_key": "a" * 96, "pool_public_key": "b" * 96}
    for rule, variable in variables.RULE_VARIABLES.items():
        if variable == name:
            rules[rule] = value
    for option, variable in variables.PLOTTER_VARIABLES.items():
        if variable == name:
            plotter[option] = value
    return bool(policy.validate_rules(rules) + launch.validate_plotter(plotter))


CHECKED_BY_PLOT_START = sorted(name for name in variables.RANGES if name in set(variables.RULE_VARIABLES.values())
                               | set(variables.PLOTTER_VARIABLES.values()) and name not in
                               ("plotfleet_tmp_space_bytes", "plotfleet_dst_space_bytes", "plotfleet_max_load_per_cpu",
                                "plotfleet_min_cpu_idle_percent", "plotfleet_min_mem_available_bytes"))


@pytest.mark.parametrize("name", CHECKED_BY_PLOT_START)
def test_ranges_are_the_bounds_plot_start_applies(name):
    low, high = variables.RANGES[name]
    assert not module_refuses(name, low)
    assert module_refuses(name, low - 1)
    if high is not None:
        assert not module_refuses(name, high) and module_refuses(name, high + 1)


@pytest.mark.parametrize("name", sorted(variables.RANGES))
def test_a_value_out_of_range_is_named_by_its_variable(name):
    low, high = variables.RANGES[name]
    for bad in [low - 1] + ([high + 1] if high is not None else []):
        problems = variables.variable_problems(reconcile_defaults(**{name: str(bad)}))
        assert problems == ["%s must be %s, got %s" % (name, variables._bounds_text(low, high), bad)]


# ---------------------------------------------------------------- values given as text (-e key=value)

def test_numbers_given_as_text_are_converted_before_the_checks():
    values = reconcile_defaults(plotfleet_max_jobs="3", plotfleet_min_start_interval_minutes="2.5",
                                plotfleet_storage_ssh_port="2222", plotfleet_check_free_space="false")
    assert variables.variable_problems(values) == []


def test_text_that_is_no_number_fails_in_one_message_naming_the_variable():
    assert variables.variable_problems(reconcile_defaults(plotfleet_max_jobs="abc")) == [
        "plotfleet_max_jobs must be an int, got 'abc'"]
    assert variables.variable_problems(reconcile_defaults(plotfleet_backoff_base_minutes="soon")) == [
        "plotfleet_backoff_base_minutes must be a float, got 'soon'"]


def test_a_negative_cap_names_the_variable_not_the_module_option():
    problems = variables.variable_problems(reconcile_defaults(plotfleet_max_jobs="-2"))
    assert problems == ["plotfleet_max_jobs must be >= 0, got -2"]


def test_max_jobs_per_tmp_overrides_rejects_negative_caps_like_max_jobs():
    values = reconcile_defaults(plotfleet_max_jobs_per_tmp_overrides={"/mnt/a": -1, "/mnt/b": "2", "/mnt/c": "x",
                                                                       "/mnt/d": 1.5, "/mnt/e": 0})
    assert variables.variable_problems(values) == [
        "plotfleet_max_jobs_per_tmp_overrides[/mnt/a] must be >= 0, got -1",
        "plotfleet_max_jobs_per_tmp_overrides[/mnt/c] must be a whole number of jobs, got 'x'",
        "plotfleet_max_jobs_per_tmp_overrides[/mnt/d] must be a whole number of jobs, got 1.5",
    ]


def test_time_windows_and_stagger_step_are_named_by_their_variables():
    problems = variables.variable_problems(reconcile_defaults(plotfleet_time_windows=["22:00-06:00", "25:00-1"],
                                                              plotfleet_stagger_step="two"))
    assert problems == ["plotfleet_stagger_step must look like '2:1' (phase:step), got 'two'",
                        "plotfleet_time_windows: '25:00-1' is not HH:MM-HH:MM (e.g. 22:00-06:00)"]


def test_an_unquoted_stagger_step_gets_a_hint():
    # YAML 1.1 reads an unquoted 2:1 as the sexagesimal number 121.
    value = yaml.safe_load("plotfleet_stagger_step: 2:1")["plotfleet_stagger_step"]
    problems = variables.variable_problems(reconcile_defaults(plotfleet_stagger_step=value))
    assert any("quote it" in problem for problem in problems), problems


def test_a_wrong_choice_names_the_variable():
    problems = variables.variable_problems(reconcile_defaults(plotfleet_plotter="gpuplot"))
    assert len(problems) == 1 and "plotfleet_plotter" in problems[0] and "gpuplot" in problems[0]


@pytest.mark.parametrize("stop_id, ok", [("3f2a", True), ("all", True), ("dead", True), ("3f2", False),
                                         ("plot-3f2a", False), (None, False)])
def test_stop_id_is_checked_with_its_variable_name(stop_id, ok):
    problems = variables.variable_problems(reconcile_defaults(plotfleet_stop_id=stop_id), "stop")
    assert (problems == []) is ok
    assert all(problem.startswith("plotfleet_stop_id") for problem in problems)


# ---------------------------------------------------------------- what plot_start would refuse

def chiapos_plotter(**over):
    return reconcile_defaults(plotfleet_plotter="chiapos", plotfleet_k=18, plotfleet_tmp_dirs=["/mnt/t"], **over)


def test_start_settings_plot_start_accepts_pass():
    assert variables.start_problems(chiapos_plotter()) == []


def test_start_problems_name_the_variables():
    problems = variables.start_problems(reconcile_defaults(plotfleet_k="20", plotfleet_tmp_dirs=[]))
    assert "plotfleet_k: 20 is out of range for plotter kind chia (25..35)" in problems
    assert ("plotfleet_farmer_public_key and one of plotfleet_pool_public_key / plotfleet_pool_contract_address "
            "are required for plotter kind chia") in problems
    assert any(problem.startswith("plotfleet_tmp_dirs:") for problem in problems)
    assert not [problem for problem in problems if re.search(r"\b(rules|plotter)\.", problem)]


def test_chiapos_compression_is_named_by_its_variable():
    assert variables.start_problems(chiapos_plotter(plotfleet_compression="3")) == [
        "plotfleet_compression: plotter kind chiapos makes uncompressed plots only"]


def derived(name):
    """{module option: variable} of a dict in roles/reconcile/vars/main.yml built as `option: "{{ variable }}"`."""
    pairs = {}
    for option, template in load("roles/reconcile/vars/main.yml")[name].items():
        match = re.match(r"^\{\{ (plotfleet_\w+) \}\}$", template)
        assert match, (option, template)
        pairs[option] = match.group(1)
    return pairs


def test_the_option_names_match_how_the_role_builds_the_module_options():
    assert derived("plotfleet_plotter_all") == variables.PLOTTER_VARIABLES
    assert derived("plotfleet_rules_all") == variables.RULE_VARIABLES


# ---------------------------------------------------------------- unknown variables

def test_a_typo_is_reported_with_the_nearest_known_name():
    assert variables.unknown_variables(["plotfleet_max_job", "plotfleet_tmp_dir", "plotfleet_zzz"]) == [
        "plotfleet_max_job is not a plotfleet setting and has no effect: did you mean plotfleet_max_jobs?",
        "plotfleet_tmp_dir is not a plotfleet setting and has no effect: did you mean plotfleet_tmp_dirs?",
        "plotfleet_zzz is not a plotfleet setting and has no effect: no plotfleet setting has a similar name",
    ]


def test_settings_derived_vars_and_other_variables_are_not_reported():
    names = (list(defaults("reconcile")) + list(defaults("status")) + list(load("roles/reconcile/vars/main.yml"))
             + list(load("roles/status/vars/main.yml")) + ["ansible_host", "inventory_hostname", "plotfleetish"])
    assert variables.unknown_variables(names) == []


def playbook_files():
    return sorted(list(REPO.glob("*.yml")) + list((REPO / "playbooks").glob("*.yml"))
                  + list(REPO.glob("roles/*/tasks/*.yml")))


def facts_set(tasks):
    """plotfleet_* names the tasks register, set_fact or pass to includes, recursively through blocks."""
    names = set()
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        if "tasks" in task:  # a play
            names |= facts_set(task["tasks"])
        for key in ("block", "rescue", "always"):
            names |= facts_set(task.get(key))
        names.add(task.get("register"))
        names |= set(task.get("ansible.builtin.set_fact") or {})
        if any(key.split(".")[-1].startswith(("include_", "import_")) for key in task):
            names |= set(task.get("vars") or {})  # include vars reach the included tasks (a task's own stay in it)
    return set(name for name in names if isinstance(name, str) and name.startswith("plotfleet_"))


def test_every_fact_the_playbooks_and_roles_set_is_known():
    found = set()
    for path in playbook_files():
        found |= facts_set(yaml.safe_load(path.read_text()))
    assert {"plotfleet_host_state", "plotfleet_failure", "plotfleet_start_result"} <= found  # the scan works
    assert variables.unknown_variables(sorted(found)) == []


def test_each_number_documents_its_range():
    options = {}
    for entry in specs("reconcile").values():
        options.update(entry["options"])
    for name, (low, high) in variables.RANGES.items():
        assert "(%s)." % variables._bounds_text(low, high) in options[name]["description"], name
    for kind, (low, high) in launch.K_RANGE.items():
        assert re.search(r"\b%s %s\b" % (kind, low if low == high else "%s..%s" % (low, high)),
                         options["plotfleet_k"]["description"]), kind


def test_main_and_gather_take_the_same_variables():
    # tasks/gather.yml checks the variables for both (main.yml starts by including it).
    assert specs("reconcile")["main"]["options"] == specs("reconcile")["gather"]["options"]
