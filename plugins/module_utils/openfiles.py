# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of some files a process on this host holds open: the last check before a temp file is deleted.

Linux reads /proc/<pid>/fd; elsewhere (macOS) `lsof` answers. None means "cannot tell", and a
caller that deletes on its own judgement (dead-job cleanup) must then keep the files.
"""

from __future__ import absolute_import, division, print_function

import os
import subprocess

__metaclass__ = type


def held_open(paths, proc="/proc"):
    """The subset of paths (as given) that some process has open, or None when that is unknown."""
    paths = list(paths)
    if not paths:
        return set()
    if os.path.isdir(os.path.join(proc, "self", "fd")):
        return _from_proc(paths, proc, writable_only=False)
    return _from_lsof(paths)


def held_for_writing(paths, proc="/proc"):
    """The subset of paths some process has open for writing (Linux /proc only); None if unknown."""
    paths = list(paths)
    if not os.path.isdir(os.path.join(proc, "self", "fdinfo")):
        return None
    return _from_proc(paths, proc, writable_only=True) if paths else set()


def _from_proc(paths, proc, writable_only):
    by_real = {}
    for path in paths:
        by_real.setdefault(os.path.realpath(path), []).append(path)
    found = set()
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        fd_dir = os.path.join(proc, pid, "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue   # gone, or another user's process we may not look into
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            mine = by_real.get(target)
            if mine and (not writable_only or _fd_writable(proc, pid, fd)):
                found.update(mine)
    return found


def _fd_writable(proc, pid, fd):
    try:
        with open(os.path.join(proc, pid, "fdinfo", fd)) as handle:
            for line in handle:
                if line.startswith("flags:"):
                    return int(line.split()[1], 8) & (os.O_WRONLY | os.O_RDWR) != 0
    except (IOError, OSError, ValueError):
        return True  # cannot tell: assume the worst
    return True


def _from_lsof(paths):
    try:
        done = subprocess.run(["lsof", "-F", "n", "--"] + paths, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, universal_newlines=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    # lsof exits 1 both when no file is open and on errors; an empty answer with 1 is "none open".
    if done.returncode not in (0, 1):
        return None
    return parse_lsof_names(done.stdout, paths)


def parse_lsof_names(text, paths):
    """The given paths named by `n` lines of `lsof -F n` output."""
    wanted = set(paths)
    real = dict((os.path.realpath(p), p) for p in paths)
    found = set()
    for line in text.splitlines():
        if not line.startswith("n"):
            continue
        name = line[1:]
        if name in wanted:
            found.add(name)
        elif name in real:
            found.add(real[name])
    return found
