# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Disk and machine facts for plot_info: free/total space, plot and temp bytes, load, CPU, memory."""

from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

from ansible_collections.plotfleet.chia.plugins.module_utils import cpu, plotfile

__metaclass__ = type


def mount_point(path):
    """The mount point holding path (walk up while the device stays the same)."""
    path = os.path.realpath(path)
    try:
        dev = os.stat(path).st_dev
    except OSError:
        return None
    while path != "/":
        parent = os.path.dirname(path)
        try:
            if os.stat(parent).st_dev != dev:
                return path
        except OSError:
            return path
        path = parent
    return "/"


def scan_dir(path):
    """Facts about one tmp/dst dir; temp files are returned for attribution to jobs.

    {"path", "exists", "free_bytes", "total_bytes", "plot_bytes", "plot_count" (v1 `.plot`),
     "plots_v2", "plot_bytes_v2" (PoS2 `.plot2` files), "temp_bytes", "temp_count" (plotfile.is_temp_name),
     "device", "mount_point", "error"} plus "_temps": [(name, bytes)]. One listing of the dir for all of it.
    """
    entry = {"path": path, "exists": False, "free_bytes": None, "total_bytes": None, "plot_bytes": 0,
             "plot_count": 0, "plots_v2": 0, "plot_bytes_v2": 0, "temp_bytes": 0, "temp_count": 0,
             "device": None, "mount_point": None, "error": None, "_temps": []}
    try:
        st = os.stat(path)
    except OSError as exc:
        entry["error"] = exc.strerror or str(exc)
        return entry
    entry["exists"] = True
    entry["device"] = st.st_dev
    try:
        vfs = os.statvfs(path)
        entry["free_bytes"] = vfs.f_bavail * vfs.f_frsize
        entry["total_bytes"] = vfs.f_blocks * vfs.f_frsize
    except OSError as exc:
        entry["error"] = exc.strerror or str(exc)
    entry["mount_point"] = mount_point(path)
    try:
        with os.scandir(path) as it:
            for item in it:
                name = item.name
                if name.endswith(".plot"):
                    size = _size(item)
                    entry["plot_bytes"] += size
                    entry["plot_count"] += 1
                elif plotfile.is_plot2_name(name):
                    if item.is_file(follow_symlinks=False):
                        entry["plot_bytes_v2"] += _size(item)
                        entry["plots_v2"] += 1
                elif plotfile.is_temp_name(name):
                    size = _size(item)
                    entry["temp_bytes"] += size
                    entry["temp_count"] += 1
                    entry["_temps"].append((name, size))
    except OSError as exc:
        entry["error"] = exc.strerror or str(exc)
    return entry


def _size(item):
    try:
        if item.is_file(follow_symlinks=False):
            return item.stat(follow_symlinks=False).st_size
    except OSError:
        pass
    return 0


# ---------------------------------------------------------------------------------------------
# Load, CPU idle, memory

def read_cpu_times():
    """(idle, total) jiffies from /proc/stat's first line (Linux), else None."""
    try:
        with open("/proc/stat", "rb") as handle:
            fields = handle.readline().split()
    except (IOError, OSError):
        return None
    if not fields or fields[0] != b"cpu":
        return None
    values = [int(x) for x in fields[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)   # idle + iowait
    total = sum(values[:8])   # guest time is already inside user/nice
    return idle, total


def cpu_idle_percent(previous, current):
    """Idle % between two (idle, total) samples, or None when they cannot be compared."""
    if not previous or not current:
        return None
    try:
        d_idle = current[0] - previous[0]
        d_total = current[1] - previous[1]
    except (TypeError, IndexError):
        return None
    if d_total <= 0 or d_idle < 0:
        return None
    return round(100.0 * d_idle / d_total, 1)


def memory():
    """(total_bytes, available_bytes); either may be None."""
    if sys.platform.startswith("linux"):
        info = {}
        try:
            with open("/proc/meminfo") as handle:
                for line in handle:
                    key, _, rest = line.partition(":")
                    if key in ("MemTotal", "MemAvailable"):
                        info[key] = int(rest.split()[0]) * 1024
        except (IOError, OSError, ValueError, IndexError):
            return None, None
        return info.get("MemTotal"), info.get("MemAvailable")
    try:
        out = subprocess.run(["sysctl", "-n", "hw.memsize"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True, timeout=5).stdout
        return int(out.strip()), None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None, None


def load(cpu_sample_prev=None):
    """Machine load; returns (load dict, current cpu sample to keep for the next call).

    CPU idle is measured between the previous call's /proc/stat sample (kept in the parser cache)
    and this one, so plot_info never sleeps to measure it; null on the first call and off Linux.
    """
    try:
        load1, load5, load15 = os.getloadavg()
    except (OSError, AttributeError):
        load1 = load5 = load15 = None
    sample = read_cpu_times()
    mem_total, mem_available = memory()
    result = {
        "load1": load1, "load5": load5, "load15": load15,
        "cpus": os.cpu_count(),
        "cpu_idle_percent": cpu_idle_percent(cpu_sample_prev, sample),
        "mem_total_bytes": mem_total, "mem_available_bytes": mem_available,
        "cpu_aes": cpu.has_aes(),
    }
    return result, sample
