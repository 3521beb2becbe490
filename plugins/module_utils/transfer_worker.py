# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The detached transfer worker: copies one plot to its destination, verifies it, renames it
into place and only then deletes the source.

plot_move installs this file, with the files it imports next to it (moving.WORKER_FILES), into
<state_dir>/bin/plotfleet-transfer-<hash>/ and runs `python -S transfer_worker.py <record.json>`
detached (stdout/stderr = <log_dir>/transfer-<id>.log). The record (written by transfer.py) says
what to do; the worker writes its outcome back into it (state done|failed, reason, finished).

Every step can be repeated after a crash: a partial copy is resumed, a copy that was already
renamed into place is recognised (verified) and only the source deletion is left to do.
"""

from __future__ import absolute_import, division, print_function

import errno
import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

try:  # installed copy: a plain script next to the files of WORKER_FILES (transfer.py installs them)
    import plotfile
    import process_groups
    import records
    import replot
    import storage_agent
    import transfer_facts
except ImportError:
    from ansible_collections.plotfleet.chia.plugins.module_utils import (
        plotfile,
        process_groups,
        records,
        replot,
        storage_agent,
        transfer_facts,
    )

__metaclass__ = type

FULL_STATE = transfer_facts.FULL_STATE
FAILURES = transfer_facts.FAILURES
HELD_FAILURES = transfer_facts.HELD_FAILURES
destination_key = transfer_facts.destination_key
process_start = process_groups.process_start
group_alive = process_groups.group_alive
group_members = process_groups.group_members


def source_of(module):
    """The text of a module, from its loader (a zipped module_utils) or else its file."""
    loader = getattr(module, "__loader__", None)
    if loader is not None and hasattr(loader, "get_source"):
        text = loader.get_source(module.__name__)
        if text:
            return text
    with open(module.__file__) as handle:
        return handle.read()


# The program the storage host runs: the modules the agent imports defined first (sys.modules), then
# the agent itself (only this text reaches the storage host): storage_slots always (the slots file's
# reading rules), replot.py for the replot ops.
AGENT_PROGRAM = ("import sys, types\n"
                 "def _load(name, text):\n"
                 "    module = types.ModuleType(name)\n"
                 "    sys.modules[name] = module\n"
                 "    exec(compile(text, name + '.py', 'exec'), module.__dict__)\n"
                 "    return module\n"
                 "%s"
                 "sys.exit(_load('storage_agent', %r).main(sys.argv[1:]))\n")


def agent_program(*modules):
    loads = "".join("_load(%r, %r)\n" % (m.__name__.rsplit(".", 1)[-1], source_of(m)) for m in modules)
    return AGENT_PROGRAM % (loads, source_of(storage_agent))


def storage_agent_source():
    return agent_program(storage_agent.storage_slots)


def replot_agent_source():
    return agent_program(storage_agent.storage_slots, replot)


def replot_request(rec):
    """The replot request for this copy (docs/replot.md): the storage host's policy and the arrival,
    its head read at the source (verified complete) with the memo zeroed - never the memo itself."""
    with open(rec["source"], "rb") as handle:
        head = handle.read(HEAD_BYTES)
    arrival = {"name": rec["plot_name"], "bytes": rec["bytes_total"], "head": replot.arrival_head(head)}
    return json.dumps({"policy": rec["replot_policy"], "arrival": arrival}, sort_keys=True)


def replots(rec):
    """This copy asks the storage host to replot (a remote, arbitrated session with replot on there)."""
    return bool(rec.get("host") and rec.get("slot_cap") and rec.get("replot_policy"))


CHUNK = 8 * 1024 * 1024
TAIL_CHECK = 1024 * 1024       # bytes compared at the end of source and copy
RESUME_BACKOFF = 1024 * 1024   # a resumed copy rewrites this much before the end of the partial file
HEAD_BYTES = 1024              # enough for any v1/v2 plot header
# A file already at the destination under the plot's name is compared with the source at SAMPLES
# ranges of SAMPLE_BYTES (the first and last bytes among them, the rest evenly spread); a file up to
# SAMPLES * SAMPLE_BYTES long is compared whole. See docs/moving.md "Already there".
SAMPLES = 64
SAMPLE_BYTES = 1024 * 1024
RSYNC_EXIT_NETWORK = (5, 10, 12, 30, 35, 255)  # start-up, socket I/O, stream, timeouts, ssh
RSYNC_EXIT_NO_SPACE = (11, 12, 23)  # file I/O error, protocol stream error, partial transfer
NO_SPACE_TEXT = ("No space left on device", "ENOSPC", "Disk quota exceeded")

# The storage host runs storage_agent.py (ops probe, session, commit, discard, digest: its docstring)
# as `python3 -S -c <its text> <op> <dir> <final name> <partial name> ...` (remote_argv).
FLUSH_EVERY_S = 0.5
PROBE_AFTER_FAILURE_S = 30


class TransferError(Exception):
    """A failed transfer: reason (for people), kind (one of FAILURES, for decisions) and, for a
    conflict, {"source", "destination", "host", "problem"}."""

    def __init__(self, reason, kind="error", conflict=None):
        Exception.__init__(self, reason)
        self.reason = reason
        self.kind = kind if kind in FAILURES else "error"
        self.conflict = conflict

    @property
    def full(self):
        return self.kind == "full"


def log(msg):
    sys.stdout.write("%s %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), msg))
    sys.stdout.flush()


# ---- destination "full" marks (shared with transfer.py through <state_dir>/destinations.json)

def mark_full(state_dir, key, reason, now=None, kind="full", replot_room_bytes=None, replot_offer=None):
    """Hold a destination (full, not mounted or missing: kind) for the next passes. replot_room_bytes:
    at a dir where the storage host replots, what replot could free there when it was found full, and
    replot_offer the identity of the offer the copy was sent with (the hold ends early once a newer offer
    has more room: transfer.measure_destinations)."""
    with records.host_lock(state_dir, name="destinations.lock"):
        path = os.path.join(state_dir, FULL_STATE)
        data = records.read_json(path) or {}
        full = data.setdefault("full", {})
        full[key] = {"since": now or time.time(), "reason": reason, "failure": kind}
        if replot_room_bytes is not None:
            full[key].update(replot_room_bytes=int(replot_room_bytes), replot_offer=replot_offer)
        records.write_json_atomic(path, data)


def replot_room_when_held(rec):
    """What the storage host said replot could free at this copy's dir when its session found no room
    to make there (0: none, e.g. paused or at a limit); None when the copy did not ask to replot."""
    if not replots(rec):
        return None
    rooms = (rec.get("replot") or {}).get("room") or {}
    return int(rooms.get(rec["destination"]) or 0)


def refused_for_itself(rec):
    """The storage host's replot refused this plot itself at its dir (its format, its header, room made
    once for it already), not the dir: a "full" then says nothing about the other plots' room there,
    so the dir is not held for them."""
    return replots(rec) and rec["destination"] in ((rec.get("replot") or {}).get("arrival_refused") or [])


def clear_marks(state_dir):
    """Forget every held destination ("storage is back, retry now")."""
    path = os.path.join(state_dir, FULL_STATE)
    with records.host_lock(state_dir, name="destinations.lock"):
        if (records.read_json(path) or {}).get("full"):
            records.write_json_atomic(path, {"full": {}})


# ---- local copy

def fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def copy_resumable(src, dst, bwlimit_kbps=None):
    """Copy src to dst, resuming from what dst already holds (minus RESUME_BACKOFF, in case the last
    write was torn), throttled to bwlimit_kbps KiB/s; fsync at the end. ENOSPC -> full."""
    total = os.stat(src).st_size
    start = 0
    if os.path.exists(dst):
        have = os.stat(dst).st_size
        start = max(0, min(have, total) // RESUME_BACKOFF * RESUME_BACKOFF - RESUME_BACKOFF)
    rate = bwlimit_kbps * 1024 if bwlimit_kbps else None
    chunk = CHUNK if not rate else max(64 * 1024, min(CHUNK, int(rate // 4)))
    if start:
        log("resuming local copy at byte %d of %d" % (start, total))
    began, copied = time.time(), 0
    fin = os.open(src, os.O_RDONLY)
    try:
        fout = os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.ftruncate(fout, start)
            pos = start
            while pos < total:
                os.lseek(fin, pos, os.SEEK_SET)
                os.lseek(fout, pos, os.SEEK_SET)
                data = os.read(fin, min(chunk, total - pos))
                if not data:
                    raise TransferError("source shrank at byte %d" % pos, "source")
                view = memoryview(data)
                while view:
                    written = os.write(fout, view)
                    view = view[written:]
                pos += len(data)
                copied += len(data)
                if rate:
                    ahead = copied / rate - (time.time() - began)
                    if ahead > 0:
                        time.sleep(ahead)
            os.fsync(fout)
        finally:
            os.close(fout)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise TransferError("destination full: %s" % exc.strerror, "full") from exc
        raise TransferError("copy failed: %s" % exc) from exc
    finally:
        os.close(fin)
    elapsed = max(time.time() - began, 1e-6)
    log("copied %d bytes in %.1f s (%.1f MiB/s)" % (copied, elapsed, copied / elapsed / 1048576))


def sample_ranges(size):
    """[(offset, length)] compared when a file with the plot's name is already at the destination:
    SAMPLES ranges of SAMPLE_BYTES from the first byte to the last, evenly spread (a copy cut off
    after preallocation differs from its cut onwards, so the tail and the spread catch it); a file of
    up to SAMPLES * SAMPLE_BYTES is compared whole."""
    if size <= SAMPLES * SAMPLE_BYTES:
        return [(0, size)]
    step = (size - SAMPLE_BYTES) // (SAMPLES - 1)
    return [(i * step, SAMPLE_BYTES) for i in range(SAMPLES - 1)] + [(size - SAMPLE_BYTES, SAMPLE_BYTES)]


def ranges_text(ranges):
    return ",".join("%d:%d" % pair for pair in ranges)


def ranges_digest(path, ranges):
    """sha256 (hex) of the bytes of path at ranges, None when the file is shorter."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for offset, length in ranges:
            handle.seek(offset)
            while length > 0:
                data = handle.read(min(length, CHUNK))
                if not data:
                    return None
                digest.update(data)
                length -= len(data)
    return digest.hexdigest()


