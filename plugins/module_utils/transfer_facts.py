# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the gather side (transfer.py, plot_info) and the transfer worker both know about a transfer:
failure kinds, the held-destinations file, destination keys. Pure (no I/O), standard library only:
installed next to the worker (flat, like plotfile.py), and the move policy reads it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

FULL_STATE = "destinations.json"  # destinations held as full / not mounted / missing
# The kind of a failure, stored as `failure` in the transfer record: retry decisions read it, the
# reason is for people (docs/moving.md "Failure kinds").
FAILURES = ("full", "unmounted", "missing", "busy", "network", "verify", "conflict", "source", "error")
HELD_FAILURES = ("full", "unmounted", "missing")  # the destination is held; the plot may go elsewhere at once


def destination_key(host, path):
    return "%s:%s" % (host, path) if host else path


def legacy_failure(reason, otherwise):
    """The failure kind an old record or hold (written before kinds were stored) says in its reason."""
    reason = reason or ""
    if "mount point" in reason:
        return "unmounted"
    return "full" if "full" in reason else otherwise


def failure_of(rec):
    """The failure kind of a failed record (FAILURES), None otherwise. Records written before the
    kind was stored say it only in their reason: read that once, here."""
    if rec.get("state") != "failed":
        return None
    return rec.get("failure") or legacy_failure(rec.get("reason"), "error")
