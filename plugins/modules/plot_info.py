#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: plotfleet developers

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: plot_info
short_description: The whole Chia plotting state of a host in one call
description:
  - Returns the host's live plotting jobs, the history of finished, failed, dead and stopped plots,
    transfers, the tmp and dst directories and the machine load. Read-only; it never changes anything (its
    parser cache in O(state_dir) is not a change).
  - B(Discovery.) Launch records written by M(plotfleet.chia.plot_start) in O(state_dir) are joined with
    the process table by pid and process start time; a pid whose start time differs by more than 2
    seconds was reused by another program, so that job is not running (a warning says so). Plotter
    processes started by hand are adopted - C(chia plots create), C(chia plotters chiapos|madmax|bladebit),
    C(chia_plot), C(bladebit) (RAM, C(diskplot)), C(bladebit_cuda) or C(bladebit ... cudaplot) (plotter
    C(bladebit_cuda)), the Gigahorse GPU plotter C(cuda_plot_kNN[_v3]) (plotter C(gigahorse)), Python running
    the chiapos module or plotfleet's chiapos driver, plotfleet's PoS2 driver (plotter C(pos2)), C(xchplot2 plot)
    (plotter C(xchplot2), followed by process and by the C(.plot2) files in its C(-o) dir; its log is not
    parsed); of a parent and child running the same plot (for example
    C(chia plotters madmax) and its C(chia_plot)), only the child is a job. An adopted job's log is the
    file on its standard output, or else the newest unfinished log in O(log_dir) naming the same dirs.
  - B(Logs.) Every file in O(log_dir) and the log of every live job is parsed (chiapos, madMAx, BladeBit
    RAM and disk), incrementally - a cache in O(state_dir) keyed by path, inode, size and modification
    time means each call reads only what was appended since the last one. A log that shrank or was
    replaced is parsed again from the start.
  - B(States.) C(plotting) and C(copying) for plots of live processes; C(stalled) when a live job's log has
    not grown for O(stall_after_s) seconds (default - max(600 s, 5 x the expected duration of one step,
    where a step is one table of a phase - 7 in phase 1, 6 in phases 2 and 3, 2 in phase 4 - and the
    phase duration is this host's mean for that plotter and k, or without history the job's own rate
    so far)). C(suspended) when the process is stopped (SIGSTOP - state C(T) in C(/proc/PID/stat), or
    in C(ps -o stat=) on macOS) - no ETA and no stall while it is; a job resumed with
    M(plotfleet.chia.plot_stop) counts its stall time from the resume, one resumed by hand from the
    last call that saw it suspended (kept in the parser cache). C(finished) once the log shows
    the final rename or copy (also after the plot file was moved away - RV(history[].plot_file) is then
    null); C(failed) on a plotter error line; C(dead) when no process runs and the log ends before
    completing; C(stopped) instead of C(dead) when M(plotfleet.chia.plot_stop) terminated it (it noted
    who and when first - RV(history[].stopped)) - not a crash, so crash-loop backoff does not count it.
    A launch record whose process died before its log named a plot is a C(failed) (log has text),
    C(stopped) or C(dead) (empty log) history entry.
  - B(ETA.) From this host's history - the mean duration of each phase (and of the final copy) over the
    finished plots of the same plotter and k in the parsed logs. Remaining = the undone fraction of the
    current phase (from the step and bucket position in the log) x that phase's mean + the means of the
    later phases. Without history, default phase weights (chiapos k32 - P1 44 %, P2 18 %, P3 35 %,
    P4 2 %) turn the elapsed time into the rate so far - remaining = elapsed x (1 - progress) / progress.
  - Missing or unreadable dirs, binary or garbage logs, unreadable records - these become RV(host_warnings),
    never a failure.
version_added: "0.1.0"
author: plotfleet developers (@plotfleet)
options:
  metrics_path:
    description:
      - Write the state as Prometheus text metrics to this file (for node_exporter's textfile collector, so a
        name ending in C(.prom) in its C(--collector.textfile.directory)), atomically (temp file + rename), after
        every call. Unset (the default) - no metrics. Metric names - docs/reporting.md.
      - Counters (plots finished, bytes moved) are kept in C(<state_dir>/metrics-counters.json). Writing them is
        not a change.
      - Not in check mode - neither file is written (check mode writes no metrics on the hosts; the next real call
        counts what finished meanwhile). Only the parse caches in O(state_dir) are kept up to date in check mode.
    type: path
  replot:
    description:
      - A storage host's C(plotfleet_replot) with C(storage_dirs) (its C(plotfleet_storage_dirs)) added, as the
        reconcile role passes it when replot is enabled (docs/replot.md). For every storage dir where replot is
        on, RV(replot_room) says what replot could free there for one arrival now (read-only, nothing deleted).
        Unset (the default) - no replot_room.
      - For the same dirs RV(replot_status) gives the replot progress and the journal's recent entries, for the
        status (docs/reporting.md). Both read the dirs and the journal, never write them.
    type: dict