def fingerprint(path, size):
    """What a copy of path must match: {"ranges", "sha256"} (kept in the record, so that a copy can be
    checked even once the source is gone)."""
    ranges = sample_ranges(size)
    return {"ranges": ranges_text(ranges), "sha256": ranges_digest(path, ranges)}


def parse_ranges(text):
    return [tuple(int(x) for x in item.split(":")) for item in text.split(",") if item]


def conflict(rec, problem):
    """The error for a file at the destination with the plot's name that is not this plot: the
    source is kept and nothing at the destination is touched; both paths go into the record."""
    final = os.path.join(rec["destination"], rec["plot_name"])
    where = "%s:%s" % (rec["host"], final) if rec.get("host") else final
    return TransferError("conflict: %s holds a file named like this plot that is not it (%s); source %s kept"
                         % (where, problem, rec["source"]), "conflict",
                         {"source": rec["source"], "destination": where, "host": rec.get("host"), "problem": problem})


def local_copy_problem(rec, path):
    """Why the local file at path is not a copy of this plot (header, size, then the sampled bytes
    against the source, or against the record's fingerprint once the source is gone), or None."""
    problem = plotfile.check_plot(path, rec["plot_id"], rec["k"], rec["bytes_total"])
    if problem:
        return problem
    want = rec.get("fingerprint")
    if want is None:
        return None  # an old record whose source is gone: header and size are all there is to check
    if ranges_digest(path, parse_ranges(want["ranges"])) != want["sha256"]:
        return "bytes differ from the source at sampled offsets"
    return None


