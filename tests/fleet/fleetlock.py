"""One namespace fleet on a machine at a time: its bridge, namespaces and addresses have fixed names.

The fleet session holds an flock on LOCK_PATH (the lock the developers' `flock LOCK_PATH pytest ...`
takes too). When an ancestor process already holds it (`flock LOCK_PATH make test`), taking it again
from here would wait for ever on our own parent: then the session runs under the ancestor's lock.
"""

import contextlib
import fcntl
import os
import sys
import time

LOCK_PATH = "/tmp/plotfleet-fleet.lock"  # fleet 0's; fleetlib.LOCK_PATH names each fleet's own
# Seconds this process waited for another fleet run (the suite's timing is not its own then).
waited = {"s": 0.0}


def ancestors(pid=None):
    """Pids above pid (this process by default), nearest first, read from /proc."""
    found, pid = [], pid or os.getpid()
    while pid > 1:
        try:
            with open("/proc/%d/stat" % pid) as handle:
                pid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
        found.append(pid)
    return found


def flock_holders(path):
    """Pids holding an flock on path (from /proc/locks; empty when the file does not exist)."""
    try:
        st = os.stat(path)
    except OSError:
        return []
    device = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    holders = []
    with open("/proc/locks") as handle:
        for line in handle:
            fields = line.split()
            # "1: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF" (a waiter's line has "->" after the number)
            if "->" in fields or len(fields) < 6 or fields[1] != "FLOCK":
                continue
            if fields[5] == device and fields[4].isdigit():
                holders.append(int(fields[4]))
    return holders


@contextlib.contextmanager
def held(path=LOCK_PATH):
    """Hold the fleet lock for the block (unless an ancestor holds it already for us)."""
    if set(flock_holders(path)) & set(ancestors()):
        yield "held by an ancestor"
        return
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.stderr.write("waiting for the fleet lock %s (another fleet run holds it)\n" % path)
            began = time.time()
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            waited["s"] += time.time() - began
        try:
            yield "taken"
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
