# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side checks of a host's plotfleet_* variables; every message names the variable the
user set, never a module option.

- variable_problems: wrong types and values out of range, for one entry point of a role.
- start_problems: the start rules and plotter settings as plot_start would judge them.
- unknown_variables: plotfleet_* variables that no role knows (a typo), with the nearest known name.

The known variables are the roles' own files (meta/argument_specs.yml, defaults/main.yml,
vars/main.yml), read next to this file, so a checkout and an installed collection agree.
Documentation of each filter: plugins/filter/<filter name>.yml.
"""

from __future__ import absolute_import, division, print_function

import copy
import difflib
import functools
import json
import os
import re

import yaml
from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.plotfleet.chia.plugins.module_utils import launch, replot
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import start as policy

__metaclass__ = type

ROLES_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles"))
ROLES = ("reconcile", "status")
PREFIX = "plotfleet_"

# Facts and registered results that the playbooks and roles set themselves: not settings, but not
# typos either (tests/unit/test_variables.py finds every register/set_fact and checks it is here).
INTERNAL_FACTS = frozenset([
    "plotfleet_host_state", "plotfleet_failure", "plotfleet_start_result", "plotfleet_move_result",
    "plotfleet_cleanup_result", "plotfleet_stop_result", "plotfleet_storage_offer", "plotfleet_status",
    "plotfleet_setup_dir_stats", "plotfleet_setup_plotter", "plotfleet_setup_ssh", "plotfleet_setup_problems",
    "plotfleet_entry_point", "plotfleet_report_written", "plotfleet_pass_result",
])

# Lowest and highest value of every number a host uses (None: no bound). The same bounds as the
# modules' own checks (policy.validate_rules, launch.validate_plotter, plot_info, plot_move), so the
# role stops a bad value first, under the name the user wrote. plotfleet_k depends on the plotter:
# start_problems checks it (setup.yml lists a plotter that cannot plot among its problems).
RANGES = {
    "plotfleet_history_limit": (0, None),
    "plotfleet_stall_after_s": (1, None),
    "plotfleet_plots_per_job": (1, None),
    "plotfleet_threads": (1, None),
    "plotfleet_buckets": (1, None),
    "plotfleet_buffer_mib": (1, None),
    "plotfleet_stripe": (1, None),
    "plotfleet_compression": (0, 9),
    "plotfleet_nice": (-20, 19),
    "plotfleet_strength": (2, 255),
    "plotfleet_max_jobs": (0, None),
    "plotfleet_max_jobs_per_tmp": (0, None),
    "plotfleet_max_before_step": (0, None),
    "plotfleet_min_start_interval_minutes": (0, None),
    "plotfleet_max_phase1_jobs": (0, None),
    "plotfleet_tmp_space_bytes": (0, None),
    "plotfleet_dst_space_bytes": (0, None),
    "plotfleet_max_load_per_cpu": (0, None),
    "plotfleet_min_cpu_idle_percent": (0, 100),
    "plotfleet_min_mem_available_bytes": (0, None),
    "plotfleet_crash_window_minutes": (0, None),
    "plotfleet_backoff_base_minutes": (0, None),
    "plotfleet_backoff_max_minutes": (0, None),
    "plotfleet_max_starts": (1, None),
    "plotfleet_move_max_per_destination": (1, None),
    "plotfleet_move_max_per_source": (1, None),
    "plotfleet_move_bwlimit_kbps": (1, None),
    "plotfleet_move_retry_after_s": (0, None),
    "plotfleet_move_max_attempts": (1, None),
    "plotfleet_storage_ssh_port": (1, 65535),
    "plotfleet_storage_min_free_bytes": (0, None),
}

# plot_start's plotter suboptions and the variables they come from (roles/reconcile/vars/main.yml,
# plotfleet_plotter_all); each start rule `x` comes from plotfleet_x (plotfleet_rules_all).
PLOTTER_VARIABLES = {
    "kind": "plotfleet_plotter", "binary": "plotfleet_plotter_binary", "python": "plotfleet_plotter_python",
    "k": "plotfleet_k", "count": "plotfleet_plots_per_job", "threads": "plotfleet_threads",
    "buckets": "plotfleet_buckets", "buffer_mib": "plotfleet_buffer_mib", "stripe": "plotfleet_stripe",
    "tmp2_dir": "plotfleet_tmp2_dir", "farmer_public_key": "plotfleet_farmer_public_key",
    "pool_public_key": "plotfleet_pool_public_key", "pool_contract_address": "plotfleet_pool_contract_address",
    "compression": "plotfleet_compression", "extra_args": "plotfleet_plotter_extra_args",
    "nice": "plotfleet_nice", "bladebit_mode": "plotfleet_bladebit_mode", "strength": "plotfleet_strength",
    "custom": "plotfleet_custom_plotter",
}
RULE_VARIABLES = dict((rule, "plotfleet_" + rule) for rule in policy.DEFAULT_RULES)
MODULE_OPTION = re.compile(r"\b(rules|plotter)\.([a-z0-9_]+)")
STOP_WORDS = ("all", "dead")
STOP_PREFIX = re.compile(r"^[0-9a-fA-F]{4,64}$")  # stopping.PREFIX_RE: what plot_stop takes as plot_id
TYPE_ERROR = re.compile(r"^argument '(\w+)' is of type \w+ and we were unable to convert to (\w+)")


# ---------------------------------------------------------------- the roles' own files

@functools.lru_cache(maxsize=None)
def _role_file(role, name):
    path = os.path.join(ROLES_DIR, role, name)
    try:
        with open(path) as handle:
            return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise AnsibleFilterError("plotfleet: cannot read %s: %s" % (path, exc)) from None


def argument_spec(role="reconcile", entry_point="main"):
    """The options of one entry point of a role's meta/argument_specs.yml."""
    specs = _role_file(role, "meta/argument_specs.yml").get("argument_specs") or {}
    if entry_point not in specs:
        raise AnsibleFilterError("plotfleet: role %s has no entry point %r" % (role, entry_point))
    return specs[entry_point].get("options") or {}


