#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fleet_report
short_description: The fleet report on the controller in one action - settings, status document, what to show, files
description:
  - The status role's controller work in one task (run it with C(run_once)).
  - Checks the status role's settings (C(plotfleet_status_file), C(plotfleet_table_width), C(plotfleet_query), ...
    every option of C(ansible-doc -t role plotfleet.chia.status)) against the role's C(meta/argument_specs.yml) with
    Ansible's own C(ArgumentSpecValidator), as C(ansible.builtin.validate_argument_spec) does, with its messages;
    they are read from the task's variables (the role's defaults included), O(settings) overriding them.
  - Builds the fleet status document (what the filter C(plotfleet.chia.fleet_status) builds) from every play
    host's results (C(hostvars), C(ansible_play_hosts_all), the groups C(plotters) and C(storage)).
  - Renders what to show - what C(plotfleet_query) selects, else the analysis (C(plotfleet_analyze)), else the
    fleet table - as lines for the stdout callback in use (RV(shown)).
  - Writes the report files the settings name (the status document, its table, the loop's summary, the HTML
    report and its JSON) as M(plotfleet.chia.write_reports) does - temp file and rename each, missing dirs created,
    a file that already holds its content left alone.
  - An action plugin only - nothing is copied to or run on the task's host, and it never connects to it. It shows
    nothing itself; show RV(shown) with M(ansible.builtin.debug), as the status role does.
  - Writing reports is never a change (C(changed) is always false).
version_added: "0.1.0"
author: plotfleet developers (@plotfleet)
options:
  settings:
    description:
      - Status role settings given here instead of as variables (each a C(plotfleet_*) option of the status role);
        a name the role does not know fails the task.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description:
      - Nothing is written; RV(written) lists what would be. The status role runs it with C(check_mode=false) -
        a check run's reports are written too, marked C(check_mode=true) (the document's C(check_mode) follows
        C(ansible_check_mode), not the task's own check mode).
  diff_mode:
    support: none
    description: No diff is shown.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller only.
notes:
  - Its result is meant to be registered. It returns no C(ansible_facts) on purpose - facts go to the fact cache
    (C(jsonfile), AWX), which would keep the whole fleet's document in every host's entry and bring a stale one back
    as a variable in a later run; the status role sets C(plotfleet_status) from RV(status) with
    M(ansible.builtin.set_fact) instead (this run only).
seealso:
  - module: plotfleet.chia.write_reports
"""

EXAMPLES = r"""
- name: Check the status settings, build the fleet status and write the reports
  plotfleet.chia.fleet_report:
  register: plotfleet_report_written
  run_once: true
  check_mode: false   # reports are written in check mode too

- name: Show {{ plotfleet_report_written.title }}
  ansible.builtin.debug:
    msg: "{{ plotfleet_report_written.shown }}"
  run_once: true

- name: A narrower table, once, into another file
  plotfleet.chia.fleet_report:
    settings:
      plotfleet_table_width: 80
      plotfleet_status_file: /srv/www/fleet/status.json
  register: plotfleet_report_written
  run_once: true
"""

RETURN = r"""
status:
  description: The fleet status document (keys - C(ansible-doc -t filter plotfleet.chia.fleet_status)).
  returned: success
  type: dict
shown:
  description:
    - What to show. What C(plotfleet_query) selects (any JSON value); else the analysis or the table - one string of
      lines where the stdout callback writes YAML (the default callback with C(result_format=yaml), a C(*yaml)
      callback), so that M(ansible.builtin.debug) prints a YAML block (C(|-)), else a list of lines (JSON result
      format, the json callback, AWX). The table is C(plotfleet_table_width) wide less the callback's indent.
  returned: success
  type: raw
shown_as:
  description: What RV(shown) is.
  returned: success
  type: str
  choices: [table, analysis, query]
title:
  description: RV(shown_as) in words, for the show task's name (C(Show the fleet), C(Show the analysis), C(Show what
    plotfleet_query selects)).
  returned: success
  type: str
written:
  description: Absolute paths written (in check mode, those that would be).
  returned: success
  type: list
  elements: str
unchanged:
  description: Absolute paths that already held their content (not rewritten).
  returned: success
  type: list
  elements: str
argument_errors:
  description: Each problem with the settings, when they are wrong (the task fails; C(msg) lists them).
  returned: failure
  type: list
  elements: str
"""
