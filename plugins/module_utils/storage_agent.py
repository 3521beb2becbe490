# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The storage agent: what a transfer worker runs on the storage host, through ssh.

Shipped as text: the worker runs it there as `python3 -S -c <program> <op> <dir> <final name>
<partial name> ...` (transfer_worker.remote_argv), where the program defines storage_slots.py (the
slots file's reading rules, shared with plot_info) and, for the replot ops, replot.py as modules
before this file's text runs (transfer_worker.agent_program). So it imports nothing but the standard
library and storage_slots, and nothing runs on import. Paths only ever travel as argv (quoted with
shlex.quote for the remote shell). It prints one JSON object per answer. Ops:
  probe <head bytes>    dir/mount/free space and size + head (hex) of the final and partial files
  session <head bytes> <flush every s> <rsync partial dir> [<cap> <bytes> <min free> <alternative dir>...]
                        with a cap: first the storage host arbitrates its own disks (see arbitrate:
                        a slot in <dir> or else the first alternative that has one, "granted"; none:
                        {"granted": null, "refused"} and it exits), the session then works in the
                        granted dir and holds its slot until it ends.
                        the probe, with the size of rsync's resumable copy in its partial dir
                        ("resumable"), then it stays up during the copy: every <flush every> s it
                        fdatasyncs rsync's temp file (the data reaches the disk while it is copied,
                        not all in the final fsync), until stdin sends a JSON line
                        ["commit", ...args of commit] (answered, then it exits) or EOF.
  commit <size> <head hex> <tail offset> <tail sha256>
                        fsync the partial copy, verify it (size, head bytes and tail hash equal the
                        source's), and only then rename it into place and fsync the dir. A copy that
                        does not match is left alone and described ("partial").
  discard <partial dir> remove the partial copy, rsync's resumable one and any temp file a killed
                        rsync left (.<partial name>.XXXXXX); rsync's partial dir too once empty
  digest <ranges>       sha256 of the final file's bytes at <ranges> ("offset:length,..."), with its size
  replot-session <request json> <session args, with a cap>
                        a session whose arbitration may replot (docs/replot.md): the first dir with room
                        for the copy beside the running ones, else the first where replot.make_room
                        deletes old plots to make it, under the slots lock, the slot reserving the bytes
                        before the lock is released; otherwise as session. request: {"policy": the
                        storage host's plotfleet_replot with "storage_dirs", "arrival": {"name",
                        "bytes", "head"}}. The answer adds "replot" (what went, or why nothing did).
  replot-plan <request json> <bytes> <min free>
                        check mode: what replot-session would delete in <dir> now ("delete", "listing")
Replot needs replot.py: the program text defines the module `replot` before this file's text runs
(sys.modules), or it lies beside this file.
Slots live in ~/.plotfleet/storage-slots.json (flock on storage-slots.lock) of the ssh user, or in
$PLOTFLEET_STORAGE_STATE/ when the storage host's sshd sets it (tests give each sshd its own).
"""

from __future__ import absolute_import, division, print_function

import fcntl
import hashlib
import importlib
import json
import os
import select
import sys

try:  # defined by the program text (sys.modules), or beside this file (the worker's flat copies, tests)
    import storage_slots
except ImportError:
    from ansible_collections.plotfleet.chia.plugins.module_utils import storage_slots

__metaclass__ = type

READ_CHUNK = 8388608


class Place(object):
    """The dir a copy goes to, the plot's final name and its partial (temp) name there."""

    def __init__(self, directory, final, partial):
        self.final_name, self.partial_name = final, partial
        self.replot = None   # replot-session: what replot did for this copy (answered with the grant)
        self.move_to(directory)

    def move_to(self, directory):
        self.dir = directory
        self.final = os.path.join(directory, self.final_name)
        self.partial = os.path.join(directory, self.partial_name)


