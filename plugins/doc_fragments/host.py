# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by every plotfleet module that looks at a host's plotting state."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  log_dir:
    description:
      - Directory of plotter logs. plotfleet writes one log per launched job here and parses every
        log found here (and the logs of live plotter processes found elsewhere).
    type: path
    required: true
  state_dir:
    description:
      - Directory for plotfleet's host-side state, launch records, transfer records, parser cache and lock.
      - Created if missing. Must be on a local filesystem (it is locked with C(flock)).
    type: path
    required: true
  tmp_dirs:
    description:
      - Temporary (working) directories of the plotters on this host.
    type: list
    elements: path
    default: []
  dst_dirs:
    description:
      - Destination directories where plotters write finished plots.
    type: list
    elements: path
    default: []
  history_limit:
    description:
      - How many finished, failed or dead logs to return in the C(history) return value, newest first.
      - All logs are still parsed (incrementally) for ETA statistics.
    type: int
    default: 50
  stall_after_s:
    description:
      - A live job whose log has not grown for this many seconds is C(stalled).
      - When unset, it is several times the expected duration of one step, from the host's history
        or default phase weights, and never below 10 minutes.
    type: int
"""
