#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: plot_stop
short_description: Stop, suspend or resume plotting jobs on a host, and delete a stopped job's temp files
description:
  - Finds the host's plotting jobs as M(plotfleet.chia.plot_info) does and picks one by O(plot_id) prefix,
    or all of this configuration's jobs with O(all=true).
  - V(terminate) sends SIGTERM (chiapos ignores SIGINT during a plot; madMAx with C(-n) other than 1 gets a
    second SIGTERM, because it takes the first as "exit after this plot") and waits up to O(timeout)
    seconds; O(kill=true) then sends SIGKILL. V(suspend) sends SIGSTOP, V(resume) SIGCONT.
  - Gigahorse (C(cuda_plot_kNN)) stops gracefully - its one SIGTERM means "finish the current plot and its copy,
    then exit" - so O(kill=true) waits up to O(graceful_timeout) seconds for that before SIGKILL; without
    O(kill) plot_stop returns after O(timeout) with a warning that it is finishing its plot.
  - Jobs launched by plotfleet are signalled as a whole (their process group, or their systemd unit with
    C(systemctl kill)); jobs started by hand only on their pid.
  - Before it signals a job, it notes who and when (C(at) epoch, C(by) = C(plot_stop), C(action)) under C(stopped),
    C(suspended) or C(resumed) - in the job's launch record in O(state_dir), or for a job started by hand
    in a stop record C(<state_dir>/stops/<plot id>.json) (C(pid-PID-START.json) while its plot id is not
    known). M(plotfleet.chia.plot_info) then shows a terminated job as C(stopped), not C(dead), and
    crash-loop backoff does not count it; a resumed job's stall time counts from the resume.
  - O(cleanup=true) deletes, once the job is gone, only its temp files - regular files directly in its own
    tmp or tmp2 dir, when that dir is one of O(tmp_dirs), whose names contain its plot id and end in
    C(.tmp) (chiapos also leaves C(.plot.2.tmp) in the dst dir, deleted when that dir is one of
    O(dst_dirs)), and that no process holds open. Nothing else is ever deleted. A prefix that
    matches only an ended (dead, failed) job cleans up that job's leftover temp files without
    signalling anything.
  - O(ended=true) with O(cleanup=true) deletes the leftover temp files of every dead, failed or stopped job
    (all of the host's history, whatever O(history_limit)) of this configuration (launched through
    O(state_dir), or using one of its dirs) whose plot id no running job shares; nothing is signalled.
    It waits while a running job's plot id is not known yet, keeps any file a process still holds
    open, and keeps everything where open files cannot be checked (no C(/proc) and no C(lsof)).
  - Runs under the host lock in O(state_dir), so no plot_start of a concurrent pass can interleave.
version_added: "0.1.0"
author: plotfleet developers (@plotfleet)
extends_documentation_fragment:
  - plotfleet.chia.host
options:
  plot_id:
    description:
      - Plot id prefix (at least 4 hex digits). It must match exactly one running job unless O(all=true).
      - Exactly one of O(plot_id), O(all=true) and O(ended=true) selects the jobs.
    type: str
  all:
    description:
      - Without O(plot_id), act on every running job of this configuration - launched through O(state_dir),
        or using one of O(tmp_dirs) or O(dst_dirs) - never on plotters of another setup on the same machine.
        With O(plot_id), act on every job the prefix matches.
    type: bool
    default: false
  ended:
    description:
      - Select the dead, failed and stopped jobs of this configuration, to delete their temp files (needs
        O(cleanup=true)). Used by the reconcile role when C(plotfleet_cleanup_dead_tmp) is on.
    type: bool
    default: false
  action:
    description: What to do to the jobs.
    type: str
    default: terminate
    choices: [terminate, suspend, resume]
  timeout:
    description: Seconds to wait for terminated jobs to exit.
    type: int
    default: 30
  graceful_timeout:
    description:
      - Seconds a gracefully stopping plotter (Gigahorse - its current plot and its copy) has to exit before
        O(kill=true) sends SIGKILL. A GPU plot plus the copy of a k32 plot takes minutes.
    type: int
    default: 1800
  kill:
    description: Send SIGKILL to jobs still running after O(timeout).
    type: bool
    default: false
  cleanup:
    description: Delete the stopped jobs' temp files (see above). Only with O(action=terminate).
    type: bool
    default: false