def with_slots(change):
    """change(data) under the slots lock, the result stored atomically; returns what change returns."""
    base = storage_slots.slots_path()
    os.makedirs(os.path.dirname(base), 0o700, exist_ok=True)
    with open(base + ".lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        data = storage_slots.read_slots(base)
        out = change(data)
        tmp = base + ".json.%d" % os.getpid()
        with open(tmp, "w") as handle:
            json.dump(dict((k, v) for k, v in data.items() if v), handle)
        os.rename(tmp, base + ".json")
        return out


def arbitrate(place, cap, total, min_free, dirs, replot_request=None):
    """(granted dir or None, [[dir, why refused]]). A slot per copy in each dir, at most cap, and room
    for this copy after what the other holders still have to write; a holder whose process is gone
    frees its slot. With a replot request, replot_grant decides first."""
    me = {"pid": os.getpid(), "start": storage_slots.started(os.getpid()), "bytes": total,
          "partial": place.partial_name, "name": place.final_name}

    def change(data):
        refused = []
        if replot_request is not None:
            granted = replot_grant(place, me, data, cap, total, min_free, dirs, replot_request)
            if granted is not None:
                return granted, refused
        for directory in dirs:
            key = os.path.realpath(directory)
            held = data[key] = storage_slots.live_holders(data, directory, but=place.partial_name)
            if len(held) >= cap:
                refused.append([directory, "%d copies running there (cap %d)" % (len(held), cap)])
                continue
            try:
                fs = os.statvfs(directory)
            except OSError as exc:
                refused.append([directory, "unavailable (%s)" % exc.strerror])
                continue
            # Room beside the running copies; a copy alone is left to the probe (which knows what it may drop)
            pending = storage_slots.still_to_write(directory, held)
            need = total - storage_slots.written(directory, place.partial_name) + min_free
            if pending and fs.f_bavail * fs.f_frsize - pending < need:
                refused.append([directory, "no room for it beside the copies running there"])
                continue
            held.append(dict(me, dir=key))
            return directory, refused
        return None, refused
    try:
        return with_slots(change)
    except OSError as exc:  # no usable ~/.plotfleet: the copy goes on without arbitration, as before it
        return dirs[0], [[dirs[0], "no arbitration (%s)" % exc]]


def replot_module():
    """replot.py: defined by the program text (sys.modules) or beside this file; None without it."""
    module = sys.modules.get("replot")
    if module is None:
        try:
            module = importlib.import_module("replot")
        except ImportError:
            return None
    return module


def shortfalls(place, data, cap, total, min_free, dirs):
    """[(dir, bytes it lacks for this copy beside the copies running there)] of the dirs below the cap,
    and {dir: (key, live holders)} (the caller holds the slots lock)."""
    places, holders = [], {}
    for directory in dirs:
        key = os.path.realpath(directory)
        held = storage_slots.live_holders(data, directory, but=place.partial_name)
        try:
            fs = os.statvfs(directory)
        except OSError:
            continue
        if len(held) < cap:
            pending = storage_slots.still_to_write(directory, held)
            need = total - storage_slots.written(directory, place.partial_name) + min_free
            places.append((directory, need + pending - fs.f_bavail * fs.f_frsize))
            holders[directory] = (key, held)
    return places, holders


def replot_grant(place, me, data, cap, total, min_free, dirs, request):
    """replot-session: the dir replot.make_room grants (room as it is, else room it made by deleting),
    its slot taken at once so the room is this copy's; None: the plain arbitration decides."""
    replot = replot_module()
    if replot is None:
        place.replot = {"error": "replot.py was not shipped with the storage agent"}
        return None
    arrival = request.get("arrival") or {}
    if arrival.get("bytes") != total:
        place.replot = {"error": "the arrival's size %s is not the copy's %d bytes" % (arrival.get("bytes"), total)}
        return None
    places, holders = shortfalls(place, data, cap, total, min_free, dirs)
    granted, place.replot = replot.make_room(places, request.get("policy"), arrival)
    if granted is not None:
        key, held = holders[granted]
        data[key] = held + [dict(me, dir=key)]
    return granted


def replot_plan(place, request, total, min_free):
    """replot-plan (check mode): what a replot-session would delete in place.dir now."""
    replot = replot_module()
    if replot is None:
        return {"error": "replot.py was not shipped with the storage agent"}

    def change(data):
        places, _holders = shortfalls(place, data, 1 << 30, total, min_free, [place.dir])
        if not places:
            return {"error": "%s unavailable" % place.dir}
        return replot.preview(place.dir, request.get("policy"), request.get("arrival") or {}, places[0][1])
    return with_slots(change)


def release():
    def change(data):
        for key in list(data):
            data[key] = [e for e in data[key] if storage_slots.is_entry(e) and e["pid"] != os.getpid()]
    try:
        with_slots(change)
    except OSError:
        pass


def answer(out):
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def info(path, head):
    try:
        st = os.stat(path)
    except OSError:
        return None
    out = {"size": st.st_size}
    if head:
        with open(path, "rb") as handle:
            out["head"] = handle.read(int(head)).hex()
    return out


def probe(place, head, rsync_dir=None):
    out = {"dir": os.path.isdir(place.dir), "mount": os.path.ismount(place.dir)}
    if out["dir"]:
        fs = os.statvfs(place.dir)
        out["free"] = fs.f_bavail * fs.f_frsize
    out["final"] = info(place.final, head)
    out["partial"] = info(place.partial, head)
    if rsync_dir:
        out["resumable"] = info(os.path.join(place.dir, rsync_dir, place.partial_name), 0)
    return out


def fsync_dir(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(place, size, head, tail_at, tail_sha):
    size, tail_at, out = int(size), int(tail_at), {}
    try:
        with open(place.partial, "rb") as handle:
            os.fsync(handle.fileno())
            have = {"size": os.fstat(handle.fileno()).st_size, "head": handle.read(len(head) // 2).hex()}
            handle.seek(tail_at)
            tail_ok = have["size"] == size and hashlib.sha256(handle.read(size - tail_at)).hexdigest() == tail_sha
        if have["size"] != size or have["head"] != head or not tail_ok:
            out["partial"], out["tail_ok"] = have, tail_ok
        elif os.path.exists(place.final):
            out["error"], out["exists"] = "destination exists", True
        else:
            os.rename(place.partial, place.final)
            fsync_dir(place.dir)
            out["ok"] = True
    except OSError as exc:
        out["error"] = str(exc)
    return out


def rsync_temps(place):
    """rsync writes to .<name>.XXXXXX, without a second dot when the name starts with one."""
    try:
        names = os.listdir(place.dir)
    except OSError:
        return []
    prefixes = (place.partial_name + ".", "." + place.partial_name + ".")
    return [n for n in names for p in prefixes if n.startswith(p) and len(n) == len(p) + 6]


def session(place, every):
    fds, pending = {}, b""
    datasync = getattr(os, "fdatasync", os.fsync)
    while True:
        if select.select([0], [], [], every)[0]:
            data = os.read(0, 65536)
            if not data:
                return
            pending += data
            if b"\n" in pending:
                request = json.loads(pending.split(b"\n")[0].decode("utf-8"))
                if request[0] == "commit":
                    answer(commit(place, *request[1:]))
                return
            continue
        for name in [n for n in rsync_temps(place) if n not in fds]:
            try:
                fds[name] = os.open(os.path.join(place.dir, name), os.O_RDONLY)
            except OSError:
                pass
        for fd in fds.values():
            try:
                datasync(fd)
            except OSError:
                pass


def digest(path, ranges):
    hasher = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            for item in ranges.split(","):
                at, left = (int(x) for x in item.split(":"))
                handle.seek(at)
                while left > 0:
                    data = handle.read(min(left, READ_CHUNK))
                    if not data:
                        return {"size": size, "short": True}
                    hasher.update(data)
                    left -= len(data)
    except OSError as exc:
        return {"error": str(exc)}
    return {"size": size, "sha256": hasher.hexdigest()}


def discard(place, rsync_dir):
    paths = [place.partial, os.path.join(place.dir, rsync_dir, place.partial_name)]
    for path in paths + [os.path.join(place.dir, n) for n in rsync_temps(place)]:
        try:
            os.unlink(path)
        except OSError:
            pass
    try:
        os.rmdir(os.path.join(place.dir, rsync_dir))
    except OSError:
        pass
    return {"ok": True}


def run_session(place, args, replot_request=None):
    """The session op: arbitrate (with a cap), probe, stay up flushing until commit or EOF."""
    arbitrated = len(args) > 3
    granted, refused = place.dir, []
    if arbitrated:
        granted, refused = arbitrate(place, int(args[3]), int(args[4]), int(args[5]), [place.dir] + args[6:],
                                     replot_request)
    extra = {} if replot_request is None else {"replot": place.replot}
    if granted is None:
        answer(dict(extra, granted=None, refused=refused))
        return 0
    place.move_to(granted)
    try:
        answer(dict(probe(place, args[0], args[2]), granted=granted, refused=refused, **extra))
        session(place, float(args[1]))
    finally:
        if arbitrated:
            release()
    return 0


def main(argv):
    op, place, args = argv[0], Place(*argv[1:4]), argv[4:]
    if op == "probe":
        answer(probe(place, args[0]))
    elif op == "session":
        return run_session(place, args)
    elif op == "replot-session":
        return run_session(place, args[1:], json.loads(args[0]))
    elif op == "replot-plan":
        answer(replot_plan(place, json.loads(args[0]), int(args[1]), int(args[2])))
    elif op == "commit":
        answer(commit(place, *args[:4]))
    elif op == "discard":
        answer(discard(place, args[0]))
    elif op == "digest":
        answer(digest(place.final, args[0]))
    else:
        answer({"error": "unknown op %s" % op})
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
