"""The fault suite's invariants, checked from the files themselves (never from plotfleet's own reports).

A Ledger watches every data dir of the fleet during a test (a thread rescans every 0.1 s):
  - every complete plot seen in a plotter's dst dir: its id and byte count (the source of a transfer);
  - every file ever seen, so a file that disappears can be judged (temp file, or a plot moved elsewhere);
  - any `.plot` file that is not a complete plot, the moment it is seen anywhere.
assert_invariants() then checks: 0 plots lost, 0 duplicated, 0 partial `.plot` files at any destination,
no file deleted outside temp patterns, sentinel files untouched.
PoS2 `.plot2` plots (the `pos2` kind) are plots too: read_any_header() reads either format.
"""

import hashlib
import os
import re
import struct
import threading
import uuid

MAGIC = b"Proof of Space Plot"
POS2_MAGIC = b"PoS2"
PLOT_SUFFIXES = (".plot", ".plot2")
POINTERS = 10  # P1..P7, C1, C2, C3: all zero until the plot is complete
SENTINEL_PREFIX = "pf-sentinel-"
# Names that plotfleet or the plotters may delete: plotter temp files, rsync/transfer temp names.
TEMP_PATTERNS = [
    re.compile(r"\.tmp$"),                   # chiapos: .plot.tableN.tmp, .plot.sort.tmp, .plot.2.tmp, .plot.tmp
    re.compile(r"^\..+\.[A-Za-z0-9]{6}$"),   # rsync's default temp name: .<name>.XXXXXX
    re.compile(r"\.(part|partial|incoming)$"),
    re.compile(r"^\.plotfleet"),
    re.compile(r"\.plotfleet-partial$"),    # plot_move's hidden partial copy at a destination
]
LOG_ID = re.compile(r"^ID: ([0-9a-f]{64})\s*$")
LOG_DONE = re.compile(r"^(Renamed final file from|Copied final file from)")


def read_plot_header(path):
    """{'id', 'k', 'complete', 'size'} from a v1 plot header, or None when it is not a plot at all."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(19 + 32 + 1 + 2)
            if len(head) < 54 or head[:19] != MAGIC:
                return None
            plot_id, k = head[19:51].hex(), head[51]
            fmt_len = struct.unpack(">H", head[52:54])[0]
            handle.read(fmt_len)
            memo_len = struct.unpack(">H", handle.read(2) or b"\0\0")[0]
            handle.read(memo_len)
            raw = handle.read(8 * POINTERS)
    except OSError:
        return None
    pointers = struct.unpack(">%dQ" % POINTERS, raw) if len(raw) == 8 * POINTERS else (0,)
    complete = all(pointers) and size > max(pointers)
    return {"id": plot_id, "k": k, "complete": bool(complete), "size": size, "format": "v1"}


def read_plot2_header(path):
    """{'id', 'k', 'strength', 'complete', 'size', 'format': 'pos2'} from a PoS2 (chia_rs) header, or None.
    Layout: "PoS2", version, 32-byte plot group id, k, strength, group size, ?, meta group, 8-byte LE
    offset (0 until written); the plot id is sha256(group id + plot index 0 (2 bytes BE) + meta group)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(4 + 1 + 32 + 5 + 8)
    except OSError:
        return None
    if len(head) < 50 or head[:4] != POS2_MAGIC:
        return None
    group_id, k, strength, meta_group = head[5:37], head[37], head[38], head[41]
    (offset,) = struct.unpack("<Q", head[42:50])
    plot_id = hashlib.sha256(group_id + struct.pack(">HB", 0, meta_group)).hexdigest()
    return {"id": plot_id, "k": k, "strength": strength, "complete": 0 < offset < size, "size": size,
            "format": "pos2"}


def is_plot_file(filename):
    """A finished plot's name: `.plot` (v1) or `.plot2` (PoS2)."""
    return filename.endswith(PLOT_SUFFIXES)