notes:
  - Supports check mode, which lists the jobs it would signal and the files it would delete (RV(temp_files));
    RV(summary) then says C(would terminate ...), C(would delete ...). Check mode writes no note either.
  - Another run with nothing left to signal or delete reports C(changed=false).
"""

EXAMPLES = r"""
- name: Stop one plot and delete its temp files
  plotfleet.chia.plot_stop:
    log_dir: /var/log/plotfleet
    state_dir: /var/lib/plotfleet
    tmp_dirs: [/mnt/nvme1]
    plot_id: 4d3c2b1a
    cleanup: true

- name: Delete the temp files that dead jobs (a crash, a reboot) left behind
  plotfleet.chia.plot_stop:
    log_dir: /var/log/plotfleet
    state_dir: /var/lib/plotfleet
    tmp_dirs: [/mnt/nvme1]
    dst_dirs: [/mnt/hdd01/plots]
    ended: true
    cleanup: true

- name: Pause every plot on the host
  plotfleet.chia.plot_stop:
    log_dir: /var/log/plotfleet
    state_dir: /var/lib/plotfleet
    all: true
    action: suspend
"""

RETURN = r"""
jobs:
  description: The jobs selected, with what was done to each.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Plot id (64 hex) or null when the log has not shown it yet.
      type: str
    launch_id:
      description: plotfleet launch id, or null for a job started by hand.
      type: str
    pid:
      description: Plotter pid (null for an ended job).
      type: int
    plotter:
      description: The plotter, for example C(chiapos), C(madmax), C(bladebit), C(gigahorse) or C(custom).
      type: str
    action:
      description: The action taken, or C(none) (already suspended / running, or an ended job).
      type: str
    target:
      description: What got the signal, C(group PID), C(pid PID) or C(unit NAME).
      type: str
    exited:
      description: Whether the job is gone (after V(terminate)).
      type: bool
    killed:
      description: Whether SIGKILL was needed.
      type: bool
    state:
      description: C(dead), C(failed), C(stopped) or C(finished), for an ended job only.
      type: str
  sample:
    - id: 4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a
      launch_id: 5f0c0a4e1a8d4b6b9a3e0e55f2b1c7d0
      pid: 12345
      plotter: chiapos
      action: terminate
      target: group 12345
      exited: true
      killed: false
temp_files:
  description: The temp files selected for deletion (what O(cleanup) would delete, in check mode).
  returned: always
  type: list
  elements: str
deleted:
  description: The files actually deleted.
  returned: always
  type: list
  elements: str
summary:
  description:
    - One line per job and per file - what was done (C(terminated 4d3c2b1a (pid 12345), group 12345) and
      whether it C(exited), was C(killed) or is C(still running); C(deleted PATH)) or, in check mode, what
      would be done (C(would terminate ...), C(would suspend ...), C(would delete PATH)).
  returned: always
  type: list
  elements: str
  sample:
    - "would terminate 4d3c2b1a (pid 12345), group 12345"
    - would delete /mnt/nvme1/plot-k32-2026-01-01-00-00-4d3c2b1a.plot.table1.tmp
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

import ansible_collections.plotfleet.chia.plugins.module_utils.compiled_cache  # noqa: E402,F401  (first: .pyc cache)
from ansible_collections.plotfleet.chia.plugins.module_utils import hoststate, options, stopping  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=options.host_argument_spec(
            plot_id=dict(type="str"),
            all=dict(type="bool", default=False),
            ended=dict(type="bool", default=False),
            action=dict(type="str", default="terminate", choices=list(stopping.ACTIONS)),
            timeout=dict(type="int", default=30),
            graceful_timeout=dict(type="int", default=1800),
            kill=dict(type="bool", default=False),
            cleanup=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    try:
        result = stopping.run(module.params, module.check_mode, hoststate.gather)
    except stopping.StopError as exc:
        module.fail_json(msg=str(exc), changed=False)
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
