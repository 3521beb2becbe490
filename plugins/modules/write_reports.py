#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: write_reports
short_description: Write report files on the controller, atomically
description:
  - Writes each C({dest, content}) of O(files) whose C(dest) is set, on the controller - C(~) expanded, missing
    dirs created (0755), a temp file in the same dir renamed over the file (0644), so a reader never sees half
    a file. A file that already holds its content is not rewritten.
  - An action plugin only - nothing is copied to or run on the task's host, and it never connects to it. The
    status role runs it once per play for the status document, its table and summary, and the HTML report
    and its JSON.
version_added: "0.1.0"
author: plotfleet developers (@plotfleet)
options:
  files:
    description: The files, each C({dest, content}); an entry whose C(dest) is empty is skipped.
    type: list
    elements: dict
    required: true
attributes:
  check_mode:
    support: full
    description:
      - Nothing is written; RV(written) lists what would be. The status role runs it with C(check_mode=false)
        - a check run's reports are written too, marked C(check_mode=true).
  diff_mode:
    support: none
    description: No diff is shown.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller only.
"""

EXAMPLES = r"""
- name: Write the status document on the controller
  plotfleet.chia.write_reports:
    files:
      - dest: ~/.plotfleet/status.json
        content: "{{ plotfleet_status | to_nice_json }}"
  run_once: true
"""

RETURN = r"""
written:
  description: Absolute paths written (in check mode, those that would be).
  returned: always
  type: list
  elements: str
unchanged:
  description: Absolute paths that already held their content (not rewritten).
  returned: always
  type: list
  elements: str
"""