def compared(rec):
    """What 'verified' meant for a file found already at the destination (for the log)."""
    ranges = parse_ranges(rec["fingerprint"]["ranges"]) if rec.get("fingerprint") else []
    if not ranges:
        return "no bytes compared: the record has no fingerprint of the source"
    if len(ranges) == 1:
        return "every byte compared with the source"
    return "%d ranges of %d bytes compared with the source, the first and last among them" % (
        len(ranges), ranges[0][1])


def same_tail(a, b, size):
    """The last TAIL_CHECK bytes of both files agree (cheap extra check beyond the header)."""
    offset = max(0, size - TAIL_CHECK)
    with open(a, "rb") as fa, open(b, "rb") as fb:
        fa.seek(offset)
        fb.seek(offset)
        return fa.read(TAIL_CHECK) == fb.read(TAIL_CHECK)


def run_local(rec):
    dest_dir, name = rec["destination"], rec["plot_name"]
    final = os.path.join(dest_dir, name)
    partial = os.path.join(dest_dir, plotfile.partial_name(name))
    expect = dict(expect_id=rec["plot_id"], expect_k=rec["k"], expect_size=rec["bytes_total"])
    if os.path.exists(final):
        problem = local_copy_problem(rec, final)
        if problem:
            raise conflict(rec, problem)
        log("destination already holds this plot (verified: header, size, %s): only the source is left"
            " to delete" % compared(rec))
        return
    if not os.path.isdir(dest_dir):
        raise TransferError("destination dir %s is missing" % dest_dir, "missing")
    try:
        copy_resumable(rec["source"], partial, rec.get("bwlimit_kbps"))
    except TransferError as exc:
        if exc.full:
            discard(partial)
        raise
    problem = plotfile.check_plot(partial, **expect)
    if problem is None and not same_tail(rec["source"], partial, rec["bytes_total"]):
        problem = "last bytes differ from the source"
    if problem:
        discard(partial)
        raise TransferError("verification failed: %s" % problem, "verify")
    if os.path.exists(final):
        discard(partial)  # ours and of no use: the file that appeared is not touched
        raise conflict(rec, "it appeared during the copy")
    os.rename(partial, final)
    fsync_dir(dest_dir)
    log("verified and renamed to %s" % final)