extends_documentation_fragment:
  - plotfleet.chia.host
  - plotfleet.chia.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: [posix]
notes:
  - Works on Linux (process table from C(/proc)) and macOS (from C(ps -axww -o pid=,ppid=,lstart=,command=);
    a running plotter's log is found with C(lsof)). On macOS, argv with spaces is recovered from the
    space-joined command line by checking which joined words are existing paths.
"""

EXAMPLES = r"""
- name: Read the plotting state of the worker
  plotfleet.chia.plot_info:
    log_dir: /var/log/plotfleet
    state_dir: /var/lib/plotfleet
    tmp_dirs: [/mnt/nvme1, /mnt/nvme2]
    dst_dirs: [/mnt/hdd07/plots]
  register: host

- name: Show stalled jobs
  ansible.builtin.debug:
    msg: "{{ host.jobs | selectattr('state', 'equalto', 'stalled') | map(attribute='id') | list }}"
"""

RETURN = r"""
storage_incoming:
  description:
    - Per dir of O(dst_dirs) (a storage host's storage dirs) that incoming copies are running into - how many
      (C(copies)) and the bytes they still have to write (C(bytes); per plot name in C(plots)), as the storage
      agent's slot arbitration counts them - from the agent's slots file (C(storage-slots.json)) in
      C($PLOTFLEET_STORAGE_STATE), else in C(~/.plotfleet) of the user running this module. So it is the storage
      ssh user's count when plot_info runs as that user (C(plotfleet_storage_ssh_user), whom the plotters'
      copies log in as); run as another user it finds that user's file, usually none, and reports nothing (the
      plotters' own view of each other's copies remains).
      Read-only - no lock taken, a missing or torn file reads as no copies. It counts copies from plotters outside
      the pass too.
  returned: always
  type: dict
  sample: {"/mnt/d1": {"copies": 1, "bytes": 2147483648, "plots": {"plot-k32-2025-01-01-00-00-ab12.plot": 2147483648}}}
replot_room:
  description:
    - Per storage dir where replot is on (O(replot)) - the bytes and number of old plots replot could delete
      there for one arrival now, within its limits (C(replot.room), docs/replot.md).
  returned: when O(replot) is set
  type: dict
  sample: {"/mnt/d1": {"bytes": 217675065344, "plots": 2}}