def read_any_header(path):
    """read_plot2_header for a `.plot2`, read_plot_header for anything else."""
    return read_plot2_header(path) if path.endswith(".plot2") else read_plot_header(path)


def name_id(filename):
    match = re.search(r"([0-9a-f]{64})\.plot2?$", filename)
    return match.group(1) if match else None


def is_temp(filename):
    return any(p.search(filename) for p in TEMP_PATTERNS)


def list_files(path):
    try:
        return [e for e in os.scandir(path) if e.is_file(follow_symlinks=False)]
    except OSError:
        return []


def plot_logs(host):
    """{log path: (plot ids in it, ids whose log shows the final rename/copy)} for a plotter."""
    found = {}
    for entry in list_files(host.log_dir):
        ids, done, current = [], [], None
        try:
            with open(entry.path, "r", errors="replace") as handle:
                for line in handle:
                    line = line.strip("\r\n")
                    match = LOG_ID.match(line)
                    if match:
                        current = match.group(1)
                        ids.append(current)
                    elif current and LOG_DONE.match(line.strip()):
                        done.append(current)
        except OSError:
            continue
        if ids:
            found[entry.path] = (ids, done)
    return found


def finished_ids(fleet):
    return set(i for host in fleet.plotters for _, done in plot_logs(host).values() for i in done)


def started_ids(fleet):
    return set(i for host in fleet.plotters for ids, _ in plot_logs(host).values() for i in ids)


def storage_dirs(fleet):
    return fleet.storage.storage_dirs + [fleet.storage.small_storage_dir]


def destination_dirs(fleet):
    """Every dir where a finished plot may live: plotter dst dirs and storage dirs."""
    return [d for host in fleet.plotters for d in host.dst_dirs] + storage_dirs(fleet)


def plot_locations(fleet):
    """{plot id: [paths of .plot files with that id]} over every destination dir."""
    where = {}
    for path in destination_dirs(fleet):
        for entry in list_files(path):
            if is_plot_file(entry.name):
                header = read_any_header(entry.path)
                key = header["id"] if header else (name_id(entry.name) or entry.path)
                where.setdefault(key, []).append(entry.path)
    return where


def storage_leftovers(fleet):
    """Files at storage (any depth) that are neither plots nor sentinels: partial transfers left behind."""
    found = []
    for top in storage_dirs(fleet):
        for path, _dirs, files in os.walk(top):
            found += [os.path.join(path, f) for f in files
                      if path != top or not (is_plot_file(f) or f.startswith(SENTINEL_PREFIX))]
    return found


