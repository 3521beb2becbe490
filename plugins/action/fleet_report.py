# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet_report: the status role's controller work in one action - check its settings, build the fleet status
document, render what to show (table, analysis or query result), write the report files. No module is shipped
or run on any host.

Documentation: plugins/modules/fleet_report.py."""

from __future__ import absolute_import, division, print_function

import json
import os

import yaml
from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import callback_loader
from ansible.utils.vars import combine_vars

from ansible_collections.plotfleet.chia.plugins.filter import fleet as fleet_filters
from ansible_collections.plotfleet.chia.plugins.filter import fleet_report as report_filters
from ansible_collections.plotfleet.chia.plugins.plugin_utils import report_writer

__metaclass__ = type

# The status role's argument spec is the spec of the settings (one source: ansible-doc shows it too).
SPEC_FILE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                          "roles", "status", "meta", "argument_specs.yml"))
ARGUMENT_SPEC = dict(
    settings=dict(type="dict", default={}),
)

# What the callback indents a debug-style msg by: 8 columns in a YAML block, 11 in a JSON list (with the quotes).
BLOCK_INDENT, LIST_INDENT = 8, 11


def settings_spec(path=SPEC_FILE):
    """The options of the status role's main entry point."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    try:
        return dict(data["argument_specs"]["main"]["options"])
    except (KeyError, TypeError):
        raise AnsibleError("plotfleet: %s has no argument_specs.main.options" % path) from None


def table_as_block(variables=None):
    """True where the callback writes YAML (a `msg: |-` block reads as lines), False where it writes JSON
    (a list of lines reads as lines, one string would be full of \\n): the same rule as the role had."""
    callback = str(C.config.get_config_value("DEFAULT_STDOUT_CALLBACK", variables=variables))
    if callback.endswith("yaml"):
        return True
    if callback not in ("default", "ansible.builtin.default"):
        return False
    try:
        fmt = _default_result_format(variables)
    except AnsibleError:   # the default callback's options are known once it is loaded (it is, as stdout callback)
        callback_loader.get("default", class_only=True)
        fmt = _default_result_format(variables)
    return fmt == "yaml"


def _default_result_format(variables):
    return C.config.get_config_value("result_format", plugin_type="callback", plugin_name="default",
                                     variables=variables)


def report_dests(settings):
    """(html, json) paths of the HTML report and its JSON: their own settings, else beside the status file."""
    if not settings["plotfleet_report"]:
        return None, None
    status_file = settings["plotfleet_status_file"]
    beside = os.path.dirname(status_file) if status_file else None

    def default(name):
        return os.path.join(beside, name) if beside is not None else None
    return settings["plotfleet_report_file"] or default("report.html"), \
        settings["plotfleet_report_json_file"] or default("report.json")


def report_files(status, settings, hostvars):
    """[{dest, content}] of every file this run writes (those whose path is set)."""
    width, ascii = settings["plotfleet_table_width"], settings["plotfleet_table_ascii"]
    files = []
    if settings["plotfleet_status_file"]:
        files.append({"dest": settings["plotfleet_status_file"],
                      "content": json.dumps(status, indent=4, sort_keys=True, separators=(",", ": ")) + "\n"})
    if settings["plotfleet_status_table_file"]:
        files.append({"dest": settings["plotfleet_status_table_file"],
                      "content": fleet_filters.fleet_table(status, width, ascii) + "\n"})
    if settings["plotfleet_summary_file"]:
        files.append({"dest": settings["plotfleet_summary_file"],
                      "content": json.dumps(fleet_filters.pass_summary(status, width, ascii)) + "\n"})
    html, data = report_dests(settings)
    if html or data:
        report = report_filters.fleet_report(status, hostvars)
        files.extend(report_filters.report_files(report, html, data))
    return files


# What is shown -> the end of the show task's name ("Show ..."), as the role's three show tasks were named.
TITLES = {"table": "the fleet", "analysis": "the analysis", "query": "what plotfleet_query selects"}


