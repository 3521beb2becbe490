# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Incremental log parsing with a cache in <state_dir>/cache/ (an index and a payload store).

A log directory may hold thousands of old logs; plot_info must stay fast, so each log is read
once: the cache remembers, per path, the file's device, inode, size and mtime, the byte offset
after its last complete line, its plots and (for logs of live jobs) the parser state to resume
from. A log whose inode changed or that shrank is parsed again from the start; a log that grew
is resumed from the offset (or re-parsed when no parser state was kept).

Files (a cache is disposable, so no fsync; anything unreadable is ignored and rebuilt):
- logs.jsonl, the index, small, rewritten (temp file + rename) by every call:
    line 1: JSON header {"version", "store": token of the store it points into, "cpu": [idle, total],
            "sums": [[plotter, k, phase, total_us, n], ...] (eta.phase_sums over every indexed log),
            "means": the phase means of the last call (for humans)}
    then one line per log: <key> TAB <dev:ino:size:mtime_ns> TAB <offset> TAB <plotter> TAB <ended>
      TAB <note> TAB <sums JSON or empty> TAB <where>
    key = the path with backslash, tab and newline escaped; where = "s<pos>:<len>" (payload record
    in the store) or "i<payload JSON>" (inline: logs of live jobs, which change on every call).
- logs.store, the payloads of closed logs: line 1 {"version", "token"}, then records
    <key> TAB <sig> TAB <payload JSON>, appended when a log is parsed, rewritten under a new token
    only when more than a third of it is garbage (records of deleted or re-parsed logs).
  payload = {"plots": [...], "tail": last non-empty line, "note": null|"binary"|"unrecognised"|"empty",
  "state": parser state or null}; a record is used only if its key and sig match the index line.
- logs.lock: flock; shared while the index is read and the store opened, exclusive while saving, so
  an index always names the store its offsets point into (concurrent calls stay consistent).
A warm call thus reads and writes ~300 bytes per log and decodes only the payloads it needs
(live jobs, the newest history entries); the ETA phase means come from the exact sums in the
header, updated by the logs that changed or disappeared.
"""

from __future__ import absolute_import, division, print_function

import binascii
import contextlib
import fcntl
import json
import os
import tempfile

from ansible_collections.plotfleet.chia.plugins.module_utils import eta
from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

__metaclass__ = type

CACHE_NAME = "logs.jsonl"
STORE_NAME = "logs.store"
LOCK_NAME = "logs.lock"
# 3: plotman's step grid (issue 15); the steps cached by version 2 are on the old grid, so they are parsed again.
VERSION = 3
HEAD_BYTES = 16384
# A text file this large without any plotter marker is reported as "not a plotter log".
UNRECOGNISED_AFTER = 65536
READ_CHUNK = 8 * 1024 * 1024
# What a parser may raise on a line it cannot read (float("1.2.3"), a missing field): never a reason
# to lose the log (see _parse).
PARSER_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, ZeroDivisionError)
# The store is rewritten when garbage exceeds this share of it (and this many bytes).
GARBAGE_SHARE = 1.0 / 3
GARBAGE_MIN_BYTES = 1 << 20


def _key(path):
    if "\\" in path or "\t" in path or "\n" in path:
        return path.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return path


def _unkey(key):
    if "\\" not in key:
        return key
    out, i = [], 0
    while i < len(key):
        c = key[i]
        if c == "\\" and i + 1 < len(key):
            out.append({"t": "\t", "n": "\n"}.get(key[i + 1], key[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def signature(st):
    return "%d:%d:%d:%d" % (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class LogInfo(object):
    """What the cache knows about one log; the payload (plots, tail, parser state) is read lazily."""

    __slots__ = ("path", "key", "sig", "offset", "plotter", "ended", "note", "sums_text", "live",
                 "_cache", "_where", "_payload", "_rest", "_fallback")

    def __init__(self, cache, path, key, sig, offset, plotter, ended, note, sums_text, where=None, payload=None,
                 rest=None, fallback=True):
        self._cache = cache
        self.path = path
        self.key = key
        self.sig = sig
        self.offset = offset
        self.plotter = plotter or None
        self.ended = ended
        self.note = note or None
        self.sums_text = sums_text
        self.live = False
        self._where = where        # "s<pos>:<len>" | "i<json>" | None (payload in memory)
        self._payload = payload
        self._rest = rest          # the index line as read (written back verbatim if nothing moved)
        self._fallback = fallback  # re-parse the log if the stored payload cannot be read

    @property
    def payload(self):
        if self._payload is None:
            raw = self.raw_payload()
            payload = None
            if raw is not None:
                try:
                    payload = _expand(json.loads(raw))
                except (ValueError, TypeError, AttributeError):
                    payload = None
            if payload is None:
                if self._fallback and self._cache._reparse(self):
                    return self._payload
                payload = {}
            self._payload = payload
        return self._payload

    def raw_payload(self):
        """The payload as JSON text (None if the store record is missing or does not match)."""
        where = self._where
        if self._payload is not None or not where:
            return json.dumps(_compact(self._payload or {}), separators=(",", ":"))
        if where[0] == "i":
            return where[1:]
        return self._cache._read_record(self.key, self.sig, where)

    @property
    def plots(self):
        return self.payload.get("plots") or []

    @property
    def tail(self):
        return self.payload.get("tail")

    def sums(self):
        """This log's eta.phase_sums (its finished plots), {} if none."""
        if not self.sums_text:
            return {}
        try:
            return _sums_from_json(json.loads(self.sums_text)) or {}
        except ValueError:
            return {}

    def index_line(self, where):
        return "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s" % (
            self.key, self.sig, self.offset, self.plotter or "", "" if self.ended is None else repr(float(self.ended)),
            self.note or "", self.sums_text or "", where)


