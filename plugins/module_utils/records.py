# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small JSON records in the host's state_dir: launch records, transfer records, caches.

Every write is atomic (temp file in the same dir + fsync + rename), so a reader never sees a
half-written record even if the writer dies. Readers are tolerant: an empty, truncated or
garbage file yields None and a warning, never a traceback.
"""

from __future__ import absolute_import, division, print_function

import contextlib
import errno
import fcntl
import json
import os
import tempfile

__metaclass__ = type

JOBS = "jobs"            # launch records: <state_dir>/jobs/<launch_id>.json
TRANSFERS = "transfers"  # transfer records: <state_dir>/transfers/<transfer_id>.json
CACHE = "cache"          # parser caches: <state_dir>/cache/...
STOPS = "stops"          # plot_stop's notes on adopted jobs (no launch record): <state_dir>/stops/<key>.json
LOCK_NAME = "plotfleet.lock"


def ensure_dir(path, mode=0o755):
    try:
        os.makedirs(path, mode)
    except OSError as exc:
        if exc.errno != errno.EEXIST or not os.path.isdir(path):
            raise
    return path


def write_json_atomic(path, data):
    """Write data as JSON to path atomically (temp file + fsync + rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    ensure_dir(directory)
    fd, tmp_path = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, sort_keys=True, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        raise


def read_json(path, warnings=None):
    """Return the parsed JSON object at path, or None (with a warning) if it is missing or bad."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno != errno.ENOENT and warnings is not None:
            warnings.append("cannot read %s: %s" % (path, exc.strerror))
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        if warnings is not None:
            warnings.append("ignoring unreadable record %s (%d bytes, not JSON)" % (path, len(raw)))
        return None
    if not isinstance(data, dict):
        if warnings is not None:
            warnings.append("ignoring record %s: not a JSON object" % path)
        return None
    return data


def record_dir(state_dir, kind):
    return os.path.join(state_dir, kind)


def record_path(state_dir, kind, record_id):
    return os.path.join(record_dir(state_dir, kind), "%s.json" % record_id)


def write_record(state_dir, kind, record_id, data):
    path = record_path(state_dir, kind, record_id)
    write_json_atomic(path, data)
    return path


def list_records(state_dir, kind, warnings=None):
    """All readable records of one kind, each with '_path' set; unreadable ones become warnings."""
    directory = record_dir(state_dir, kind)
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    records = []
    for name in names:
        if not name.endswith(".json") or name.startswith("."):
            continue
        path = os.path.join(directory, name)
        data = read_json(path, warnings)
        if data is not None:
            data["_path"] = path
            records.append(data)
    return records


def remove_record(path):
    with contextlib.suppress(OSError):
        os.unlink(path)


@contextlib.contextmanager
def host_lock(state_dir, name=LOCK_NAME, blocking=True):
    """flock on <state_dir>/<name>: serialises deciding+acting between concurrent passes.

    Yields True when the lock is held; with blocking=False yields False if another holder has it.
    """
    ensure_dir(state_dir)
    path = os.path.join(state_dir, name)
    handle = open(path, "a+")
    try:
        flags = fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(handle.fileno(), flags)
        except (IOError, OSError) as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                yield False
                return
            raise
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()