class Ledger:
    def __init__(self, fleet, interval=0.1):
        self.fleet = fleet
        self.interval = interval
        self.source_sizes = {}   # plot id -> bytes of the finished plot in a plotter's dst dir
        self.seen_ids = set()
        self.seen_files = {}     # path -> plot id (or None)
        self.violations = []
        self.sentinels = []
        self._at_source = set()  # plot ids complete in a plotter's dst dir at the last scan
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    # ------------------------------------------------------------ watching
    def start(self):
        self.place_sentinels()
        self.scan()
        self._thread = threading.Thread(target=self._run, name="fleet-ledger", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self.scan()
            except Exception as exc:  # a race with a moving file must not kill the watcher
                with self._lock:
                    self.violations.append("ledger scan error: %r" % exc)

    def place_sentinels(self):
        """A file in every dir that plotfleet must never delete (it matches no temp pattern)."""
        for host in self.fleet.hosts.values():
            for path in host.all_dirs():
                sentinel = os.path.join(path, "%s%s.keep" % (SENTINEL_PREFIX, uuid.uuid4().hex[:8]))
                with open(sentinel, "w") as handle:
                    handle.write("plotfleet must not delete this file\n")
                self.sentinels.append(sentinel)

    def scan(self):
        """One look at every dir: sources first, then storage (a transfer renames at storage before it
        deletes the source, so a plot gone from its source must be complete at storage by now)."""
        fleet = self.fleet
        sources = [d for host in fleet.plotters for d in host.dst_dirs]
        at_source = set()
        for path in sources:
            for entry in list_files(path):
                plot_id = self._see(entry, is_source=True, is_destination=True)
                if plot_id:
                    at_source.add(plot_id)
        at_storage = set()
        for path in storage_dirs(fleet):
            for entry in list_files(path):
                plot_id = self._see(entry, is_source=False, is_destination=True)
                if plot_id:
                    at_storage.add(plot_id)
        for host in fleet.hosts.values():
            for path in host.data_dirs():
                if path not in sources and path not in storage_dirs(fleet):
                    for entry in list_files(path):
                        self._see(entry, is_source=False, is_destination=False)
        with self._lock:
            for plot_id in self._at_source - at_source:
                if plot_id not in at_storage:
                    self.violations.append("source of plot %s deleted while no complete copy was at storage" % plot_id)
            self._at_source = at_source

    def _see(self, entry, is_source, is_destination):
        """Record one file; returns the plot id when it is a complete plot at a destination."""
        header = read_any_header(entry.path) if is_plot_file(entry.name) else None
        with self._lock:
            if entry.path not in self.seen_files or (header and not self.seen_files[entry.path]):
                self.seen_files[entry.path] = header["id"] if header else None
            if not is_plot_file(entry.name) or not is_destination:
                return None
            if header is None or not header["complete"]:
                if os.path.exists(entry.path):
                    self.violations.append("partial .plot seen: %s (%s)" % (entry.path, header))
                return None
            self.seen_ids.add(header["id"])
            if is_source:
                self.source_sizes.setdefault(header["id"], header["size"])
            return header["id"]

    # ------------------------------------------------------------ checking
    def check(self, allow_storage_temps=False):
        """All invariant problems as a list of strings (empty when everything holds) and a summary."""
        self.scan()
        fleet = self.fleet
        problems = []
        with self._lock:
            problems += list(self.violations)
            expected = finished_ids(fleet) | self.seen_ids
            where = plot_locations(fleet)
            for plot_id in sorted(expected):
                count = len(where.get(plot_id, []))
                if count == 0:
                    problems.append("plot lost: %s (finished, found in no destination dir)" % plot_id)
                elif count > 1:
                    problems.append("plot duplicated: %s at %s" % (plot_id, where[plot_id]))
            for plot_id, paths in where.items():
                for path in paths:
                    header = read_any_header(path)
                    if not header or not header["complete"]:
                        problems.append("partial .plot at destination: %s" % path)
                    elif header["id"] != name_id(os.path.basename(path)):
                        problems.append("plot file name does not match its header id: %s" % path)
                    elif plot_id in self.source_sizes and header["size"] != self.source_sizes[plot_id]:
                        problems.append("size of %s is %d, its source had %d bytes"
                                        % (path, header["size"], self.source_sizes[plot_id]))
            for path, plot_id in sorted(self.seen_files.items()):
                if os.path.exists(path) or is_temp(os.path.basename(path)):
                    continue
                if plot_id and len(where.get(plot_id, [])) == 1:
                    continue  # a plot moved to its one new home
                problems.append("file deleted that is not a temp file: %s" % path)
            for sentinel in self.sentinels:
                if not os.path.exists(sentinel):
                    problems.append("sentinel deleted: %s" % sentinel)
            if not allow_storage_temps:
                problems += ["partial file left at storage: %s" % p for p in storage_leftovers(fleet)]
        summary = {
            "finished": len(expected),
            "at_storage": sum(1 for paths in where.values() for p in paths
                              if os.path.dirname(p) in storage_dirs(fleet)),
            "sources_measured": len(self.source_sizes),
        }
        return problems, summary

    def assert_invariants(self, allow_storage_temps=False, min_finished=1):
        problems, summary = self.check(allow_storage_temps)
        if summary["finished"] < min_finished:
            problems.append("expected at least %d finished plot(s), saw %d" % (min_finished, summary["finished"]))
        assert not problems, "fleet invariants broken:\n  " + "\n  ".join(problems)
        return summary
