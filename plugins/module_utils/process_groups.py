# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a transfer worker (or what is left of it) still runs: process start times and process
groups. Read-only, standard library only: installed next to the worker (flat, like plotfile.py)."""

from __future__ import absolute_import, division, print_function

import errno
import os
import subprocess
import time

__metaclass__ = type


def process_start(pid):
    """Start time (epoch seconds) of pid, or None if it is not running (transfer.py joins on it)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/stat") as handle:
            btime = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
        return btime + int(fields[19]) / float(os.sysconf("SC_CLK_TCK"))
    except (IOError, OSError, StopIteration, IndexError, ValueError):
        pass
    if os.path.exists("/proc/self/stat"):
        return None  # Linux and no such pid
    try:
        out = subprocess.check_output(["ps", "-o", "lstart=", "-p", str(pid)], stderr=subprocess.DEVNULL)
        return time.mktime(time.strptime(out.decode("ascii").strip(), "%a %b %d %H:%M:%S %Y"))
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None


def group_alive(pgid):
    """Some process of process group pgid still lives (a transfer worker leads its own group, and
    its rsync and ssh children stay in it when the worker is killed)."""
    if not pgid or pgid <= 1:
        return False
    try:
        os.killpg(pgid, 0)
    except OSError as exc:
        if exc.errno != errno.EPERM:  # EPERM: it exists, it is only not ours to signal
            return False
    # A killed worker stays a zombie until init reaps it, and a zombie still takes signals: on Linux
    # only a process that is not a zombie keeps the transfer alive.
    return _non_zombie_in_group(pgid) if os.path.isdir("/proc/self") else True


def _non_zombie_in_group(pgid):
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def group_members(pgid):
    """Command lines of the processes in group pgid (Linux /proc), or None where that cannot be read."""
    if not os.path.isdir("/proc/self"):
        return None
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                if int(handle.read().rsplit(")", 1)[1].split()[2]) != pgid:
                    continue
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                found.append(handle.read().replace(b"\0", b" ").decode("utf-8", "replace"))
        except (OSError, IndexError, ValueError):
            continue
    return found
