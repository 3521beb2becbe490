#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: plot_move
short_description: Move finished Chia plots to storage, locally or over rsync+SSH
version_added: "0.1.0"
description:
  - Finds finished plots (a complete C(.plot) file whose table pointers are written, that no
    process holds open for writing and that no live plot job still owns) in O(dst_dirs) and
    O(source_dirs), and moves each to one of O(destinations).
  - On the same filesystem the plot is renamed (atomic). Otherwise a detached transfer worker
    (it survives the controller and the SSH session) copies it to a hidden temporary name in the
    destination dir (C(rsync) over SSH for a remote destination), verifies size and plot header,
    renames it to its final name and only then deletes the source. A C(.plot) at a destination is
    therefore always complete.
  - Each plot has one transfer record in O(state_dir), so a plot is never transferred twice; an
    interrupted transfer is resumed by the next run. A destination found full is skipped for a while.
    Records of transfers done more than a week ago move to a C(done) subdirectory, where they
    still stop a second transfer of the same plot.
  - C(changed) is true when a move or transfer started, or a finished transfer was acknowledged
    (listed in RV(completed)).
author: plotfleet developers (@plotfleet)
extends_documentation_fragment:
  - plotfleet.chia.host
  - plotfleet.chia.move
  - plotfleet.chia.attributes
attributes:
  check_mode:
    support: full
    details: Reports RV(would_move) and the reasons, moves nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - rsync flags are limited to those of macOS rsync 2.6.9 and openrsync (C(--partial-dir),
    C(--bwlimit), C(--timeout), C(--progress)). Paths with spaces are safe locally and remotely.
  - The storage host needs C(python3) (for verifying and renaming the copy) and C(rsync).
seealso:
  - module: plotfleet.chia.plot_info
"""

EXAMPLES = r"""
- name: Move finished plots to two local disks and one storage host
  plotfleet.chia.plot_move:
    log_dir: /var/log/plotfleet
    state_dir: /var/lib/plotfleet
    dst_dirs: [/mnt/nvme0/done]
    destinations:
      - path: /mnt/hdd01/plots
        must_be_mount: true
      - path: /mnt/hdd02/plots
        must_be_mount: true
      - path: /srv/plots
        host: storage1.example.net
        user: plotter
        ssh_key: /home/plotter/.ssh/storage
        free_bytes: 4000000000000
    max_transfers_per_destination: 1
    bwlimit_kbps: 80000
    ssh_options: ["-o", "StrictHostKeyChecking=accept-new"]

- name: What would move where
  plotfleet.chia.plot_move:
    log_dir: /var/log/plotfleet
    state_dir: /var/lib/plotfleet
    dst_dirs: [/mnt/nvme0/done]
    destinations: [{path: /mnt/hdd01/plots}]
  check_mode: true
  register: plan

- name: Show it
  ansible.builtin.debug:
    var: plan.would_move
"""

RETURN = r"""
moved:
  description: Plots renamed within one filesystem in this run.
  returned: always
  type: list
  elements: dict
  sample: [{plot: plot-k32-2025-01-01-00-00-aa.plot, plot_id: aa, source: /mnt/d1/new/plot-k32-2025-01-01-00-00-aa.plot,
            destination: /mnt/d1/plots/plot-k32-2025-01-01-00-00-aa.plot, method: rename}]
started:
  description:
    - Detached transfers started (or resumed) in this run. C(method) is V(copy) (local, another
      filesystem) or V(rsync) (remote).
  returned: always
  type: list
  elements: dict
  sample: [{id: aa, plot: plot-k32-2025-01-01-00-00-aa.plot, plot_id: aa,
            source: /mnt/nvme0/done/plot-k32-2025-01-01-00-00-aa.plot, destination: /srv/plots, host: storage1,
            method: rsync, pid: 4242, log: /var/log/plotfleet/transfer-aa.log, resumed: false}]
completed:
  description: Transfers that finished since the last run, acknowledged now (not in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{id: aa, plot_id: aa, source: /mnt/nvme0/done/plot-k32-2025-01-01-00-00-aa.plot, destination: /srv/plots,
            host: storage1, method: rsync, bytes_total: 108836770613, started: 1764380000.0, finished: 1764381000.0}]
