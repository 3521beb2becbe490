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
  - plotfleet.chia.attributes
attributes:
  check_mode:
    support: full
    details: Reports RV(would_move) and the reasons, moves nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  source_dirs:
    description:
      - Directories to take finished plots from, besides O(dst_dirs).
      - A directory that is also a local destination is never a source.
    type: list
    elements: path
    default: []
  destinations:
    description:
      - Where plots may go, tried in order of free space minus the bytes reserved by transfers in
        flight (a destination on the source's own filesystem first, as a rename costs nothing).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Directory on the destination host (absolute).
        type: str
        required: true
      host:
        description:
          - Storage host to rsync to over SSH. V(null) means a directory on this host.
        type: str
      user:
        description: SSH user on O(destinations[].host).
        type: str
      port:
        description: SSH port on O(destinations[].host).
        type: int
      ssh_key:
        description: Private key file on this host used to reach O(destinations[].host).
        type: path
      must_be_mount:
        description:
          - Skip this destination unless O(destinations[].path) is a mount point (an unmounted
            disk would otherwise fill the filesystem below it).
        type: bool
        default: false
      mounted:
        description:
          - Whether a remote O(destinations[].path) is a mount point, as its storage host's
            M(plotfleet.chia.plot_info) saw it this pass (filled in by
            P(plotfleet.chia.move_destinations#filter)). With O(destinations[].must_be_mount), V(false)
            rules the dir out before any choice (reason C(not a mount point)); unknown leaves the check
            to the transfer worker at the far end. Local destinations are always checked here.
        type: bool
      problem:
        description:
          - Why the storage host found this dir unusable this pass (for example C(No such file or
            directory)); the dir is then skipped with this reason, the host's other dirs are still used.
        type: str
      free_bytes:
        description:
          - Free bytes at a remote destination, gathered by the controller in the same pass.
            Local destinations are always measured. Unknown free space does not block a transfer
            (the worker checks before copying).
        type: int
      min_free_bytes:
        description: Bytes to leave free at this destination.
        type: int
        default: 0
      incoming_bytes:
        description:
          - Bytes other hosts are still sending to this destination (their running transfers, as
            plot_info reports them in the same pass); they are taken off its free space, so that
            plotters sharing a storage dir do not all start copies that only one of them can finish.
            The reconcile role fills it in (P(plotfleet.chia.move_destinations#filter)).
        type: int
        default: 0
      cpu_aes:
        description:
          - Whether the destination host's CPU has AES instructions, gathered by the controller
            (M(plotfleet.chia.plot_info) RV(plotfleet.chia.plot_info#module:load.cpu_aes)). See O(ssh_ciphers).
        type: bool
      replot:
        description:
          - Replot at this remote destination (docs/replot.md), filled in by
            P(plotfleet.chia.move_destinations#filter) only where its storage host has it on -
            C(room_bytes) (what replot could free there for one arrival now; counted as free space when
            choosing) and C(policy) (the storage host's C(plotfleet_replot) with C(storage_dirs)). A transfer
            there asks the storage agent for a C(replot-session) - the agent deletes the fewest old plots that
            make room, under its lock, and the transfer record keeps what went (its C(replot)). Unset - no replot.
        type: dict
  max_transfers_per_destination:
    description:
      - Transfers running at once towards one destination.
      - For a remote destination the storage host enforces it across all plotters - the worker's ssh session
        takes a slot in the dir (under a lock on the storage host, C(~/.plotfleet/storage-slots.json) of
        the SSH user; a slot whose process is gone is free again) and also needs room beside the copies
        already running there. Refused, the copy goes to the next dir of that host this run found usable
        (fewest transfers running, then most free space), else it fails as V(busy) and waits for the next run.
    type: int
    default: 1
  max_transfers_per_source:
    description:
      - Transfers running at once from one source filesystem.
      - An NVMe staging disk reads far faster than one HDD writes (2-3 GB/s against about 250 MB/s), and a
        GPU plotter needs 2-4 HDDs written at once to keep up, so the default is 4 (sizing in docs/moving.md).
      - Each transfer's worker takes the next waiting plot itself when its copy is done (a drain worker),
        within these caps, until none is left.
    type: int
    default: 4
  retry_after_s:
    description:
      - Seconds to wait before a failed transfer of a plot is tried again (after a full, unmounted or
        missing destination the plot goes elsewhere at once). The reason and the time left are in RV(reasons).
      - The decision reads the failure kind (RV(transfers[].failure)), never the message text.
      - V(0) means "storage is back, retry now" - every failed transfer is tried again in this run,
        a C(conflict) too (it is checked again, nothing is overwritten), and the destinations held as
        full, not mounted or missing are released. Otherwise a C(conflict) waits for a person.
    type: int
    default: 600
  max_attempts:
    description:
      - Failed transfers of one plot after which it is no longer retried; the plot stays where it
        is and RV(reasons) names the record file to delete to try again.
    type: int
    default: 5
  bwlimit_kbps:
    description: Bandwidth limit per transfer in KiB/s (rsync C(--bwlimit); also applied to local copies).
    type: int
  rsync_path:
    description: The C(rsync) program on this host. Default is C(rsync) from E(PATH).
    type: str
  ssh_options:
    description:
      - Extra C(ssh) arguments for remote destinations, for example
        V(["-o", "StrictHostKeyChecking=accept-new"]). C(BatchMode=yes) is always set.
    type: list
    elements: str
    default: []
  ssh_ciphers:
    description:
      - SSH ciphers for remote transfers (encryption is most of the CPU a transfer costs).
      - V(auto) prefers AES-GCM when this host and the destination both have AES instructions
        (O(destinations[].cpu_aes)), the fastest cipher there, and otherwise leaves ssh's default
        (chacha20-poly1305, faster without AES hardware, as on a Raspberry Pi 4).
      - V(default) always leaves the choice to ssh; any other value is passed as C(-o Ciphers=VALUE).
      - A C(Ciphers) option in O(ssh_options) wins over this one.
    type: str
    default: auto
  delete_source:
    description: Delete the source plot after the copy is verified and renamed into place.
    type: bool
    default: true
  python:
    description: Python interpreter that runs the detached transfer worker. Default is the module's own.
    type: str
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

from ansible_collections.plotfleet.chia.plugins.module_utils import moving, options  # noqa: E402
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import move as policy  # noqa: E402

try:  # the whole host state (live jobs); without it plot_move works from the files alone
    from ansible_collections.plotfleet.chia.plugins.module_utils import hoststate
except ImportError:
    hoststate = None
try:
    from ansible_collections.plotfleet.chia.plugins.module_utils import processes
except ImportError:
    processes = None

DESTINATION_SPEC = dict(
    path=dict(type="str", required=True),
    host=dict(type="str"),
    user=dict(type="str"),
    port=dict(type="int"),
    ssh_key=dict(type="path"),
    must_be_mount=dict(type="bool", default=False),
    mounted=dict(type="bool"),
    problem=dict(type="str"),
    free_bytes=dict(type="int"),
    min_free_bytes=dict(type="int", default=0),
    incoming_bytes=dict(type="int", default=0),
    cpu_aes=dict(type="bool"),
    replot=dict(type="dict"),
)


def argument_spec():
    return options.host_argument_spec(
        source_dirs=dict(type="list", elements="path", default=[]),
        destinations=dict(type="list", elements="dict", default=[], options=DESTINATION_SPEC),
        max_transfers_per_destination=dict(type="int", default=1),
        max_transfers_per_source=dict(type="int", default=4),
        retry_after_s=dict(type="int", default=policy.RETRY_AFTER_S),
        max_attempts=dict(type="int", default=policy.MAX_ATTEMPTS),
        bwlimit_kbps=dict(type="int"),
        rsync_path=dict(type="str"),
        ssh_options=dict(type="list", elements="str", default=[]),
        ssh_ciphers=dict(type="str", default="auto"),
        delete_source=dict(type="bool", default=True),
        python=dict(type="str"),
    )


def check_params(module):
    params = module.params
    for index, dest in enumerate(params["destinations"]):
        if not dest["path"].startswith("/"):
            module.fail_json(msg="destinations[%d].path must be absolute, got %r" % (index, dest["path"]))
    if params["retry_after_s"] < 0:
        module.fail_json(msg="retry_after_s must be 0 or more seconds, got %d" % params["retry_after_s"])
    for name in ("max_transfers_per_destination", "max_transfers_per_source", "max_attempts"):
        if params[name] < 1:
            module.fail_json(msg="%s must be at least 1, got %d" % (name, params[name]))
    if params["bwlimit_kbps"] is not None and params["bwlimit_kbps"] < 1:
        module.fail_json(msg="bwlimit_kbps must be a positive number of KiB/s, got %d" % params["bwlimit_kbps"])


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