def shown(status, settings, hostvars, hosts, block):
    """(what, value): the query's selection, else the analysis or the table as lines (a block under YAML)."""
    if settings["plotfleet_query"]:
        return "query", fleet_filters.fleet_query(status, settings["plotfleet_query"])
    if settings["plotfleet_analyze"]:
        what, text = "analysis", report_filters.analysis_table(report_filters.fleet_analysis(hostvars, hosts))
    else:
        width = settings["plotfleet_table_width"] - (BLOCK_INDENT if block else LIST_INDENT)
        what, text = "table", fleet_filters.fleet_table(status, width, settings["plotfleet_table_ascii"])
    lines = text.splitlines()
    return what, "\n".join(lines) if block else lines


class Memo(object):
    """hostvars, or one host's vars, with every lookup done once: the document, the report and the analysis read
    the same values, and each HostVars lookup builds the host's variables and templates the value anew (about
    half the action's time at 8 plotters before). A missing key raises KeyError every time, as hostvars does."""

    _MISSING = object()

    def __init__(self, source, depth=1):
        self._source, self._depth, self._cache = source, depth, {}

    def __getitem__(self, key):
        value = self._cache.get(key, self._MISSING)
        if value is self._MISSING:
            try:
                value = self._source[key]
            except Exception:   # missing, or an undefined template value: unset, as the readers treat it
                value = KeyError(key)
            else:
                if self._depth:
                    value = Memo(value, self._depth - 1)
            self._cache[key] = value
        if isinstance(value, KeyError):
            raise KeyError(key)
        return value

    def __contains__(self, key):
        try:
            self[key]
        except KeyError:
            return False
        return True

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False   # controller only: never connects to the task's host
    _supports_check_mode = True
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def _settings(self, spec, task_vars, given):
        """The settings from the task's variables (role defaults included) and O(settings), checked as
        validate_argument_spec checks them: (values, error messages)."""
        from_vars = self._templar.template(dict((name, task_vars[name]) for name in spec if name in task_vars))
        validated = ArgumentSpecValidator(spec).validate(combine_vars(from_vars, given),
                                                         validate_role_argument_spec=True)
        return validated.validated_parameters, validated.error_messages

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        spec = settings_spec()
        unknown = sorted(set(args["settings"]) - set(spec))
        if unknown:
            return dict(result, failed=True, msg="plotfleet: settings: unknown %s (known: %s)" % (
                ", ".join(unknown), ", ".join(sorted(spec))))
        settings, errors = self._settings(spec, task_vars, args["settings"])
        if errors:
            # validate_argument_spec's wording, which the role's check printed before (and ansible-doc's spec)
            return dict(result, failed=True, argument_errors=errors,
                        msg="Validation of arguments failed:\n%s" % "\n".join(errors))

        hostvars = Memo(task_vars.get("hostvars") or {})
        hosts = list(task_vars.get("ansible_play_hosts_all") or [])
        groups = task_vars.get("groups") or {}
        status = fleet_filters.fleet_status(hostvars, hosts, list(groups.get("plotters") or []),
                                            list(groups.get("storage") or []),
                                            bool(task_vars.get("ansible_check_mode", self._task.check_mode)))
        try:
            what, value = shown(status, settings, hostvars, hosts, table_as_block(task_vars))
        except AnsibleError as exc:   # a bad plotfleet_query, or no jmespath on the controller
            return dict(result, failed=True, msg=str(exc))
        try:
            done = report_writer.write_files(report_files(status, settings, hostvars),
                                             check_mode=self._task.check_mode)
        except OSError as exc:
            return dict(result, failed=True, msg="plotfleet: cannot write the report file %s: %s" % (
                exc.filename, exc.strerror))
        # Reports, not managed state: writing them is never a change.
        result.update(done, changed=False, status=status, shown=value, shown_as=what,
                      title=TITLES[what])
        return result