would_move:
  description: In check mode, what would be moved where and how (V(rename), V(copy) or V(rsync)).
  returned: always
  type: list
  elements: dict
  sample: [{plot: plot-k32-2025-01-01-00-00-aa.plot, source: /mnt/nvme0/done/plot-k32-2025-01-01-00-00-aa.plot,
            destination: /mnt/hdd01/plots, host: null, method: copy, resume: false}]
reasons:
  description: Why plots found in the source dirs were not moved (one line each, with each destination's reason).
  returned: always
  type: list
  elements: str
  sample: ["/mnt/nvme0/done/plot-k32-2025-01-01-00-00-aa.plot: not moved: /mnt/hdd01/plots not a mount point"]
transfers:
  description:
    - Transfer records after this run (as in plot_info), with C(state) V(running), V(done),
      V(failed) or V(interrupted), C(bytes_done) and C(rate_bps).
    - A transfer is V(running) while any process of it lives (its worker, or the rsync a killed
      worker left in its process group); V(interrupted) once none does.
  returned: always
  type: list
  elements: dict
  contains:
    reason:
      description: Why it failed, for people; null unless V(failed).
      type: str
    failure:
      description:
        - The kind of failure, null unless V(failed) - V(full) (no room), V(unmounted) (not a mount
          point), V(missing) (destination dir missing), V(busy) (the storage host had no slot for the copy in
          any of the dirs offered - every one at O(max_transfers_per_destination) or without room beside the
          copies running there; retried by the next run, not counted in O(max_attempts)),
          V(network) (ssh/rsync connection lost or refused),
          V(verify) (the copy did not match the source), V(conflict) (a different file with the plot's
          name is at the destination), V(source) (the source plot is gone or not the expected plot) or
          V(error) (anything else).
        - After V(full), V(unmounted) and V(missing) the destination is held for 30 minutes and the plot
          may go elsewhere at once; other kinds wait O(retry_after_s); V(conflict) waits for a person.
      type: str
    conflict:
      description:
        - For a V(conflict) - C(source) (the plot, kept), C(destination) (the file in the way, C(host:path)
          for a remote one, left untouched), C(host) and C(problem) (how it differs); else null.
      type: dict
  sample: [{id: aa, state: failed, failure: conflict, reason: "conflict: ...",
            conflict: {source: /mnt/nvme0/done/plot-k32-2025-01-01-00-00-aa.plot,
                       destination: "storage1:/srv/plots/plot-k32-2025-01-01-00-00-aa.plot",
                       host: storage1, problem: bytes differ from the source at sampled offsets}}]
"""

import sys  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

import ansible_collections.plotfleet.chia.plugins.module_utils.compiled_cache  # noqa: E402,F401  (first: .pyc cache)
from ansible_collections.plotfleet.chia.plugins.module_utils import moving, options  # noqa: E402

try:  # the whole host state (live jobs); without it plot_move works from the files alone
    from ansible_collections.plotfleet.chia.plugins.module_utils import hoststate
except ImportError:
    hoststate = None
try:
    from ansible_collections.plotfleet.chia.plugins.module_utils import processes
except ImportError:
    processes = None

def argument_spec():
    return options.host_argument_spec(**options.move_options())


def check_params(module):
    problems = options.move_problems(module.params)
    if problems:
        module.fail_json(msg=problems[0])


def gather(params, warnings):
    state, procs = None, None
    if processes is not None:
        try:
            procs = processes.list_processes()
        except Exception as exc:  # the process table only refines liveness checks
            warnings.append("process table unavailable (%s); checking pids directly" % exc)
    if hoststate is not None:
        try:
            state = hoststate.gather(params)
        except Exception as exc:  # moving still works from the files alone
            warnings.append("host state unavailable (%s); judging plots by their files alone" % exc)
    return state, procs


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    check_params(module)
    params = dict(module.params)
    params["python"] = params["python"] or sys.executable
    warnings = []
    state, procs = gather(params, warnings)
    try:
        result = moving.run_pass(params, state, procs, module.check_mode, warnings)
    except (IOError, OSError) as exc:
        module.fail_json(msg="plot_move failed: %s" % exc, warnings_list=warnings)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
