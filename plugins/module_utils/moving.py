# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The body of plot_move: under the host lock gather (transfer.py) -> decide (policy/move.py) -> act.

act: same filesystem -> os.rename here and now; otherwise a transfer record and a detached
transfer_worker (copy/rsync to a hidden temp name, verify, rename, delete the source).
A plot has one transfer record, named by its plot id, so it is never transferred twice.
"""

from __future__ import absolute_import, division, print_function

import ast
import hashlib
import importlib
import os
import shutil
import sys
import time

from ansible_collections.plotfleet.chia.plugins.module_utils import detach, records, transfer
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import move as policy

__metaclass__ = type

ARCHIVE_AFTER_S = 7 * 86400  # then, acknowledged, they move to transfers/done/ (out of every pass's reads)
RECORD_VERSION = 1
COMPUTED_KEYS = ("_path", "rate_bps", "source_dev")

def install_worker(state_dir):
    """Path of the drain worker's entry (draining.py) installed with every collection module it
    imports, under their package paths, in a dir named by the hash of their text; once, atomically."""
    files = worker_files()
    digest = hashlib.sha256("\0".join(path + "\0" + text for path, text in files).encode("utf-8")).hexdigest()[:16]
    bin_dir = records.ensure_dir(os.path.join(state_dir, "bin"))
    target = os.path.join(bin_dir, transfer.WORKER_DIR_PREFIX + digest)
    if not os.path.isdir(target):
        staging = "%s.%d.tmp" % (target, os.getpid())
        for path, text in files:
            records.ensure_dir(os.path.dirname(os.path.join(staging, path)))
            with open(os.path.join(staging, path), "w") as handle:
                handle.write(text)
        try:
            os.rename(staging, target)
        except OSError:  # another pass installed it first
            shutil.rmtree(staging, ignore_errors=True)
    return os.path.join(target, WORKER_ENTRY)


PACKAGE = "ansible_collections.plotfleet.chia.plugins.module_utils"
WORKER_ENTRY = "draining.py"


def worker_files():
    """[(relative path, text)]: the entry, flat, and the modules it reaches (read from their loader,
    so a zipped module_utils works too); packages get their __init__.py."""
    # Imported here, not at the top: a pass that starts no transfer does not load the worker's code (issue 15);
    # Ansible's module finder reads every import in the file, so it still ships them.
    from ansible_collections.plotfleet.chia.plugins.module_utils import draining, transfer_worker
    texts, todo = {}, [draining.__name__.rsplit(".", 1)[-1]]
    while todo:
        name = todo.pop()
        if name in texts:
            continue
        texts[name] = transfer_worker.source_of(importlib.import_module("%s.%s" % (PACKAGE, name)))
        todo += [dep for dep in collection_imports(texts[name]) if dep not in texts]
    base = PACKAGE.replace(".", "/")
    files = [(WORKER_ENTRY, texts["draining"])]
    for name, text in texts.items():
        parts = name.split(".")
        files.append(("%s/%s.py" % (base, "/".join(parts)), text))
        if len(parts) > 1:
            files.append(("%s/%s/__init__.py" % (base, "/".join(parts[:-1])), ""))
    return sorted(set(files))


def collection_imports(text):
    """Names (relative to module_utils, e.g. "policy.move") of the collection modules text imports."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith(PACKAGE):
            sub = node.module[len(PACKAGE):].lstrip(".")
            found += [(sub + "." + alias.name) if sub else alias.name for alias in node.names]
    return found


