# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drain worker: one detached process that moves plot after plot until none is left.

plot_move starts it (moving._start) on one transfer record; once that transfer ends, the worker
takes the next eligible plot itself, under the host lock, deciding with the same gather
(transfer.py) and pure policy (policy/move.py) as a pass: free space minus what is in flight, the
caps per destination and per source disk, never a temp file, never a file open for writing, never the
temp dirs of a live madMAx or Gigahorse. More plots waiting than this worker can take start
siblings (moving._start), within the caps. With nothing to take it waits, polling every POLL_S,
while a live plotter writes into its source dirs (more plots are coming), at most IDLE_EXIT_S; then
it exits. Moving goes on while the controller is down; the next pass adopts the running workers
through their records (a running record is never started twice).

Installed by moving.install_worker() as <state_dir>/bin/plotfleet-transfer-<hash>/draining.py with
the collection modules it imports beside it, and run as `python -S draining.py <record.json>`.
"""

from __future__ import absolute_import, division, print_function

import os
import sys
import time

from ansible_collections.plotfleet.chia.plugins.module_utils import (
    custom_plotter,
    moving,
    process_groups,
    processes,
    records,
    transfer,
    transfer_worker,
)
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import move as policy

__metaclass__ = type

POLL_S = 2.0          # a plot waits at most this long (plus the plan) after its final rename
IDLE_EXIT_S = 600     # an idle worker exits after this long even while plotters run


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write("usage: draining.py <transfer record .json>\n")
        return 2
    rec_path, rc = argv[0], 0
    while rec_path:
        rc = transfer_worker.run(rec_path)
        rec = records.read_json(rec_path) or {}
        drain = rec.get("drain")
        if not drain or rec.get("state") != "done":
            return rc  # a failed transfer is the pass's to look at (retry rules, holds, warnings)
        note_sent(drain, rec)
        rec_path = wait_for_next(drain)
    return rc


def note_sent(drain, rec):
    """A remote destination's free space came from the pass that started us: count what we sent."""
    if rec.get("state") != "done" or not rec.get("host"):
        return
    for dest in drain.get("destinations") or []:
        if dest.get("host") == rec["host"] and dest.get("path") == rec["destination"] and dest.get("free_bytes"):
            dest["free_bytes"] = max(0, dest["free_bytes"] - int(rec.get("bytes_total") or 0))


def wait_for_next(drain, clock=time.time, sleep=time.sleep):
    """The record path of the next transfer this worker runs, or None when it should exit."""
    began = clock()
    while True:
        path = take_next(drain, clock())
        if path:
            return path
        if clock() - began >= IDLE_EXIT_S or not plots_coming(drain):
            return None
        sleep(POLL_S)


def source_dirs(drain):
    local = set(os.path.realpath(d["path"]) for d in drain.get("destinations") or [] if not d.get("host"))
    dirs = list(drain.get("dst_dirs") or []) + list(drain.get("source_dirs") or [])
    return [d for d in dirs if os.path.realpath(d) not in local]


def plots_coming(drain):
    """A live plotter writes into one of the source dirs (its dst, tmp or tmp2 dir)."""
    wanted = set(os.path.realpath(d) for d in source_dirs(drain))
    for _proc, info in live_plotters(drain, processes.list_processes([])):
        dirs = (info.get("dst_dir"), info.get("tmp_dir"), info.get("tmp2_dir"))
        if any(d and os.path.realpath(d) in wanted for d in dirs):
            return True
    return False


def live_plotters(drain, procs):
    """[(proc, info)] of live plotters, custom ones too (the templates plot_start kept, as plot_info)."""
    return processes.plotter_processes(procs, custom=custom_plotter.load_templates(drain["state_dir"]))


def busy_dirs(drain, procs):
    """Temp dirs of live madMAx / Gigahorse processes: their own copy thread moves plots out of them."""
    found = set()
    for _proc, info in live_plotters(drain, procs):
        if info.get("plotter") in transfer.SELF_COPYING_PLOTTERS:
            found.update(os.path.realpath(d) for d in (info.get("tmp_dir"), info.get("tmp2_dir")) if d)
    return found


def take_next(drain, now):
    """Under the host lock: plan as a pass does; the first transfer is ours (its record written with
    our pid, so that nobody else starts it), the others start siblings, renames happen here."""
    state_dir, warnings = drain["state_dir"], []
    result = {"moved": [], "started": [], "reasons": []}
    with records.host_lock(state_dir):
        procs = processes.list_processes(warnings)
        transfers = transfer.load_transfers(state_dir, procs, warnings, now)
        candidates, _why = transfer.find_candidates(source_dirs(drain), busy_dirs(drain, procs), set(), now)
        if not candidates:
            return None
        dests = transfer.measure_destinations([dict(d) for d in drain.get("destinations") or []],
                                              transfer.full_marks(state_dir), now)
        known = transfers + transfer.archived_for(state_dir, candidates, transfers, warnings)
        decided = policy.plan(candidates, dests, known, drain.get("max_transfers_per_destination") or 1,
                              drain.get("max_transfers_per_source") or 1, now,
                              retry_after_s=drain.get("retry_after_s", policy.RETRY_AFTER_S),
                              max_attempts=drain.get("max_attempts", policy.MAX_ATTEMPTS))
        mine = None
        for action in decided["actions"]:
            if action["kind"] == "rename":
                moving._rename(action, state_dir, now, result)
            elif mine is None:
                mine = _claim(action, drain, now)
            else:
                moving._start(action, drain, now, result, warnings)
    for line in warnings:
        transfer_worker.log("warning: %s" % line)
    return mine


def _claim(action, drain, now):
    """Write the record of this transfer as ours and point our output at its log."""
    rec = moving.new_record(action, drain, now)
    rec.update(pid=os.getpid(), proc_start=process_groups.process_start(os.getpid()) or now)
    records.ensure_dir(drain["log_dir"])
    path = records.write_record(drain["state_dir"], records.TRANSFERS, rec["id"], rec)
    _log_to(rec["log"])
    transfer_worker.log("drain: next plot %s (after a transfer of this worker)" % rec["source"])
    return path


def _log_to(path):
    sys.stdout.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