def discard(path):
    try:
        os.unlink(path)
        log("removed %s" % path)
    except OSError:
        pass


# ---- remote copy (rsync over ssh)

def ssh_argv(rec):
    """ssh argv; the user's ssh_options come first because ssh keeps the first value of an option.
    One master connection (ControlMaster) serves the probe, rsync and commit steps of a transfer."""
    argv = ["ssh"] + list(rec.get("ssh_options") or [])
    if rec.get("ssh_key"):
        argv += ["-i", rec["ssh_key"]]
    if rec.get("port"):
        argv += ["-p", str(rec["port"])]
    if rec.get("user"):
        argv += ["-l", rec["user"]]
    argv += ["-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "ServerAliveInterval=15",
             "-o", "ServerAliveCountMax=4"]
    if rec.get("ssh_ciphers"):
        argv += ["-o", "Ciphers=%s" % rec["ssh_ciphers"]]
    control_dir = rec.get("control_dir")
    if control_dir:
        argv += ["-o", "ControlMaster=auto", "-o", "ControlPath=%s" % os.path.join(control_dir, "%C"),
                 "-o", "ControlPersist=20"]
    return argv


def control_dir():
    """A short private dir for ssh control sockets (their path must stay under ~100 bytes)."""
    path = os.path.join("/tmp", "plotfleet-ssh-%d" % os.getuid())
    try:
        os.mkdir(path, 0o700)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            return None
    st = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None  # not ours: no connection sharing rather than a socket someone else controls
    return path


def rsync_escapes_args(version_text):
    """rsync >= 3.2.4 escapes remote args itself; older ones (and openrsync) hand them to the
    remote shell, so the caller must shell-quote the remote path."""
    match = re.search(r"rsync\s+version\s+v?(\d+)\.(\d+)\.(\d+)", version_text)
    if not match or "openrsync" in version_text:
        return False
    return tuple(int(x) for x in match.groups()) >= (3, 2, 4)


def rsync_argv(rec, rsync_version_text):
    dest_dir, name = rec["destination"], rec["plot_name"]
    target = os.path.join(dest_dir, plotfile.partial_name(name))
    if not rsync_escapes_args(rsync_version_text):
        target = shlex.quote(target)
    host = rec["host"] if not rec.get("user") else "%s@%s" % (rec["user"], rec["host"])
    argv = [rec.get("rsync_path") or "rsync", "-t", "--progress",
            "--partial-dir=%s" % plotfile.RSYNC_PARTIAL_DIR, "--timeout=%d" % rec.get("io_timeout_s", 300),
            "-e", " ".join(shlex.quote(a) for a in ssh_argv(rec))]
    if rec.get("bwlimit_kbps"):
        argv.append("--bwlimit=%d" % rec["bwlimit_kbps"])
    argv += [rec["source"], "%s:%s" % (host, target)]
    return argv


def remote_argv(rec, op, *extra):
    # -S: no site module (the script is stdlib only), ~20-30 ms less start-up per call
    program = replot_agent_source() if op.startswith("replot-") else storage_agent_source()
    args = ["python3", "-S", "-c", program, op, rec["destination"], rec["plot_name"],
            plotfile.partial_name(rec["plot_name"])] + [str(x) for x in extra]
    return ssh_argv(rec) + ["--", rec["host"], " ".join(shlex.quote(a) for a in args)]