def run_pass(params, state, procs, check_mode, warnings, now=None):
    """The body of plot_move. params: the module's params; state: hoststate.gather() or None."""
    now = now or time.time()
    state_dir = params["state_dir"]
    destinations = [dict(d) for d in params.get("destinations") or []]
    local_dests = set(transfer._real(d["path"]) for d in destinations if not d.get("host"))
    source_dirs = [d for d in list(params.get("dst_dirs") or []) + list(params.get("source_dirs") or [])
                   if transfer._real(d) not in local_dests]  # plots already at a destination stay there
    busy_dirs, busy_files = transfer.busy_from_state(state)
    result = {"changed": False, "moved": [], "started": [], "completed": [], "would_move": [], "reasons": []}
    if check_mode and not os.path.isdir(state_dir):
        lock = _no_lock()
    else:
        lock = records.host_lock(state_dir)
    with lock:
        transfers = transfer.load_transfers(state_dir, procs, warnings, now)
        candidates, reasons = transfer.find_candidates(source_dirs, busy_dirs, busy_files, now)
        retry_now = params.get("retry_after_s", policy.RETRY_AFTER_S) == 0
        if retry_now and not check_mode:
            from ansible_collections.plotfleet.chia.plugins.module_utils import transfer_worker
            transfer_worker.clear_marks(state_dir)  # "storage is back, retry now" also ends the holds
        hold_s = 0 if retry_now else transfer.FULL_HOLD_S
        dests = transfer.measure_destinations(destinations, transfer.full_marks(state_dir), now, hold_s)
        known = transfers + transfer.archived_for(state_dir, candidates, transfers, warnings)
        decided = policy.plan(candidates, dests, known, params.get("max_transfers_per_destination") or 1,
                              params.get("max_transfers_per_source") or 1, now,
                              retry_after_s=params.get("retry_after_s", policy.RETRY_AFTER_S),
                              max_attempts=params.get("max_attempts", policy.MAX_ATTEMPTS),
                              no_destination=params.get("no_destination_reason") or policy.NO_DESTINATION)
        result["reasons"] = reasons + decided["reasons"]
        for rec in transfers:
            if rec["state"] == "done" and not rec.get("acknowledged"):
                result["completed"].append(_summary(rec))
                if not check_mode:
                    _acknowledge(rec, now)
            elif rec["state"] == "failed" and not rec.get("acknowledged"):
                warnings.append("transfer %s of %s failed: %s" % (rec["id"], rec["source"], rec.get("reason")))
                if not check_mode:
                    _acknowledge(rec, now)
        if not check_mode:
            archive_old(state_dir, transfers, now, warnings)
        for action in decided["actions"]:
            if check_mode:
                result["would_move"].append(_would(action))
                result["reasons"] += replot_listing(action, params)
            elif action["kind"] == "rename":
                _rename(action, state_dir, now, result)
            else:
                _start(action, params, now, result, warnings)
    result["changed"] = bool(result["moved"] or result["started"] or result["completed"] or result["would_move"])
    result["transfers"] = transfer.describe_transfers(state_dir, procs, warnings) if os.path.isdir(state_dir) else []
    return result


class _no_lock(object):
    def __enter__(self):
        return True

    def __exit__(self, *exc):
        return False


def _method(dest, kind):
    if kind == "rename":
        return "rename"
    return "rsync" if dest.get("host") else "copy"


def _would(action):
    cand, dest = action["candidate"], action["destination"]
    return {"plot": cand["name"], "source": cand["path"], "destination": dest["path"], "host": dest.get("host"),
            "method": _method(dest, action["kind"]), "resume": bool(action["record"] and
                                                                    action["record"]["state"] == "interrupted")}


def replot_listing(action, params):
    """Check mode at a destination where the storage host replots: exactly which old plots the copy's
    replot-session would delete there now (the agent's replot-plan; nothing is touched), as reasons."""
    cand, dest = action["candidate"], action["destination"]
    if action["kind"] != "transfer" or not dest.get("host") or not (dest.get("replot") or {}).get("policy"):
        return []
    rec = {"host": dest["host"], "user": dest.get("user"), "port": dest.get("port"), "ssh_key": dest.get("ssh_key"),
           "ssh_options": list(params.get("ssh_options") or []), "destination": dest["path"],
           "plot_name": cand["name"], "source": cand["path"], "bytes_total": cand["size"],
           "replot_policy": dest["replot"]["policy"]}
    where = "%s:%s" % (dest["host"], dest["path"])
    from ansible_collections.plotfleet.chia.plugins.module_utils import transfer_worker
    try:
        shown = transfer_worker.remote(rec, "replot-plan", transfer_worker.replot_request(rec), cand["size"],
                                       int(dest.get("min_free_bytes") or 0), timeout=REPLOT_PLAN_TIMEOUT_S)
    except (OSError, transfer_worker.TransferError) as exc:
        return ["%s: replot at %s: no plan (%s)" % (cand["path"], where, exc)]
    if shown.get("error"):
        return ["%s: replot at %s: no plan (%s)" % (cand["path"], where, shown["error"])]
    return ["%s: replot at %s: %s" % (cand["path"], where, line) for line in shown.get("listing") or []] or [
        "%s: replot at %s: nothing to delete (room enough)" % (cand["path"], where)]