def role_settings(role="reconcile"):
    """Every variable of a role's argument specs (all entry points), sorted."""
    specs = _role_file(role, "meta/argument_specs.yml").get("argument_specs") or {}
    return sorted(set(name for entry in specs.values() for name in (entry.get("options") or {})))


def known_settings():
    """The settings users set: every role's argument specs and defaults."""
    names = set()
    for role in ROLES:
        names.update(role_settings(role))
        names.update(_role_file(role, "defaults/main.yml"))
    return names


def known_variables():
    """Settings, the roles' derived vars (vars/main.yml) and the facts the playbooks set."""
    names = known_settings() | INTERNAL_FACTS
    for role in ROLES:
        names.update(_role_file(role, "vars/main.yml"))
    return names


# ---------------------------------------------------------------- unknown variables

def unknown_variables(names):
    """A message for each plotfleet_* name that no role knows, with the nearest known setting."""
    known = known_variables()
    # Compared without the common prefix, which would make every name look alike.
    settings = dict((name[len(PREFIX):], name) for name in known_settings())
    messages = []
    for name in sorted(set(str(n) for n in names or [])):
        if not name.startswith(PREFIX) or name in known:
            continue
        nearest = difflib.get_close_matches(name[len(PREFIX):], sorted(settings), n=1, cutoff=0.6)
        hint = "did you mean %s?" % settings[nearest[0]] if nearest else "no plotfleet setting has a similar name"
        messages.append("%s is not a plotfleet setting and has no effect: %s" % (name, hint))
    return messages


# ---------------------------------------------------------------- types and ranges

def _plain(data):
    """Plain JSON types (Ansible's tagged/lazy values)."""
    return json.loads(json.dumps(data, default=str))


def _tidy(message, values):
    """Ansible's conversion error, shortened to the variable, the wanted type and the value given."""
    match = TYPE_ERROR.match(message)
    if match:
        name, wanted = match.groups()
        return "%s must be %s %s, got %r" % (name, "an" if wanted == "int" else "a", wanted, values.get(name))
    return message


def checked_values(values, role="reconcile", entry_point="main"):
    """(messages, values converted to their types) for the variables of one entry point."""
    spec = copy.deepcopy(argument_spec(role, entry_point))  # the cached file stays as read
    given = dict((name, value) for name, value in _plain(values or {}).items() if name in spec)
    result = ArgumentSpecValidator(spec).validate(given)
    messages = [_tidy(message, given) for message in result.error_messages]
    return messages, result.validated_parameters  # a value that did not convert keeps what was given


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _shown(number):
    """-1 for -1.0: the value as the user most likely wrote it."""
    return int(number) if isinstance(number, float) and number.is_integer() else number


def _bounds_text(low, high):
    if high is None:
        return ">= %s" % low
    if low is None:
        return "<= %s" % high
    return "%s..%s" % (low, high)


