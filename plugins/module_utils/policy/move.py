# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The move policy: candidates + destinations + transfers -> which plot moves where, and why not.

Pure: no I/O, no clock (``now`` is passed in). Inputs come from transfer.py (gather): candidates from
find_candidates(), destinations from measure_destinations(), transfers from load_transfers().
plot_move's pass and the drain worker both decide with plan(), so they never disagree.
"""

from __future__ import absolute_import, division, print_function

from ansible_collections.plotfleet.chia.plugins.module_utils import transfer_facts

__metaclass__ = type

RETRY_AFTER_S = 600       # default: a failed transfer is retried after this long ...
NO_DESTINATION = "no destination configured"   # default reason of a plot with no destination
MAX_ATTEMPTS = 5          # ... at most this many times (then a human looks at the reason)
failure_of = transfer_facts.failure_of
# a destination held (full, unmounted, missing) or a slot refused: retried at once, never a failed attempt
NOT_THE_PLOTS_FAILURES = transfer_facts.HELD_FAILURES + ("busy",)


def plan(candidates, destinations, transfers, max_per_destination=1, max_per_source=1, now=None,
         retry_after_s=RETRY_AFTER_S, max_attempts=MAX_ATTEMPTS, no_destination=NO_DESTINATION):
    """Decide what moves where. Returns {"actions": [...], "reasons": [...]}.
    no_destination: why a plot that no destination was given for did not move (the caller knows why).

    actions: {"kind": "rename"|"transfer", "candidate", "destination", "record" (existing or None)}.
    destinations come from measure_destinations(); transfers from load_transfers() (with "source_dev").
    """
    now = 0.0 if now is None else now  # pure: the caller passes the clock
    by_plot = dict((t.get("plot_id"), t) for t in transfers)
    reserved, per_dest, per_source, own = {}, {}, {}, {}
    for rec in transfers:
        if rec["state"] == "running":
            key = transfer_facts.destination_key(rec.get("host"), rec["destination"])
            reserved[key] = reserved.get(key, 0) + max(0, rec["bytes_total"] - (rec.get("bytes_done") or 0))
            own.setdefault(key, set()).add(rec.get("plot_name"))
            per_dest[key] = per_dest.get(key, 0) + 1
            per_source[rec.get("source_dev")] = per_source.get(rec.get("source_dev"), 0) + 1
    actions, reasons = [], []
    for cand in sorted(candidates, key=lambda c: (c["mtime"], c["name"])):
        rec = by_plot.get(cand["plot_id"])
        why = record_blocks(rec, now, retry_after_s, max_attempts)
        if why:
            reasons.append("%s: %s" % (cand["path"], why))
            continue
        ranked, notes = _choose(cand, destinations, rec, reserved, per_dest, per_source,
                                max_per_destination, max_per_source, own)
        if not ranked:
            reasons.append("%s: not moved: %s" % (cand["path"], "; ".join(notes) or no_destination))
            continue
        choice = ranked[0]
        kind = "rename" if choice["dev"] is not None and choice["dev"] == cand["dev"] else "transfer"
        if kind == "transfer":
            key = choice["key"]
            reserved[key] = reserved.get(key, 0) + cand["size"]
            per_dest[key] = per_dest.get(key, 0) + 1
            per_source[cand["dev"]] = per_source.get(cand["dev"], 0) + 1
        actions.append({"kind": kind, "candidate": cand, "destination": choice, "record": rec,
                        "alternatives": [d for d in ranked[1:] if _same_host(d, choice)] if kind == "transfer" else []})
    return {"actions": actions, "reasons": reasons}


def _same_host(a, b):
    """Both dirs are on one storage host reached the same way (its session can arbitrate between them)."""
    return bool(a.get("host")) and all(a.get(key) == b.get(key) for key in ("host", "user", "port", "ssh_key"))


def record_blocks(rec, now, retry_after_s=RETRY_AFTER_S, max_attempts=MAX_ATTEMPTS):
    """Why an existing transfer record of this plot forbids starting one now (or None)."""
    if rec is None:
        return None
    state = rec["state"]
    if state == "running":
        return "transfer %s running (pid %s)" % (rec["id"], rec.get("pid"))
    if state == "done":
        return "already transferred to %s (record %s): not sent twice" % (_where(rec), rec["id"])
    if state == "failed":
        failure = failure_of(rec)
        counted = (rec.get("attempt") or 0) - uncounted_attempts(rec)
        if counted >= max_attempts and failure not in NOT_THE_PLOTS_FAILURES:   # held or refused: never gives up
            return "transfer failed %d times (last: %s); remove %s to retry" % (
                counted, rec.get("reason"), rec.get("_path"))
        if failure == "conflict" and retry_after_s > 0:
            found = rec.get("conflict") or {}
            return ("conflict: %s is not this plot (%s) and stays; source %s kept. Move one of them away, then "
                    "retry with plotfleet_move_retry_after_s=0" % (
                        found.get("destination") or _where(rec), found.get("problem") or rec.get("reason"),
                        found.get("source") or rec.get("source")))
        wait = retry_after_s - (now - (rec.get("finished") or 0))
        if wait > 0 and failure not in NOT_THE_PLOTS_FAILURES:
            return "transfer failed (%s); retry in %d s" % (rec.get("reason"), wait)
    return None  # interrupted: resume; failed long enough ago or at a held destination: retry (elsewhere)


def uncounted_attempts(rec):
    """The attempts of a plot, up to and including this record's, that were no failure of the plot and
    never use up max_attempts: a slot refused (busy) and a destination held (full, unmounted, missing -
    a full disk, or replot paused or at its hour limit or keep_min). The record's "refused" counts those
    of the attempts before it (moving.new_record: the next record's "refused" is this, of the old one)."""
    if not rec:
        return 0
    return (rec.get("refused") or 0) + (1 if failure_of(rec) in NOT_THE_PLOTS_FAILURES else 0)


def _where(rec):
    return "%s:%s" % (rec["host"], rec["destination"]) if rec.get("host") else rec["destination"]


def incoming_bytes(dest, own_copies=()):
    """What other plotters are still sending to dest. The storage host counts every copy it holds a slot
    for (incoming_plots, by name), this plotter's own running copies among them when the controller did
    not know them (a reconcile pass); those are reserved already, so they come out here, by name."""
    total = int(dest.get("incoming_bytes") or 0)
    plots = dest.get("incoming_plots")
    mine = sum(int(plots.get(name) or 0) for name in set(own_copies) if name) if isinstance(plots, dict) else 0
    if not mine:
        return total
    return max(total - mine, int(dest.get("incoming_senders_bytes") or 0))


def _choose(cand, destinations, rec, reserved, per_dest, per_source, max_per_destination, max_per_source,
            own=None):
    """The usable destinations for one plot, best first (or None), and the notes on the others. Best:
    same filesystem (a rename), an interrupted transfer's own destination next (to resume its partial
    copy), then the fewest transfers running there, then the most free space after reservations."""
    notes, usable = [], []
    for dest in destinations:
        if dest["problem"]:
            notes.append("%s %s" % (dest["key"], dest["problem"]))
            continue
        if dest["dev"] is not None and dest["dev"] == cand["dev"]:
            return [dest], notes  # a rename needs no room and no transfer slot
        free = dest.get("free_bytes")
        incoming = incoming_bytes(dest, (own or {}).get(dest["key"], ()))  # what other plotters still send there
        replot_room = replot_room_bytes(dest, cand)  # old plots the storage host would delete for this plot
        room = None if free is None else (free + replot_room - reserved.get(dest["key"], 0) - incoming
                                          - int(dest.get("min_free_bytes") or 0))
        if room is not None and room < cand["size"]:
            notes.append("%s has no room (%d bytes free after reservations%s%s, %d needed)" % (
                dest["key"], max(room, 0), " and %d bytes other hosts are sending" % incoming if incoming else "",
                ", with %d bytes replot could free" % replot_room if replot_room else "", cand["size"]))
            continue
        if per_dest.get(dest["key"], 0) >= max_per_destination:
            notes.append("%s has %d transfers running (cap %d)" % (
                dest["key"], per_dest.get(dest["key"], 0), max_per_destination))
            continue
        usable.append((dest, room))
    if not usable:
        return None, notes
    if per_source.get(cand["dev"], 0) >= max_per_source:
        return None, ["source disk has %d transfers running (cap %d)" % (per_source[cand["dev"]], max_per_source)]
    resume_key = transfer_facts.destination_key(rec.get("host"), rec["destination"]) if rec else None

    def rank(item):
        dest, room = item
        return (dest["key"] != resume_key, per_dest.get(dest["key"], 0), room is None, -(room or 0), dest["index"])
    return [dest for dest, _room in sorted(usable, key=rank)], notes


def replot_room_bytes(dest, cand=None):
    """What replot could free at this destination for one arrival (its storage host's plot_info): a full
    dir of replaceable old plots is not full. 0 without replot there, and 0 for a plot of a format that
    may not make room there (its "arrivals": the storage host would refuse it, and the copy would fail
    "full" and hold the dir for the plots that may)."""
    replot = dest.get("replot")
    if not isinstance(replot, dict):
        return 0
    arrivals = replot.get("arrivals")
    if cand is not None and arrivals is not None and plot_format(cand["name"]) not in arrivals:
        return 0
    return max(0, int(replot.get("room_bytes") or 0))


def plot_format(name):
    """v2 for a .plot2 (PoS2), v1 for a .plot: the formats a replot policy names."""
    return "v2" if name.endswith(".plot2") else "v1"


# AES-GCM first (cheapest with AES in hardware on both ends), then what OpenSSH offers by default,
# so a server without AES-GCM still agrees on a cipher.
AES_FIRST_CIPHERS = ("aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,"
                     "aes128-ctr,aes192-ctr,aes256-ctr")


def ssh_ciphers(choice, dest, local_aes=False):
    """The ssh Ciphers list for a transfer, or None for ssh's own default.

    choice "auto" (the default): AES-GCM first when this host (local_aes: cpu.has_aes(), gathered by
    the caller) and the destination host both have AES instructions (the destination's `cpu_aes` comes
    from its plot_info; unknown counts as no); "default": ssh's choice; anything else: that list, as given."""
    choice = choice or "auto"
    if choice == "default" or not dest.get("host"):
        return None
    if choice != "auto":
        return choice
    return AES_FIRST_CIPHERS if local_aes and dest.get("cpu_aes") is True else None


ENDPOINT_KEYS = ("destination", "host", "user", "port", "ssh_key", "ssh_options")


def abandoned_destinations(old, rec):
    """Earlier destinations of this plot that may hold a partial copy of it, other than the new one:
    the worker removes those partial copies once the plot is safe at the new destination."""
    out = []
    for place in list((old or {}).get("abandoned") or []) + ([old] if old and old.get("method") != "rename" else []):
        endpoint = dict((key, place.get(key)) for key in ENDPOINT_KEYS)
        same_as_new = (endpoint["destination"], endpoint["host"]) == (rec["destination"], rec.get("host"))
        if endpoint["destination"] and not same_as_new and endpoint not in out:
            out.append(endpoint)
    return out