REPLOT_PLAN_TIMEOUT_S = 60


def _summary(rec):
    return dict((key, rec.get(key)) for key in ("id", "plot_id", "source", "destination", "host", "method",
                                                   "bytes_total", "started", "finished"))


def _stored(rec):
    return dict((key, value) for key, value in rec.items() if key not in COMPUTED_KEYS)


def archive_old(state_dir, transfers, now, warnings):
    """Move acknowledged done records older than ARCHIVE_AFTER_S to transfers/done/: a pass reads
    only the recent ones, and transfer.archived_for() still finds a plot's record if the plot shows up again."""
    old = [rec for rec in transfers if rec["state"] == "done" and rec.get("acknowledged")
           and now - (rec.get("finished") or now) > ARCHIVE_AFTER_S]
    if not old:
        return
    folder = os.path.join(records.record_dir(state_dir, records.TRANSFERS), transfer.ARCHIVE)
    records.ensure_dir(folder)
    for rec in old:
        try:
            os.rename(rec["_path"], os.path.join(folder, os.path.basename(rec["_path"])))
        except OSError as exc:
            warnings.append("cannot archive %s: %s" % (rec["_path"], exc.strerror))


def _acknowledge(rec, now):
    data = _stored(rec)
    data.update(acknowledged=True, acknowledged_at=now)
    records.write_json_atomic(rec["_path"], data)


def _base_record(cand, dest, method, now):
    return {"version": RECORD_VERSION, "id": cand["plot_id"], "plot_id": cand["plot_id"], "plot_name": cand["name"],
            "k": cand["k"], "source": cand["path"], "source_dir": cand["dir"], "source_dev": cand["dev"],
            "destination": dest["path"], "host": dest.get("host"), "method": method, "bytes_total": cand["size"],
            "started": now, "finished": None, "state": "running", "reason": None, "pid": None,
            "proc_start": None, "acknowledged": False}


def _rename(action, state_dir, now, result):
    cand, dest = action["candidate"], action["destination"]
    final = os.path.join(dest["path"], cand["name"])
    if os.path.exists(final):
        result["reasons"].append("%s: not moved: %s already exists" % (cand["path"], final))
        return
    os.rename(cand["path"], final)
    from ansible_collections.plotfleet.chia.plugins.module_utils import transfer_worker
    transfer_worker.fsync_dir(dest["path"])
    transfer_worker.fsync_dir(cand["dir"])
    rec = _base_record(cand, dest, "rename", now)
    rec.update(state="done", finished=time.time(), bytes_done=cand["size"], acknowledged=True, attempt=1)
    records.write_record(state_dir, records.TRANSFERS, rec["id"], rec)
    result["moved"].append({"plot": cand["name"], "plot_id": cand["plot_id"], "source": cand["path"],
                            "destination": final, "method": "rename"})