def remote(rec, op, *extra, timeout=None):
    """One op at the far end; with timeout (s), a TransferError once it has taken that long."""
    proc = subprocess.Popen(remote_argv(rec, op, *extra), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise TransferError("ssh %s %s: no answer within %g s" % (rec["host"], op, timeout), "network") from None
    return _remote_result(rec, op, proc.returncode, out, err)


def _remote_result(rec, op, returncode, out, err):
    if returncode != 0:
        raise TransferError("ssh %s %s failed (exit %d): %s" % (
            rec["host"], op, returncode, err.decode("utf-8", "replace").strip()[-300:]),
            "network" if returncode == 255 else "error")
    try:
        return json.loads(out.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise TransferError("ssh %s %s: unexpected output %r" % (rec["host"], op, out[-200:])) from exc


class RemoteSession(object):
    """One ssh session with the storage host for the whole transfer (op `session`): the probe comes
    first (this session also opens the shared connection that rsync then uses), the far end keeps
    rsync's temp file syncing to disk during the copy, and the commit (fsync, verify, rename) goes
    through the same session: no ssh or python start-up is left to pay after the copy."""

    def __init__(self, rec):
        self.rec = rec
        if replots(rec):
            argv = remote_argv(rec, "replot-session", replot_request(rec), HEAD_BYTES, FLUSH_EVERY_S,
                               plotfile.RSYNC_PARTIAL_DIR, *slot_request(rec))
        else:
            argv = remote_argv(rec, "session", HEAD_BYTES, FLUSH_EVERY_S, plotfile.RSYNC_PARTIAL_DIR,
                               *slot_request(rec))
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.probe = self._answer("probe")

    def _answer(self, op):
        seen = b""
        for line in iter(self.proc.stdout.readline, b""):  # a login shell may print something first
            seen += line
            try:
                value = json.loads(line.decode("utf-8"))
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
        self._end_input()
        out, err = self.proc.stdout.read(), self.proc.stderr.read()
        _remote_result(self.rec, op, self.proc.wait(), seen + out, err)  # raises: ssh failed, no answer
        raise TransferError("ssh %s %s: no answer" % (self.rec["host"], op), "network")

    def commit(self, *args):
        """Commit through the session; a new ssh session if this one broke (a commit is repeatable:
        the far end renames only a partial copy that verifies and never overwrites the final file)."""
        try:
            self.proc.stdin.write((json.dumps(["commit"] + [str(a) for a in args]) + "\n").encode("utf-8"))
            self.proc.stdin.flush()
            return self._answer("commit")
        except (OSError, ValueError, TransferError) as exc:
            log("storage host session lost (%s): commit through a new ssh session" % exc)
            return remote(self.rec, "commit", *args)

    def _end_input(self):
        if not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def close(self):
        """EOF ends the far end at once; then reap ssh (it may still be closing the channel)."""
        self._end_input()
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def remote_problem(info, rec):
    """Why a remote file (probe info with size + head) is not the expected complete plot."""
    if info is None:
        return "missing"
    header = plotfile.parse_header(bytes.fromhex(info.get("head", "")))
    if header is None:
        return "not a plot"
    if not header["complete"]:
        return "plot header incomplete"
    if header["plot_id"] != rec["plot_id"] or header["k"] != rec["k"]:
        return "plot id/k differ"
    if info["size"] != rec["bytes_total"]:
        return "size %d differs from %d" % (info["size"], rec["bytes_total"])
    return None


def slot_request(rec):
    """The session's arbitration arguments: cap, bytes, bytes to keep free, then the alternative dirs
    (on the same storage host, best first) - or none when the record asks for no cap."""
    if not rec.get("slot_cap"):
        return []
    return [rec["slot_cap"], rec["bytes_total"], int(rec.get("min_free_bytes") or 0)] + [
        alt["destination"] for alt in rec.get("alternatives") or []]


def follow_grant(rec, rec_path, probe):
    """The storage host said where this copy may go: there (the record follows, so that the status and a
    resume see it), or nowhere (every dir at its cap or without room for it beside the running copies)."""
    if probe.get("granted") is None and "refused" in probe:
        raise TransferError("storage host %s has no slot for this copy: %s" % (rec["host"], "; ".join(
            "%s %s" % (where, why) for where, why in probe["refused"])), "busy")
    granted = probe.get("granted")
    if not granted or granted == rec["destination"]:
        if probe.get("refused"):
            log("storage host: %s" % "; ".join(why for _where, why in probe["refused"]))
        return
    log("storage host refused %s (%s): sending to %s instead" % (
        rec["destination"], "; ".join(why for _where, why in probe.get("refused") or []), granted))
    first = dict((key, rec.get(key)) for key in ("destination", "host", "user", "port", "ssh_key", "ssh_options"))
    rec["abandoned"] = [p for p in rec.get("abandoned") or [] if p.get("destination") != granted] + [first]
    rec["destination"] = granted
    records.write_json_atomic(rec_path, rec)


def keep_replot(rec, rec_path, probe):
    """What the storage host's replot did for this copy goes into the record (and the log) before the
    copy starts: replot (this grant's outcome) and replot_deleted (every attempt's deletions, by name)."""
    if not replots(rec):
        return
    outcome = probe.get("replot")
    rec["replot"] = outcome
    deleted = list(rec.get("replot_deleted") or [])
    for name in (outcome or {}).get("deleted") or []:
        log("replot: deleted %s/%s for %s" % (outcome.get("dir"), name, rec["plot_name"]))
        deleted.append({"dir": outcome.get("dir"), "name": name})
    for where, why in (outcome or {}).get("refused") or []:
        log("replot: nothing deleted in %s: %s" % (where, why))
    if (outcome or {}).get("error"):
        log("replot: %s" % outcome["error"])
    rec["replot_deleted"] = deleted
    if rec_path:
        records.write_json_atomic(rec_path, rec)


def run_remote(rec, rec_path=None):
    session = RemoteSession(rec)
    try:
        keep_replot(rec, rec_path, session.probe)
        if rec_path:
            follow_grant(rec, rec_path, session.probe)
        rec[FRESH_KEY] = nothing_left_before(rec, session.probe)
        copy_remote(rec, session)
    finally:
        session.close()


FRESH_KEY = "_fresh"  # in memory only (finish() drops it): the destination held nothing of this plot


def nothing_left_before(rec, probe):
    """A first attempt into a dir that held no copy of this plot leaves nothing for clean_committed
    to remove: no `discard` round trip (an ssh session and a Python start on the storage host) per file."""
    return (rec.get("attempt") or 1) == 1 and not rec.get("previous") and probe.get("final") is None \
        and probe.get("partial") is None and probe.get("resumable") is None


def remote_copy_problem(rec, info):
    """Why the final file at the far end (probe info) is not a copy of this plot: header and size,
    then the far end's digest of the sampled ranges against the source's fingerprint; or None."""
    problem = remote_problem(info, rec)
    if problem or rec.get("fingerprint") is None:
        return problem
    want = rec["fingerprint"]
    got = remote(rec, "digest", want["ranges"])
    if got.get("error"):
        raise TransferError("could not read %s at the destination: %s" % (rec["plot_name"], got["error"]))
    if got.get("sha256") != want["sha256"]:
        return "bytes differ from the source at sampled offsets"
    return None


def copy_remote(rec, session):
    probe = session.probe
    if probe.get("final") is not None:
        problem = remote_copy_problem(rec, probe["final"])
        if problem:
            raise conflict(rec, problem)
        log("destination already holds this plot (verified: header, size, %s): only the source is left"
            " to delete" % compared(rec))
        return
    if not probe.get("dir"):
        raise TransferError("destination dir %s:%s is missing" % (rec["host"], rec["destination"]), "missing")
    if rec.get("must_be_mount") and not probe.get("mount"):
        raise TransferError("destination %s:%s is not a mount point" % (rec["host"], rec["destination"]),
                            "unmounted")
    short = remote_shortfall(rec, probe)
    if short and short[0] + (probe.get("resumable") or {}).get("size", 0) >= short[1]:
        # rsync resumes by writing a whole new copy beside its old partial one: no room for both
        log("no room to resume rsync's partial copy beside a new one: removing the partial copy")
        remote(rec, "discard", plotfile.RSYNC_PARTIAL_DIR)
    elif short:
        raise TransferError("destination full: %d bytes free, %d needed" % short, "full")
    version = subprocess.Popen([rec.get("rsync_path") or "rsync", "--version"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT).communicate()[0].decode("utf-8", "replace")
    argv = rsync_argv(rec, version)
    log("running: %s" % " ".join(shlex.quote(a) for a in argv))
    env = dict(os.environ)
    env.pop("RSYNC_OLD_ARGS", None)  # it would switch rsync >= 3.2.4 back to unescaped remote args
    tail = _run_logged(argv, env, rec.get("log"))
    if tail[0] != 0:
        session.close()
        raise rsync_failure(rec, tail[0], tail[1])
    # fsync, verify against the source (size, head, tail hash), and only then rename: one request
    head, tail_at, tail_sha = source_fingerprint(rec["source"], rec["bytes_total"])
    result = session.commit(rec["bytes_total"], head, tail_at, tail_sha)
    if result.get("partial") is not None:
        problem = remote_problem(result["partial"], rec)
        if problem is None:
            problem = "last bytes differ from the source" if not result.get("tail_ok") else "header differs"
        remote(rec, "discard", plotfile.RSYNC_PARTIAL_DIR)
        raise TransferError("verification failed: %s" % problem, "verify")
    if result.get("exists"):
        remote(rec, "discard", plotfile.RSYNC_PARTIAL_DIR)  # our copy; the file that appeared stays
        raise conflict(rec, "it appeared during the copy")
    if not result.get("ok"):
        raise TransferError("rename at destination failed: %s" % result.get("error"))
    log("verified and renamed to %s:%s" % (rec["host"], os.path.join(rec["destination"], rec["plot_name"])))


def remote_shortfall(rec, probe):
    """(free, needed) when the far end has less room than the copy rsync writes (a whole new file,
    even when it resumes: its old partial copy is only the basis), else None (or unknown)."""
    have = (probe.get("partial") or {}).get("size", 0)
    need = rec["bytes_total"] - have + int(rec.get("min_free_bytes") or 0)
    free = probe.get("free")
    return None if free is None or free >= need else (free, need)


def rsync_failure(rec, rc, text):
    """The error for a failed rsync. A copy that failed while the destination lacked room for it is
    a 'destination full': its partial copies (no use for a resume without room beside them) are
    removed and the destination is marked full. rsync's own message says so when it reaches us, but
    it is lost when the far end's receiver dies first, so the far end is asked again; if it cannot
    answer (network cut) the partial copy is kept for the next attempt."""
    said_full = rc in RSYNC_EXIT_NO_SPACE and any(t in text for t in NO_SPACE_TEXT)
    short = None
    if not said_full:
        try:
            # bounded: after a cut, ssh may wait on a dead shared connection for its keep-alives
            probe = remote(rec, "probe", 0, timeout=PROBE_AFTER_FAILURE_S)
            short = remote_shortfall(rec, probe)
        except TransferError as exc:
            log("could not ask the destination for its free space after the failure: %s" % exc)
    if not said_full and not short:
        return TransferError("rsync exit %d" % rc, "network" if rc in RSYNC_EXIT_NETWORK else "error")
    try:
        remote(rec, "discard", plotfile.RSYNC_PARTIAL_DIR)
    except TransferError as exc:  # gone once the plot lands elsewhere (the abandoned destination)
        log("could not remove the partial copy: %s" % exc)
    return TransferError("destination full (rsync exit %d)%s" % (
        rc, ": %d bytes free, %d needed" % short if short else ""), "full")


def source_fingerprint(path, size):
    """(head hex, tail offset, tail sha256) of the source, what the far end's copy must match."""
    tail_at = max(0, size - TAIL_CHECK)
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES).hex()
        handle.seek(tail_at)
        return head, tail_at, hashlib.sha256(handle.read(size - tail_at)).hexdigest()


def _run_logged(argv, env, log_path):
    """Run argv with its output going straight to our log (fd 1); return (rc, new log text)."""
    sys.stdout.flush()
    start = _size(log_path)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=sys.stdout.fileno(),
                            stderr=sys.stdout.fileno(), env=env)
    rc = proc.wait()
    try:
        with open(log_path, "rb") as handle:
            handle.seek(max(start, _size(log_path) - 65536))
            return rc, handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return rc, ""


def _size(path):
    try:
        return os.stat(path).st_size
    except (OSError, TypeError):
        return 0


# ---- an earlier attempt that is still running (its worker killed, its rsync not)

OUR_PROGRAMS = ("rsync", "ssh", "transfer_worker", "plotfleet-transfer-")  # what an attempt runs (its dir)


def end_earlier_attempt(rec, wait_s=30):
    """Before copying, end what is left of the previous attempt of this transfer (its process group:
    a killed worker's rsync may still be writing to the destination). SIGTERM, then SIGKILL."""
    pgid = (rec.get("previous") or {}).get("pid")
    if not pgid or pgid == os.getpgid(0) or not group_alive(pgid):
        return
    members = [m for m in group_members(pgid) or [] if m] if os.path.isdir("/proc/self") else None  # '': zombie
    if members is not None and not all(any(p in m for p in OUR_PROGRAMS) for m in members):
        log("process group %d is not an earlier attempt of this transfer: left alone (%s)" % (pgid, members[:3]))
        return
    log("ending what is left of the earlier attempt (process group %d)" % pgid)
    for sig, wait in ((signal.SIGTERM, wait_s), (signal.SIGKILL, 10)):
        try:
            os.killpg(pgid, sig)
        except OSError:
            return
        deadline = time.time() + wait
        while time.time() < deadline and group_alive(pgid):
            time.sleep(0.1)
        if not group_alive(pgid):
            return
    raise TransferError("the earlier attempt (process group %d) does not end" % pgid)


# ---- main

def destination_holds_plot(rec):
    """The final file at the destination is this complete plot (after a crash past the rename),
    checked against the source's fingerprint kept in the record."""
    final = os.path.join(rec["destination"], rec["plot_name"])
    if rec.get("host"):
        info = remote(rec, "probe", HEAD_BYTES).get("final")
        return info is not None and remote_copy_problem(rec, info) is None
    return os.path.exists(final) and local_copy_problem(rec, final) is None


def finish(rec_path, rec, state, reason=None, failure=None, conflict_info=None):
    rec.pop(FRESH_KEY, None)
    rec.update(state=state, reason=reason, failure=failure, conflict=conflict_info, finished=time.time())
    if state == "done":
        rec["bytes_done"] = rec.get("bytes_total")
    records.write_json_atomic(rec_path, rec)
    log("transfer %s: %s%s" % (rec.get("id"), state, " (%s)" % reason if reason else ""))


def delete_source(rec):
    src = rec["source"]
    name = os.path.basename(src)
    if not plotfile.is_plot_name(name) or os.path.dirname(src) != rec["source_dir"]:
        raise TransferError("refusing to delete %s: not a plot in its source dir" % src, "source")
    try:
        os.unlink(src)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise TransferError("could not delete the source: %s" % exc.strerror, "source") from exc
    fsync_dir(os.path.dirname(src))
    log("deleted source %s" % src)


def run(rec_path):
    rec = records.read_json(rec_path)
    if rec is None:
        log("no readable transfer record at %s" % rec_path)
        return 2
    rec.pop("_path", None)
    # Our own pid goes into the record first thing: plot_move does not write the record once we may
    # run (we could finish before it got our pid back from systemd-run or the double fork).
    rec.update(pid=os.getpid(), proc_start=process_start(os.getpid()) or time.time())
    records.write_json_atomic(rec_path, rec)
    where = "%s:%s" % (rec["host"], rec["destination"]) if rec.get("host") else rec["destination"]
    log("transfer %s: %s -> %s (%d bytes, attempt %d)" % (
        rec["id"], rec["source"], where, rec["bytes_total"], rec.get("attempt", 1)))
    try:
        end_earlier_attempt(rec)
        if not os.path.exists(rec["source"]):
            if not destination_holds_plot(rec):
                raise TransferError("source %s is gone" % rec["source"], "source")
            log("source already deleted and the destination holds the plot (verified: %s)" % compared(rec))
            finish(rec_path, rec, "done")
            return 0
        problem = plotfile.check_plot(rec["source"], rec["plot_id"], rec["k"], rec["bytes_total"])
        if problem:
            raise TransferError("source is not the expected complete plot: %s" % problem, "source")
        rec["fingerprint"] = fingerprint(rec["source"], rec["bytes_total"])
        records.write_json_atomic(rec_path, rec)
        if rec.get("host"):
            rec["control_dir"] = control_dir()
            run_remote(rec, rec_path)
        else:
            run_local(rec)
        if rec.get("delete_source", True):
            delete_source(rec)
    except TransferError as exc:
        if exc.kind in HELD_FAILURES and not (exc.full and refused_for_itself(rec)):
            mark_full(rec["state_dir"], destination_key(rec.get("host"), rec["destination"]), exc.reason,
                      kind=exc.kind, replot_room_bytes=replot_room_when_held(rec) if exc.full else None,
                      replot_offer=(rec.get("replot_policy") or {}).get(replot.OFFER_KEY))
        finish(rec_path, rec, "failed", exc.reason, exc.kind, exc.conflict)
        return 1
    except Exception as exc:  # anything unexpected still ends the record, never leaves it "running"
        finish(rec_path, rec, "failed", "worker error: %r" % (exc,), "error")
        raise
    clean_committed(rec)
    discard_abandoned(rec)
    finish(rec_path, rec, "done")
    return 0


def clean_committed(rec):
    """Once the plot is in place, remove what earlier attempts left beside it at this destination:
    this plot's partial copy, rsync's resumable copy and the temp files of killed rsync receivers
    (.<partial name>.XXXXXX). Only this plot's names inside the destination dir are touched."""
    if rec.pop(FRESH_KEY, False):
        return
    try:
        if rec.get("host"):
            remote(rec, "discard", plotfile.RSYNC_PARTIAL_DIR)
        else:
            discard(os.path.join(rec["destination"], plotfile.partial_name(rec["plot_name"])))
    except (TransferError, OSError) as exc:
        log("could not remove leftovers of earlier attempts at %s: %s" % (rec["destination"], exc))


def discard_abandoned(rec):
    """Remove this plot's partial copies at destinations an earlier attempt gave up on (full, cut
    off). Only plotfleet's own partial names are touched; a failure here never fails the transfer."""
    partial = plotfile.partial_name(rec["plot_name"])
    for place in rec.get("abandoned") or []:
        try:
            if place.get("host"):
                remote(dict(rec, **place), "discard", plotfile.RSYNC_PARTIAL_DIR)
                log("removed any partial copy at %s:%s" % (place["host"], place["destination"]))
            else:
                discard(os.path.join(place["destination"], partial))
        except (TransferError, OSError) as exc:
            log("could not remove the partial copy at %s: %s" % (place.get("destination"), exc))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write("usage: transfer_worker.py <transfer record .json>\n")
        return 2
    return run(argv[0])


if __name__ == "__main__":
    sys.exit(main())