replot_status:
  description:
    - Per storage dir where replot is on (O(replot)) - the replot progress and the journal's recent entries
      (docs/replot.md). Read-only for the dirs and the journal; a summary of the journal is cached in
      C(<state_dir>/cache/replot-journal.json), so each call reads only the lines appended since the last one (not a
      change, written in check mode too). What is listed is bounded (10 outcomes, 10 interrupted deletions per
      dir). Never the plot's memo.
  returned: when O(replot) is set
  type: dict
  sample: {"/mnt/d1": {"old": {"count": 40, "bytes": 4353501306880}, "new": {"count": 10, "bytes": 1088375326720},
           "percent": 20.0, "arrived": {"count": 3, "bytes": 326512598016}, "deleted": {"count": 3,
           "bytes": 326512598016}, "arrival_rate_bps": 3779081.0, "eta_s": 1152000, "deleted_total": {"count": 30,
           "bytes": 3265125980160}, "recent": [], "unfinished": [], "unfinished_count": 0}}
  contains:
    dir: {description: The storage dir as configured., type: str, returned: always}
    old: {description: "Plots the policy would replace - C({count, bytes}).", type: dict, returned: always}
    new: {description: "Plots of an arrival format (C(arrivals)) that are not old - C({count, bytes}).", type: dict,
          returned: always}
    percent: {description: "New bytes of old + new bytes, in % (one decimal); null without such plots.",
              type: float, returned: always}
    arrived: {description: "New plots that landed in the last C(window_s) seconds (their inode change time - the
              rename that lands a copy) - C({count, bytes}).", type: dict, returned: always}
    deleted: {description: "Deletions in the journal in the last C(window_s) seconds - C({count, bytes}).",
              type: dict, returned: always}
    deleted_total: {description: "Every deletion the journal holds for the dir - C({count, bytes}).", type: dict,
                    returned: always}
    window_s: {description: The window of C(arrived) and C(deleted) (86400)., type: int, returned: always}
    arrival_rate_bps: {description: "C(arrived) bytes / C(window_s).", type: float, returned: always}
    eta_s:
      description:
        - "Seconds until the old plots are replaced at the arrival rate - old bytes / C(arrival_rate_bps) (a full
          dir - each arrival replaces its size of old plots); 0 once no old plot is left; null without arrivals."
      type: int
      returned: always
    paused: {description: Deleting is paused for the dir (plans are still made)., type: bool, returned: always}
    keep_min: {description: Replaceable plots that always stay in the dir., type: int, returned: always}
    recent:
      description:
        - "The journal's last outcomes for the dir, newest first - C(event) (C(deleted), C(failed), C(kept)),
          C(name), C(size), C(plot_id), C(why), C(for) (the incoming plot), C(at) (ISO 8601 UTC), C(t) (epoch),
          C(error) for a failure, C(found_after) for an outcome written after an interruption."
      type: list
      elements: dict
      returned: always
    unfinished:
      description:
        - "Deletions the journal started without an outcome (a killed storage agent), the last 10 - the journal
          keys and C(found) - C(gone) (that file, same inode, is no longer there) or C(present). The storage
          agent writes their outcome at its next session."
      type: list
      elements: dict
      returned: always
    unfinished_count: {description: How many such deletions there are., type: int, returned: always}
