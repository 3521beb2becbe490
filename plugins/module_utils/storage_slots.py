# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only view of the storage agent's slots file: what the running incoming copies of a storage
host still have to write in each of its dirs (plot_info's `storage_incoming`, issue 15 follow-up).

The storage agent (storage_agent.py, act code shipped as text, importing nothing of ours) writes the
file under its lock; this gather-side copy of its reading rules (slots_path, holder_alive, written)
never writes and takes no lock: the agent replaces the file atomically (rename), and a torn, missing
or foreign file reads as "no copies". tests/unit/test_storage_incoming.py checks that both agree on a
file the agent itself wrote.
"""

from __future__ import absolute_import, division, print_function

import json
import os

__metaclass__ = type

SLOTS_NAME = "storage-slots"
STATE_ENV = "PLOTFLEET_STORAGE_STATE"


def slots_path():
    """The agent's slots file (without .json) of the user running this, as storage_agent.slots_path."""
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


def _live(entries):
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("pid"), int)
            and isinstance(e.get("bytes"), int) and isinstance(e.get("partial"), str) and holder_alive(e)]


def incoming(dirs, path=None):
    """{dir as given: {"copies": running incoming copies, "bytes": what they still have to write}} for
    each of dirs that has a live copy in the slots file (the agent's own count, storage_agent.arbitrate)."""
    data = read_slots(path)
    out = {}
    for directory in dirs or []:
        entries = data.get(os.path.realpath(directory))
        held = _live(entries) if isinstance(entries, list) else []
        if held:
            left = sum(max(0, e["bytes"] - written(directory, e["partial"])) for e in held)
            out[str(directory)] = {"copies": len(held), "bytes": left}
    return out