class LogCache(object):
    def __init__(self, state_dir, warnings=None):
        self.dir = os.path.join(state_dir, "cache")
        self.path = os.path.join(self.dir, CACHE_NAME)
        self.store_path = os.path.join(self.dir, STORE_NAME)
        self.header = {}
        self._old = {}        # key -> rest of the index line (unparsed)
        self.seen = {}        # path -> LogInfo for every log looked at in this call
        self.changed = set()  # paths (re)parsed in this call
        self.warnings = warnings if warnings is not None else []
        self._stats = {}      # path -> os.stat_result of this call (to re-parse on a bad store record)
        self._store_fd = None
        self._store_token = None
        self._totals = None
        self._load()

    # -- files -----------------------------------------------------------------------------------
    def _lock(self, mode, create=False):
        if create and not os.path.isdir(self.dir):
            os.makedirs(self.dir)
        try:
            fd = os.open(os.path.join(self.dir, LOCK_NAME), os.O_RDWR | (os.O_CREAT if create else 0), 0o600)
        except OSError:
            return None
        try:
            fcntl.flock(fd, mode)
        except OSError:
            os.close(fd)
            return None
        return fd

    @staticmethod
    def _unlock(fd):
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _load(self):
        lock = self._lock(fcntl.LOCK_SH)
        try:
            try:
                with open(self.path, "rb") as handle:
                    data = handle.read().decode("utf-8", "surrogateescape")
            except (IOError, OSError):
                return
            lines = data.split("\n")
            try:
                header = json.loads(lines[0])
            except ValueError:
                header = None
            if not isinstance(header, dict) or header.get("version") != VERSION:
                if data.strip():
                    self.warnings.append("parser cache %s unreadable or from another version: rebuilding it"
                                         % self.path)
                return
            self.header = header
            old = self._old
            for line in lines[1:]:
                if line:
                    key, sep, rest = line.partition("\t")
                    if sep:
                        old[key] = rest
            self._open_store(header.get("store"))
        finally:
            self._unlock(lock)

    def _open_store(self, token):
        try:
            fd = os.open(self.store_path, os.O_RDONLY)
        except OSError:
            fd = None
        found = _store_token(fd) if fd is not None else None
        if found is not None and found == token:
            self._store_fd, self._store_token = fd, token
            return
        if fd is not None:
            os.close(fd)
        if any("\ts" in rest for rest in self._old.values()):
            self.warnings.append("parser cache store %s missing or replaced: re-parsing the logs it held"
                                 % self.store_path)

    def _read_record(self, key, sig, where):
        """The payload JSON of a store record if it belongs to (key, sig), else None."""
        if self._store_fd is None:
            return None
        try:
            pos, length = where[1:].split(":")
            data = os.pread(self._store_fd, int(length), int(pos)).decode("utf-8", "surrogateescape")
        except (OSError, ValueError):
            return None
        prefix = "%s\t%s\t" % (key, sig)
        if not data.startswith(prefix) or not data.endswith("\n"):
            return None
        return data[len(prefix):-1]

    def close(self):
        if self._store_fd is not None:
            os.close(self._store_fd)
            self._store_fd = None

    def save(self, header_extra=None):
        """Write the index (only the logs seen in this call) and new store records; never raises."""
        lock = None
        try:
            lock = self._lock(fcntl.LOCK_EX, create=True)
            self._save(header_extra)
        except (IOError, OSError) as exc:
            self.warnings.append("cannot write parser cache %s: %s" % (self.path, exc))
        finally:
            self._unlock(lock)
            self.close()

    def _save(self, header_extra):
        totals = self.totals()
        # where every payload goes: live logs inline, closed logs in the store
        lines, pending = [], []   # pending: (index in lines, info, raw payload) waiting for a store position
        kept_bytes = 0
        for info in self.seen.values():
            where = info._where
            if info.live:
                if where is None or where[0] != "i":
                    raw = info.raw_payload()
                    if raw is None:
                        continue   # unreadable: not indexed, parsed again next time
                    where = "i" + raw
                lines.append(info.key + "\t" + info._rest if where == info._where and info._rest is not None
                             else info.index_line(where))
            elif where is not None and where[0] == "s":
                kept_bytes += int(where.rsplit(":", 1)[1])
                lines.append(info.key + "\t" + info._rest if info._rest is not None else info.index_line(where))
                pending.append((len(lines) - 1, info, None))
            else:
                raw = info.raw_payload()
                if raw is None:
                    continue
                lines.append(None)
                pending.append((len(lines) - 1, info, raw))
        fd = os.open(self.store_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            token = _store_token(fd)
            size = os.fstat(fd).st_size
            new_bytes = sum(len(_record(info, raw)) for _i, info, raw in pending if raw is not None)
            garbage = size - kept_bytes
            rewrite = (token is None or token != self._store_token
                       or (garbage > GARBAGE_MIN_BYTES and garbage > GARBAGE_SHARE * (size + new_bytes)))
        except OSError:
            os.close(fd)
            raise
        if rewrite:
            os.close(fd)
            token = self._rewrite_store(pending, lines)
        else:
            try:
                self._append(fd, size, pending, lines)
            finally:
                os.close(fd)
        header = dict(self.header, version=VERSION, store=token, sums=_sums_to_json(totals))
        header.update(header_extra or {})
        text = json.dumps(header, separators=(",", ":")) + "\n" + "".join(line + "\n" for line in lines if line)
        _write_atomic(self.path, self.dir, text.encode("utf-8", "surrogateescape"))

    def _append(self, fd, size, pending, lines):
        parts, pos = [], size
        for i, info, raw in pending:
            if raw is None:
                continue
            record = _record(info, raw)
            lines[i] = info.index_line("s%d:%d" % (pos, len(record)))
            parts.append(record)
            pos += len(record)
        data = b"".join(parts)
        while data:
            written = os.write(fd, data)
            data = data[written:]

    def _rewrite_store(self, pending, lines):
        token = binascii.hexlify(os.urandom(8)).decode("ascii")
        parts = [json.dumps({"version": VERSION, "token": token}).encode("ascii") + b"\n"]
        pos = len(parts[0])
        for i, info, raw in pending:
            if raw is None:
                raw = info.raw_payload()
                if raw is None:
                    lines[i] = None   # its old record is gone: parsed again next time
                    continue
            record = _record(info, raw)
            lines[i] = info.index_line("s%d:%d" % (pos, len(record)))
            parts.append(record)
            pos += len(record)
        _write_atomic(self.store_path, self.dir, b"".join(parts))
        return token

    # -- ETA sums ----------------------------------------------------------------------------------
    def totals(self):
        """eta.phase_sums over the finished plots of every log seen in this call (exact).

        Taken from the index header and updated with the logs (re)parsed or gone since; computed
        from every index line when the header has none.
        """
        if self._totals is not None:
            return self._totals
        totals = _sums_from_json(self.header.get("sums")) if self.header else None
        if totals is None:
            totals = {}
            for info in self.seen.values():
                eta.add_sums(totals, info.sums())
        else:
            seen_keys = set(info.key for info in self.seen.values())
            for key in set(self._old) - seen_keys:
                eta.add_sums(totals, _rest_sums(self._old[key]), -1)
            for path in self.changed:
                info = self.seen.get(path)
                if info is None:
                    continue
                old = self._old.get(info.key)
                if old is not None:
                    eta.add_sums(totals, _rest_sums(old), -1)
                eta.add_sums(totals, info.sums())
        self._totals = totals
        return totals

    # -- one log ---------------------------------------------------------------------------------
    def cached(self, path, st):
        """LogInfo for an unchanged log (no read), else None."""
        key = _key(path)
        rest = self._old.get(key)
        if rest is None:
            return None
        sig = signature(st)
        if not rest.startswith(sig + "\t"):
            return None
        fields = rest.split("\t", 6)   # sig, offset, plotter, ended, note, sums, where
        if len(fields) != 7 or not fields[6] or (fields[6][0] == "s" and self._store_fd is None):
            return None
        try:
            info = LogInfo(self, path, key, sig, int(fields[1]), fields[2], float(fields[3]) if fields[3] else None,
                           fields[4], fields[5], where=fields[6], rest=rest)
        except ValueError:
            return None
        self.seen[path] = info
        return info

    def refresh(self, path, st, plotter=None, keep_state=False):
        """LogInfo for path, reading only what was appended since the cached offset."""
        self._stats[path] = st
        info = self.cached(path, st)
        if info is None:   # a live log cached without parser state is re-parsed from 0 once it grows
            info = self._parse(path, st, plotter, keep_state)
        if info is not None:
            info.live = keep_state
        return info

    def _reparse(self, info):
        """The store record of an unchanged log was unreadable: parse the log again (True if done)."""
        st = self._stats.get(info.path)
        if st is None:
            return False
        new = self._parse(info.path, st, info.plotter, info.live)
        if new is None:
            return False
        if self._totals is not None:
            eta.add_sums(self._totals, info.sums(), -1)
            eta.add_sums(self._totals, new.sums())
        for name in ("sig", "offset", "plotter", "ended", "note", "sums_text", "_where", "_payload", "_rest"):
            setattr(info, name, getattr(new, name))
        self.seen[info.path] = info
        return True

    def _previous(self, path):
        key = _key(path)
        rest = self._old.get(key)
        if rest is None:
            return None
        fields = rest.split("\t", 6)
        if len(fields) != 7:
            return None
        try:
            return LogInfo(self, path, key, fields[0], int(fields[1]), fields[2], None, fields[4], fields[5],
                           where=fields[6], fallback=False)
        except ValueError:
            return None

    def _parse(self, path, st, plotter, keep_state):
        prev = self._previous(path)
        offset = 0
        state = None
        if prev is not None and prev.plotter:
            dev_ino = prev.sig.rsplit(":", 2)[0]
            if dev_ino == "%d:%d" % (st.st_dev, st.st_ino) and st.st_size >= prev.offset:
                state = prev.payload.get("state")
                if state is not None:
                    offset = prev.offset
                    plotter = prev.plotter
        payload = {"plots": [], "tail": None, "note": None, "state": None}
        if prev is not None and offset:
            payload["tail"] = prev.tail
        try:
            handle = open(path, "rb")
        except (IOError, OSError) as exc:
            self.warnings.append("cannot read log %s: %s" % (path, exc.strerror or exc))
            return None
        with handle:
            if offset == 0:
                head = handle.read(HEAD_BYTES)
                if not head.strip():
                    payload["note"] = "empty"
                    return self._store(path, st, 0, plotter, payload)
                if plotter is None:
                    plotter = model.detect_plotter(head.decode("utf-8", "replace"))
                if plotter is None:
                    binary = b"\0" in head or _mostly_binary(head)
                    if binary or st.st_size >= UNRECOGNISED_AFTER:
                        payload["note"] = "binary" if binary else "unrecognised"
                    payload["tail"] = _last_line(head)
                    return self._store(path, st, 0, None, payload)
                handle.seek(0)
            else:
                handle.seek(offset)
            try:
                parser = model.parser_for(plotter, state)
            except ValueError:
                payload["note"] = "unrecognised"
                return self._store(path, st, 0, None, payload)
            start = offset
            try:
                offset, tail, carry = _feed_blocks(handle, parser, offset, payload["tail"], None)
            except PARSER_ERRORS:
                # A line the fast path cannot read (a garbled number...) must not cost the whole log,
                # nor fail plot_info: read it again line by line, leaving out only the lines that raise.
                handle.seek(start)
                parser = model.parser_for(plotter, state)
                skipped = []
                offset, tail, carry = _feed_blocks(handle, parser, start, payload["tail"], skipped)
                self.warnings.append("log %s: %d line(s) left out, the parser cannot read them (first: %r)"
                                     % (path, len(skipped), skipped[0][:120] if skipped else ""))
            # an unfinished last line (no newline yet) is not fed: it is read again next time
            payload["tail"] = tail[-300:] if tail else (_last_line(carry) or None)
        payload["plots"] = parser.plots
        if keep_state:
            payload["state"] = parser.state()
        return self._store(path, st, offset, plotter, payload)

    def _store(self, path, st, offset, plotter, payload):
        ended = None
        for plot in payload["plots"]:
            ts = plot.get("finished_ts")
            if ts is not None and (ended is None or ts > ended):
                ended = ts
        if ended is None:
            ended = st.st_mtime
        sums = eta.phase_sums(payload["plots"]) if plotter else {}
        note = payload.get("note")
        if note and not note.isalnum():
            note = None   # notes are fixed words; anything else would break the index line
        info = LogInfo(self, path, _key(path), signature(st), offset, plotter, ended, note,
                       json.dumps(_sums_to_json(sums), separators=(",", ":")) if sums else "", payload=payload)
        self.seen[path] = info
        self.changed.add(path)
        return info


def _feed_blocks(handle, parser, offset, tail, skipped):
    """Feed the complete lines from the handle's position; returns (offset after the last complete
    line, last non-blank line, the unfinished rest). skipped None: whole blocks (feed_text, fast);
    a list: line by line, each line that raises left out and appended to it."""
    carry = b""
    while True:
        chunk = handle.read(READ_CHUNK)
        if not chunk:
            break
        data = carry + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        carry = data[cut + 1:]
        offset += cut + 1
        # decoded from a view: a slice of the bytes would be a copy (~4x the decode's time)
        text = str(memoryview(data)[:cut], "utf-8", "replace")
        if skipped is None:
            parser.feed_text(text)   # the whole block at once: much faster than feed() per line
        else:
            _feed_lines(parser, text, skipped)
        tail = model.last_nonblank_line(text) or tail
    return offset, tail, carry


def _feed_lines(parser, text, skipped):
    for line in text.split("\n"):
        try:
            parser.feed(line)
        except PARSER_ERRORS:
            skipped.append(line)


def _record(info, raw):
    return ("%s\t%s\t%s\n" % (info.key, info.sig, raw)).encode("utf-8", "surrogateescape")


def _store_token(fd):
    try:
        head = os.pread(fd, 256, 0)
        header = json.loads(head.split(b"\n", 1)[0].decode("ascii"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or header.get("version") != VERSION:
        return None
    token = header.get("token")
    return token if isinstance(token, str) else None


def _write_atomic(path, directory, data):
    if not os.path.isdir(directory):
        os.makedirs(directory)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.rename(tmp, path)
        tmp = None
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _rest_sums(rest):
    fields = rest.split("\t", 6)
    if len(fields) != 7 or not fields[5]:
        return {}
    try:
        return _sums_from_json(json.loads(fields[5])) or {}
    except ValueError:
        return {}


def _sums_to_json(sums):
    out = []
    for (plotter, k), per in sorted(sums.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        for phase, (total, n) in sorted(per.items()):
            out.append([plotter, k, phase, total, n])
    return out


def _sums_from_json(items):
    """The inverse of _sums_to_json; None if items is not such a list."""
    if not isinstance(items, list):
        return None
    sums = {}
    try:
        for plotter, k, phase, total, n in items:
            if not (isinstance(total, int) and isinstance(n, int)):
                return None
            eta.add_sums(sums, {(plotter, k): {phase: [total, n]}})
    except (TypeError, ValueError):
        return None
    return sums


def _compact(payload):
    """Payload for the cache file: plot dicts without their null keys (a third of the size)."""
    out = dict((k, v) for k, v in payload.items() if v is not None and k != "plots")
    out["plots"] = [dict((k, v) for k, v in plot.items() if v is not None) for plot in payload.get("plots") or ()]
    return out


def _expand(payload):
    if not isinstance(payload, dict):
        return {}
    plots = []
    for plot in payload.get("plots") or ():
        full = dict.fromkeys(model.PLOT_KEYS)
        full.update(plot)
        plots.append(full)
    payload["plots"] = plots
    return payload


def _last_line(data):
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    for line in reversed(data.splitlines()):
        line = model.clean_line(line).strip()
        if line:
            return line[-300:]
    return None


def _mostly_binary(head):
    sample = head[:4096]
    if not sample:
        return False
    bad = sum(1 for b in bytearray(sample) if b < 9 or (13 < b < 32 and b != 27))
    return bad * 10 > len(sample)
