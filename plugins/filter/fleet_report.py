# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side filters for `analyze` and the HTML report (the write_reports action writes its files).

Documentation of each filter: plugins/filter/<filter name>.yml (ansible-doc -t filter plotfleet.chia.<name>).
"""

from __future__ import absolute_import, division, print_function

import json
import os

from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_analyze, fleet_analyze_text, fleet_report_html
from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_report as report_doc

__metaclass__ = type


def _plain(data):
    """Plain JSON types (hostvars and Ansible's lazy values are not)."""
    return json.loads(json.dumps(data, default=str))


def _host_states(hostvars, hosts):
    """Only what the analysis reads, as plain data (hostvars entries are lazy templates)."""
    keys = ("plotfleet_host_state", "plotfleet_failure")
    plain = {}
    for name in hosts or []:
        try:
            host_vars = hostvars[name]
        except Exception:   # a host that is not in hostvars has nothing to analyse
            continue
        plain[name] = dict((key, _plain(host_vars[key])) for key in keys if key in host_vars)
    return plain


def fleet_analysis(hostvars, hosts, now=None):
    return fleet_analyze.analyze(_host_states(hostvars, hosts), list(hosts or []), now)


def analysis_table(analysis):
    return fleet_analyze_text.render(_plain(analysis))


def fleet_report(status, hostvars, now=None):
    status = _plain(status)
    names = [entry["name"] for entry in status.get("hosts") or []]
    return report_doc.build_report(_host_states(hostvars, names), status, now)


def report_html(report, json_name="report.json"):
    return fleet_report_html.render(_plain(report), json_name)


def report_files(report, html_dest=None, json_dest=None):
    """The report's files for the write_reports action: the HTML page and the JSON behind it (each when set)."""
    report = _plain(report)
    files = []
    if json_dest:
        files.append({"dest": json_dest, "content": json.dumps(report, indent=2, sort_keys=True) + "\n"})
    if html_dest:
        json_name = os.path.basename(str(json_dest)) if json_dest else "(not written: plotfleet_report_json_file)"
        files.append({"dest": html_dest, "content": fleet_report_html.render(report, json_name)})
    return files


class FilterModule(object):
    def filters(self):
        return {
            "fleet_analysis": fleet_analysis,
            "analysis_table": analysis_table,
            "fleet_report": fleet_report,
            "report_html": report_html,
            "report_files": report_files,
        }
