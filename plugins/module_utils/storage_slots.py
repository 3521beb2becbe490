# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The storage agent's slots file, read: what the running incoming copies of a storage host still have
to write in each of its dirs (plot_info's `storage_incoming`, issue 15 follow-up), and the reading rules
the agent's own arbitration applies (who holds a slot, what a holder still has to write).

One copy of those rules for both sides: the storage agent (storage_agent.py, act code shipped as text)
imports this file (its program text defines it first, transfer_worker.agent_program), and takes its lock
and writes the file itself; plot_info (gather) only reads here, takes no lock and writes nothing: the
agent replaces the file atomically (rename), and a torn, missing or foreign file reads as "no copies".
Standard library only, nothing runs on import. tests/unit/test_storage_incoming.py checks that both
agree on a file the agent itself wrote.
"""

from __future__ import absolute_import, division, print_function

import json
import os

__metaclass__ = type

SLOTS_NAME = "storage-slots"
STATE_ENV = "PLOTFLEET_STORAGE_STATE"


def slots_path():
    """The slots file (without .json) of the user running this: the agent's, which plot_info reads."""
    base = os.environ.get(STATE_ENV) or os.path.join(os.path.expanduser("~"), ".plotfleet")
    return os.path.join(base, SLOTS_NAME)


def read_slots(path=None):
    """{realpath of a dir: [holder entries]}; {} when the file is missing, torn or not the agent's."""
    try:
        with open((path or slots_path()) + ".json") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def started(pid):
    """The start time of pid (clock ticks since boot, as text), None if unknown."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def holder_alive(entry):
    """The copy's agent still runs (a pid of another user counts as alive, as for the agent)."""
    try:
        os.kill(entry["pid"], 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass
    return entry.get("start") is None or started(entry["pid"]) in (None, entry["start"])


def written(directory, name):
    """Bytes a copy named name has written in directory so far (its partial or rsync temp files)."""
    sizes = [0]
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    for other in names:
        ours = other.startswith((name + ".", "." + name + ".")) and len(other) - len(name) in (7, 8)
        if other == name or ours:
            try:
                sizes.append(os.stat(os.path.join(directory, other)).st_size)
            except OSError:
                pass
    return max(sizes)


def is_entry(entry):
    """A holder entry as the agent writes it (anything else in the file is ignored, never trusted)."""
    return (isinstance(entry, dict) and isinstance(entry.get("pid"), int) and isinstance(entry.get("bytes"), int)
            and isinstance(entry.get("partial"), str))


def live_holders(data, directory, but=None):
    """The entries of the copies still running in directory (by its realpath), but the one whose partial
    name is `but` (a copy asking again is not beside itself)."""
    entries = data.get(os.path.realpath(directory))
    if not isinstance(entries, list):
        return []
    return [e for e in entries if is_entry(e) and e["partial"] != but and holder_alive(e)]


def still_to_write(directory, held):
    """Bytes the holders in held still have to write in directory."""
    return sum(max(0, e["bytes"] - written(directory, e["partial"])) for e in held)


def incoming(dirs, path=None):
    """{dir as given: {"copies": running incoming copies, "bytes": what they still have to write,
    "plots": {plot name: what that copy still has to write}}} for each of dirs that has a live copy in the
    slots file (the agent's own count, storage_agent.arbitrate). The plot names let a sender take its own
    copies out of the count (move_destinations: it reserves them itself)."""
    data = read_slots(path)
    out = {}
    for directory in dirs or []:
        held = live_holders(data, directory)
        if held:
            plots = dict((holder_name(e), still_to_write(directory, [e])) for e in held)
            out[str(directory)] = {"copies": len(held), "bytes": still_to_write(directory, held), "plots": plots}
    return out


def holder_name(entry):
    """The plot a holder copies: its "name" (the agent writes it), else its partial name."""
    name = entry.get("name")
    return name if isinstance(name, str) and name else entry["partial"]
