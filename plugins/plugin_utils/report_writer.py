# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing report files on the controller (the write_reports action): each file through a temp file
in its own dir and a rename, so a reader never sees half a file; a file whose content is already
there is left alone; check mode writes nothing and says what would be written."""

from __future__ import absolute_import, division, print_function

import os

from ansible_collections.plotfleet.chia.plugins.module_utils import metrics

__metaclass__ = type


def destinations(files):
    """[(absolute path, content)] of the {dest, content} entries whose dest is set (~ expanded)."""
    return [(os.path.abspath(os.path.expanduser(str(item["dest"]))), str(item.get("content") or ""))
            for item in files or [] if item.get("dest")]


def up_to_date(path, content):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read() == content
    except (IOError, OSError, ValueError):
        return False


def write_atomic(path, content):
    """Missing dirs created (0755), then metrics.write_atomic: a temp file in the same dir renamed over it (0644)."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    metrics.write_atomic(path, content)


def write_files(files, check_mode=False):
    """{"written": paths (check mode: that would be), "unchanged": paths already holding their content}."""
    out = {"written": [], "unchanged": []}
    for path, content in destinations(files):
        if up_to_date(path, content):
            out["unchanged"].append(path)
            continue
        if not check_mode:
            write_atomic(path, content)
        out["written"].append(path)
    return out