def range_problems(values):
    """Numbers outside RANGES."""
    messages = []
    for name in sorted(values):
        value, bounds = values[name], RANGES.get(name)
        if bounds is None or not _number(value):
            continue  # unset, or already reported as the wrong type
        low, high = bounds
        if (low is not None and value < low) or (high is not None and value > high):
            messages.append("%s must be %s, got %s" % (name, _bounds_text(low, high), _shown(value)))
    return messages


def override_problems(overrides):
    """plotfleet_max_jobs_per_tmp_overrides: a whole number >= 0 per tmp dir, like every cap."""
    messages = []
    for path, limit in sorted((overrides or {}).items()):
        try:
            number = int(limit)
        except (TypeError, ValueError):
            number = None
        if number is None or isinstance(limit, bool) or (isinstance(limit, float) and limit != number):
            messages.append("plotfleet_max_jobs_per_tmp_overrides[%s] must be a whole number of jobs, got %r"
                            % (path, limit))
        elif number < 0:
            messages.append("plotfleet_max_jobs_per_tmp_overrides[%s] must be >= 0, got %s" % (path, number))
    return messages


def user_names(message):
    """A module's message with its option names (rules.x, plotter.y) replaced by the variables."""
    def variable(match):
        table = RULE_VARIABLES if match.group(1) == "rules" else PLOTTER_VARIABLES
        return table.get(match.group(2), match.group(0))
    return MODULE_OPTION.sub(variable, message)


def format_problems(values):
    """plotfleet_stagger_step and plotfleet_time_windows as policy reads them, named as set."""
    rules = {}
    if isinstance(values.get("plotfleet_stagger_step"), str):
        rules["stagger_step"] = values["plotfleet_stagger_step"]
    if isinstance(values.get("plotfleet_time_windows"), list):
        rules["time_windows"] = values["plotfleet_time_windows"]
    messages = [user_names(message) for message in policy.validate_rules(rules)]
    step = values.get("plotfleet_stagger_step")
    if step is not None and str(step).isdigit():
        messages.append("plotfleet_stagger_step: quote it (\"2:1\"); unquoted, YAML reads 2:1 as the number 121")
    return messages


def stop_problems(values):
    stop_id = values.get("plotfleet_stop_id")
    if not stop_id:
        return ["plotfleet_stop_id is required: a plot id prefix (4+ hex digits), all, or dead"]
    if stop_id not in STOP_WORDS and not STOP_PREFIX.match(str(stop_id)):
        return ["plotfleet_stop_id must be a plot id prefix (4+ hex digits), all, or dead, got %r" % stop_id]
    return []


def variable_problems(values, entry_point="main", role="reconcile"):
    """Every problem with the variables of one entry point, one message each, naming the variable."""
    messages, converted = checked_values(values, role, entry_point)
    messages += range_problems(converted)
    if isinstance(converted.get("plotfleet_max_jobs_per_tmp_overrides"), dict):
        messages += override_problems(converted["plotfleet_max_jobs_per_tmp_overrides"])
    replot_named = any("plotfleet_replot" in message for message in messages)   # types and choices first
    if isinstance(converted.get("plotfleet_replot"), dict) and not replot_named:   # then replot's ranges, dates
        messages += replot.policy_problems(converted["plotfleet_replot"])
    if role == "reconcile":
        messages += format_problems(converted)
    if entry_point == "stop":
        messages += stop_problems(converted)
    return messages


# ---------------------------------------------------------------- what plot_start would refuse

def start_problems(values):
    """plot_start's own checks of the rules and plotter (no I/O), with plotfleet_* names.

    values: every variable of the reconcile role (already through variable_problems)."""
    messages, converted = checked_values(values, "reconcile", "main")
    if messages:
        return messages
    rules = dict((rule, converted.get(name)) for rule, name in RULE_VARIABLES.items())
    plotter = dict((option, converted.get(name)) for option, name in PLOTTER_VARIABLES.items())
    problems = policy.validate_rules(rules) + launch.validate_plotter(plotter)
    if not converted.get("plotfleet_tmp_dirs"):
        problems.append("plotfleet_tmp_dirs: at least one tmp dir is needed to start plots "
                        "(or set plotfleet_start_enabled: false)")
    return [user_names(message) for message in problems]


class FilterModule(object):
    def filters(self):
        return {
            "role_settings": role_settings,
            "variable_problems": variable_problems,
            "start_problems": start_problems,
            "unknown_variables": unknown_variables,
        }