jobs:
  description:
    - Plots of live plotter processes (one process may show two - madMAx copies one plot while it makes the
      next). Every plot dict key below, plus the job keys.
  returned: always
  type: list
  elements: dict
  contains:
    id: {description: "Plot id (64 hex), null before the plotter printed it.", type: str, returned: always}
    plotter: {description: "C(chiapos), C(madmax), C(bladebit), C(bladebit_cuda), C(gigahorse), C(pos2) or
              C(xchplot2).", type: str, returned: always}
    k: {description: Plot size., type: int, returned: always}
    index: {description: 1-based number of this plot in its log (C(-n N) logs hold several)., type: int,
            returned: always}
    count: {description: The N of C(-n N) when known., type: int, returned: always}
    state: {description: "C(plotting), C(copying), C(stalled), C(suspended) (the process is stopped, SIGSTOP) or
            C(failed) (a plotter that retries, still running).", type: str, returned: always}
    phase: {description: "0 before phase 1, 1 to 4, 5 = final copy or rename.", type: int, returned: always}
    step: {description: "C(phase:minor) on plotman 0.5.3's grid (docs/scheduling.md), for example C(2:3); a finished
           plot shows its plotter's last step (chiapos C(5:3), madMAx C(5:2), others C(5:1)).", type: str,
           returned: always}
    progress: {description: "Fraction done (0.0 to 1.0), bucket-level where the log has buckets.", type: float,
               returned: always}
    error: {description: The plotter's error line when it failed., type: str, returned: always}
    tmp_dir: {description: Temporary dir., type: str, returned: always}
    tmp2_dir: {description: Second temporary dir., type: str, returned: always}
    dst_dir: {description: Destination dir., type: str, returned: always}
    plot_name: {description: Final file name once known., type: str, returned: always}
    plot_file: {description: Final path (only for finished plots)., type: str, returned: always}
    phase_seconds: {description: "Duration of each completed phase, keyed C(1) to C(4).", type: dict,
                    returned: always}
    total_seconds: {description: Total plotting time the plotter printed., type: float, returned: always}
    copy_seconds: {description: Final copy time the plotter printed., type: float, returned: always}
    started_ts: {description: Start time from the log's dates (epoch)., type: float, returned: always}
    finished_ts: {description: End time from the log's dates (epoch)., type: float, returned: always}
    buckets: {description: Buckets., type: int, returned: always}
    threads: {description: Threads., type: int, returned: always}
    buffer_mib: {description: Buffer (MiB)., type: int, returned: always}
    warning: {description: "A parser remark about this plot, if any.", type: str, returned: always}
    pid: {description: Process id of the plotter., type: int, returned: always}
    proc_start: {description: "Start time of that process (epoch), as the process table gives it.", type: float,
                 returned: always}
    process_state: {description: "The process state, as C(/proc/PID/stat) or C(ps -o stat=) shows it (C(R), C(S),
                    C(D), C(T) = stopped ...), null if unknown.", type: str, returned: always}
    log: {description: Path of the log (null if it could not be found)., type: str, returned: always}
    log_mtime: {description: Last modification of the log (epoch)., type: float, returned: always}
    launch_id: {description: "Launch record id, null for an adopted process.", type: str, returned: always}
    adopted: {description: True when the process was started without plotfleet., type: bool, returned: always}
    started: {description: "Start (epoch) - launch record, else the log's first date, else the process start.",
              type: float, returned: always}
    ended: {description: Always null for a job., type: float, returned: always}
    elapsed_s: {description: Seconds since the start., type: float, returned: always}
    eta_s: {description: "Estimated seconds left (see the ETA method above), or null (always null while
            suspended).", type: float, returned: always}
    stall_after_s: {description: The stall threshold applied to this job (seconds)., type: int,
                    returned: "when the job is plotting, copying or stalled and its log is known"}
    tmp_bytes: {description: Bytes of this plot's temp files (names holding its id) in its dirs., type: int,
                returned: always}
history:
  description:
    - Plots with no live process - finished, failed, dead, stopped - newest first, at most O(history_limit).
      Same keys as RV(jobs) (C(pid) null, C(eta_s) null), plus those below.
  returned: always
  type: list
  elements: dict
  contains:
    state: {description: "C(finished), C(failed), C(dead) (a crash - no process, log cut short) or C(stopped)
            (terminated by M(plotfleet.chia.plot_stop), not a crash).", type: str, returned: always}
    stopped: {description: "Who stopped it and when - C({at: epoch, by: plot_stop, action: terminate}).",
              type: dict, returned: for stopped plots}
    plot_file: {description: The finished plot's path while it is still there; null once moved away., type: str,
                returned: always}
    ended: {description: "End (epoch) - the finish date in the log, else the log's last modification.",
            type: float, returned: always}
    tmp_bytes: {description: "Bytes of the temp files a dead, failed or stopped plot left behind.", type: int,
                returned: always}
    tmp_files: {description: Paths of those temp files., type: list, elements: str,
                returned: "for dead, failed and stopped plots from logs"}
transfers:
  description: Plot transfers started by M(plotfleet.chia.plot_move), running or recent.
  returned: always
  type: list
  elements: dict
  contains:
    id: {description: Transfer id., type: str, returned: always}
    plot_id: {description: Plot id., type: str, returned: always}
    source: {description: Source path., type: str, returned: always}
    destination: {description: Destination path (or rsync target)., type: str, returned: always}
    host: {description: "Remote storage host, null for a local move.", type: str, returned: always}
    state: {description: "C(running), C(done), C(failed) or C(interrupted).", type: str, returned: always}
    pid: {description: Worker process id., type: int, returned: always}
    bytes_total: {description: Size of the plot., type: int, returned: always}
    bytes_done: {description: Bytes copied so far., type: int, returned: always}
    rate_bps: {description: Copy rate (bytes per second)., type: float, returned: always}
    started: {description: Start (epoch)., type: float, returned: always}
    log: {description: Transfer log path., type: str, returned: always}
    method: {description: "C(rename), C(copy) or C(rsync).", type: str, returned: always}
    attempt: {description: "Attempt number (1 for the first).", type: int, returned: always}
    finished: {description: "End (epoch), null while running.", type: float, returned: always}
    reason: {description: "Why it failed, for people; null unless failed.", type: str, returned: always}
    failure:
      description:
        - "The kind of failure, null unless failed: C(full), C(unmounted), C(missing), C(busy), C(network),
          C(verify), C(conflict), C(source) or C(error) (see M(plotfleet.chia.plot_move) and docs/moving.md).
          Retry decisions read this, never the reason text."
      type: str
      returned: always
    conflict:
      description:
        - "For a C(conflict): C(source) (the plot, kept), C(destination) (the file in the way, C(host:path) for
          a remote one, left untouched), C(host) and C(problem); else null."
      type: dict
      returned: always
dirs:
  description: Every configured tmp and dst dir.
  returned: always
  type: list
  elements: dict
  contains:
    path: {description: The dir as configured (no trailing slash)., type: str, returned: always}
    roles: {description: "C(tmp), C(dst) or both.", type: list, elements: str, returned: always}
    exists: {description: Whether the dir exists., type: bool, returned: always}
    error: {description: "Why it could not be read, else null.", type: str, returned: always}
    free_bytes: {description: Bytes available to the user (statvfs f_bavail)., type: int, returned: always}
    free: {description: Same as C(free_bytes)., type: int, returned: always}
    total_bytes: {description: Size of the filesystem., type: int, returned: always}
    plot_bytes: {description: "Bytes of C(*.plot) files in the dir.", type: int, returned: always}
    plot_count: {description: "Number of C(*.plot) files.", type: int, returned: always}
    plots_v1: {description: "Number of v1 (PoS1, C(*.plot)) plots - same as C(plot_count).", type: int,
               returned: always}
    plot_bytes_v1: {description: "Bytes of those v1 plots - same as C(plot_bytes).", type: int, returned: always}
    plots_v2: {description: "Number of v2 (PoS2) plots, C(plot-k{k}-{id}.plot2).", type: int, returned: always}
    plot_bytes_v2: {description: Bytes of those v2 plots., type: int, returned: always}
    temp_bytes: {description: "Bytes of C(*.tmp) files (plotter temp files, transfer partials).", type: int,
                 returned: always}
    temp_count: {description: Number of those temp files., type: int, returned: always}
    device: {description: Device id (st_dev) - two dirs with the same one share a filesystem., type: int,
             returned: always}
    mount_point: {description: Mount point holding the dir., type: str, returned: always}
load:
  description: Machine load.
  returned: always
  type: dict
  contains:
    load1: {description: 1-minute load average., type: float, returned: always}
    load5: {description: 5-minute load average., type: float, returned: always}
    load15: {description: 15-minute load average., type: float, returned: always}
    cpus: {description: Number of CPUs., type: int, returned: always}
    cpu_idle_percent: {description: "CPU idle % since the previous plot_info call on this host (Linux); null on
                       the first call and on macOS.", type: float, returned: always}
    mem_total_bytes: {description: Physical memory., type: int, returned: always}
    mem_available_bytes: {description: "Available memory (Linux), else null.", type: int, returned: always}
    cpu_aes: {description: "Whether the CPU has AES instructions (null if unknown); plot_move prefers the
              AES-GCM SSH cipher when both ends have them.", type: bool, returned: always}
host_warnings:
  description:
    - Problems found (bad records, reused pids, unreadable dirs, garbage logs); never fatal. Also shown as
      Ansible warnings (Ansible keeps no C(warnings) key in a registered result, hence the name).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

import ansible_collections.plotfleet.chia.plugins.module_utils.compiled_cache  # noqa: E402,F401  (first: .pyc cache)
from ansible_collections.plotfleet.chia.plugins.module_utils import hoststate, metrics, options, storage_state  # noqa: E402


def _write_metrics(params, state, warnings):
    """The Prometheus textfile; a failure to write it is a warning, never a failed gather."""
    try:
        metrics.write(params["metrics_path"], state, params["state_dir"], warnings)
    except (OSError, ValueError) as exc:
        warnings.append("metrics_path %s: not written: %s" % (params["metrics_path"], exc))


def main():
    module = AnsibleModule(argument_spec=options.host_argument_spec(metrics_path=dict(type="path"),
                                                                       replot=dict(type="dict")),
                           supports_check_mode=True)
    if module.params["history_limit"] < 0:
        module.fail_json(msg="history_limit must be >= 0, got %d" % module.params["history_limit"])
    if module.params["stall_after_s"] is not None and module.params["stall_after_s"] <= 0:
        module.fail_json(msg="stall_after_s must be > 0, got %d" % module.params["stall_after_s"])
    state = hoststate.gather(module.params)
    warnings = state.pop("warnings")
    # storage_incoming and, with replot, replot_room/replot_status: before the metrics, which show them
    storage_state.add_figures(state, module.params["dst_dirs"], module.params["replot"], module.params["state_dir"])
    if module.params["metrics_path"] and not module.check_mode:   # no metrics file nor counters in check mode
        _write_metrics(module.params, state, warnings)
    for warning in warnings:
        module.warn(warning)
    # Ansible strips a result's `warnings` key (it only displays it): the list is returned as host_warnings.
    module.exit_json(changed=False, host_warnings=warnings, **state)


if __name__ == "__main__":
    main()
