# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Incremental log parsing with a cache in <state_dir>/cache/logs.jsonl.

A log directory may hold thousands of old logs; plot_info must stay fast, so each log is read
once: the cache remembers, per path, the file's device, inode, size and mtime, the byte offset
after its last complete line, its plots and (for logs of live jobs) the parser state to resume
from. A log whose inode changed or that shrank is parsed again from the start; a log that grew
is resumed from the offset (or re-parsed when no parser state was kept).

File format (one file, written atomically with temp file + rename; a cache is disposable, so no
fsync; any unreadable or corrupt cache is simply ignored and rebuilt):
  line 1: JSON header {"version", "cpu": [idle, total], "means": [[plotter, k, {phase: s}], ...]}
  then one line per log: <key> TAB <dev:ino:size:mtime_ns> TAB <offset> TAB <plotter> TAB <ended>
                         TAB <payload JSON>
  key = the path with backslash, tab and newline escaped; payload = {"plots": [...], "tail": last
  non-empty line, "note": null|"binary"|"unrecognised"|"empty", "state": parser state or null}.
Unchanged lines are written back verbatim (their payload is only decoded when needed), which keeps
a warm call on 10,000 logs in the tens of milliseconds.
"""

from __future__ import absolute_import, division, print_function

import contextlib
import json
import os
import tempfile

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

__metaclass__ = type

CACHE_NAME = "logs.jsonl"
VERSION = 1
HEAD_BYTES = 16384
# A text file this large without any plotter marker is reported as "not a plotter log".
UNRECOGNISED_AFTER = 65536
READ_CHUNK = 8 * 1024 * 1024


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
    """What the cache knows about one log (payload decoded lazily)."""

    __slots__ = ("path", "sig", "offset", "plotter", "ended", "_raw", "_payload", "_line")

    def __init__(self, path, sig, offset, plotter, ended, raw=None, payload=None, line=None):
        self.path = path
        self.sig = sig
        self.offset = offset
        self.plotter = plotter or None
        self.ended = ended
        self._raw = raw
        self._payload = payload
        self._line = line

    @property
    def payload(self):
        if self._payload is None:
            try:
                self._payload = _expand(json.loads(self._raw)) if self._raw else {}
            except (ValueError, TypeError, AttributeError):
                self._payload = {}
        return self._payload

    @property
    def plots(self):
        return self.payload.get("plots") or []

    @property
    def note(self):
        return self.payload.get("note")

    @property
    def tail(self):
        return self.payload.get("tail")

    def line(self):
        raw = self._raw
        if raw is None:
            raw = json.dumps(_compact(self._payload), separators=(",", ":"))
        return "%s\t%s\t%d\t%s\t%s\t%s" % (_key(self.path), self.sig, self.offset, self.plotter or "",
                                           "" if self.ended is None else repr(float(self.ended)), raw)


class LogCache(object):
    def __init__(self, state_dir, warnings=None):
        self.path = os.path.join(state_dir, "cache", CACHE_NAME)
        self.header = {}
        self._old = {}        # key -> rest of line (unparsed) from the file on disk
        self.seen = {}        # path -> LogInfo for every log looked at in this call
        self.changed = set()  # paths (re)parsed in this call
        self.warnings = warnings if warnings is not None else []
        self._load()

    # -- file ------------------------------------------------------------------------------------
    def _load(self):
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
                self.warnings.append("parser cache %s unreadable or from another version: rebuilding it" % self.path)
            return
        self.header = header
        old = self._old
        for line in lines[1:]:
            if line:
                key, sep, rest = line.partition("\t")
                if sep:
                    old[key] = rest

    def save(self, header_extra=None):
        """Write the cache (only the logs seen in this call) atomically; never raises."""
        header = dict(self.header, version=VERSION)
        header.update(header_extra or {})
        parts = [json.dumps(header, separators=(",", ":")), "\n"]
        for info in self.seen.values():
            if info._payload is None and info._line is not None:
                parts.extend((info._line[0], "\t", info._line[1], "\n"))   # unchanged: written back as read
            else:
                parts.extend((info.line(), "\n"))
        data = "".join(parts)
        directory = os.path.dirname(self.path)
        tmp = None
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory)
            fd, tmp = tempfile.mkstemp(prefix=".logs.", suffix=".tmp", dir=directory)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data.encode("utf-8", "surrogateescape"))
            os.rename(tmp, self.path)
            tmp = None
        except (IOError, OSError) as exc:
            self.warnings.append("cannot write parser cache %s: %s" % (self.path, exc))
        finally:
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def dropped_any(self):
        """True when a log that was cached last time was not looked at in this call (deleted)."""
        return len(self._old) > len(self.seen) or any(_key(p) not in self._old for p in self.seen)

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
        fields = rest.split("\t", 4)
        if len(fields) != 5:
            return None
        try:
            info = LogInfo(path, sig, int(fields[1]), fields[2], float(fields[3]) if fields[3] else None,
                           raw=fields[4], line=(key, rest))
        except ValueError:
            return None
        self.seen[path] = info
        return info

    def refresh(self, path, st, plotter=None, keep_state=False):
        """LogInfo for path, reading only what was appended since the cached offset."""
        info = self.cached(path, st)
        if info is not None:
            return info   # a live log cached without parser state is re-parsed from 0 once it grows
        return self._parse(path, st, plotter, keep_state)

    def _previous(self, path):
        rest = self._old.get(_key(path))
        if rest is None:
            return None
        fields = rest.split("\t", 4)
        if len(fields) != 5:
            return None
        try:
            return LogInfo(path, fields[0], int(fields[1]), fields[2], None, raw=fields[4])
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
            tail = payload["tail"]
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
                for line in data[:cut].decode("utf-8", "replace").split("\n"):
                    parser.feed(line)
                    if line.strip():
                        tail = line
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
        info = LogInfo(path, signature(st), offset, plotter, ended, payload=payload)
        self.seen[path] = info
        self.changed.add(path)
        return info


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