def new_record(action, params, now):
    """The transfer record for a transfer action of the plan (not yet written)."""
    from ansible_collections.plotfleet.chia.plugins.module_utils import cpu
    cand, dest, old = action["candidate"], action["destination"], action["record"]
    state_dir = params["state_dir"]
    rec = _base_record(cand, dest, _method(dest, "transfer"), now)
    rec.update(user=dest.get("user"), port=dest.get("port"), ssh_key=dest.get("ssh_key"),
               ssh_options=list(params.get("ssh_options") or []), must_be_mount=bool(dest.get("must_be_mount")),
               ssh_ciphers=policy.ssh_ciphers(params.get("ssh_ciphers"), dest, cpu.has_aes()),
               min_free_bytes=int(dest.get("min_free_bytes") or 0), rsync_path=params.get("rsync_path"),
               bwlimit_kbps=params.get("bwlimit_kbps"), delete_source=params.get("delete_source", True),
               state_dir=state_dir, attempt=((old or {}).get("attempt") or 0) + 1,
               log=os.path.join(params["log_dir"], "transfer-%s.log" % cand["plot_id"]))
    if old and old.get("destination") == rec["destination"] and old.get("host") == rec["host"]:
        rec["bytes_resumed"] = old.get("bytes_done") or 0
    if old and old.get("pid"):
        rec["previous"] = {"pid": old["pid"], "proc_start": old.get("proc_start")}  # the worker ends what is left
    if dest.get("host"):  # the storage host arbitrates its dirs between all plotters (storage_agent)
        rec["slot_cap"] = params.get("max_transfers_per_destination") or 1
        rec["alternatives"] = [{"destination": alt["path"], "host": alt.get("host")}
                               for alt in action.get("alternatives") or []]  # same host, best first
        if (dest.get("replot") or {}).get("policy"):  # the storage host replots: the agent may make room
            rec["replot_policy"] = dest["replot"]["policy"]
            rec["replot_deleted"] = list((old or {}).get("replot_deleted") or [])  # earlier attempts' deletions
    rec["refused"] = policy.uncounted_attempts(old)  # busy refusals and held destinations: no failure of the plot
    if old and old.get("fingerprint"):
        rec["fingerprint"] = old["fingerprint"]  # checks a copy found in place should the source be gone
    rec["abandoned"] = policy.abandoned_destinations(old, rec)
    if params.get("drain", True):
        rec["drain"] = drain_params(params)  # the worker takes the next plot itself (draining.py)
    return rec


# What a drain worker needs to re-decide with the same policy as the pass (module params, as given).
DRAIN_KEYS = ("state_dir", "log_dir", "dst_dirs", "source_dirs", "destinations", "max_transfers_per_destination",
              "max_transfers_per_source", "retry_after_s", "max_attempts", "bwlimit_kbps", "rsync_path",
              "ssh_options", "ssh_ciphers", "delete_source", "python")


def drain_params(params):
    return dict((key, params.get(key)) for key in DRAIN_KEYS if key in params)


def _start(action, params, now, result, warnings):
    cand, dest, old = action["candidate"], action["destination"], action["record"]
    state_dir = params["state_dir"]
    rec = new_record(action, params, now)
    method = rec["method"]
    records.ensure_dir(params["log_dir"])
    path = records.write_record(state_dir, records.TRANSFERS, rec["id"], rec)
    python = params.get("python") or sys.executable
    argv = [python, "-S", install_worker(state_dir), path]  # -S: stdlib only, no site start-up
    # The worker stamps its own pid and start time into the record: nothing here writes the record
    # once it may run (it could already have finished). Unit name per attempt: an old one may linger.
    try:
        spawned = detach.detach(argv, rec["log"], unit="plotfleet-transfer-%s-%d" % (rec["id"], rec["attempt"]),
                                warnings=warnings)
    except OSError as exc:
        rec.update(state="failed", reason="cannot start the transfer worker: %s" % exc, finished=time.time())
        records.write_json_atomic(path, rec)
        warnings.append("%s: %s" % (cand["path"], rec["reason"]))
        return
    pid = spawned["pid"]
    result["started"].append({"id": rec["id"], "plot": cand["name"], "plot_id": cand["plot_id"],
                              "source": cand["path"], "destination": dest["path"], "host": dest.get("host"),
                              "method": method, "pid": pid, "log": rec["log"],
                              "resumed": bool(old and old["state"] == "interrupted")})
