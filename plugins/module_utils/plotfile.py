# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plot files: header reader (stdlib only) and the names of plots and plot temp files.

v1 header (chiapos, madMAx, BladeBit uncompressed):
  19 bytes "Proof of Space Plot", 32 bytes plot id, 1 byte k, 2-byte big-endian length + format
  text ("v1.0"), 2-byte big-endian length + memo, ten 8-byte big-endian table pointers.
v2 header (BladeBit compressed / ramplot):
  4 bytes "PLOT", 4-byte little-endian version, 32 bytes plot id, 1 byte k, 2-byte big-endian
  memo length + memo, 4-byte little-endian flags (+ 1 byte compression level when flag bit 0 is
  set), ten 8-byte big-endian table pointers, ten 8-byte little-endian table sizes.
The table pointers stay 0 until the plotter finishes the plot, so "all non-zero" means complete.
PoS2 header (`.plot2`, chia_rs 0.53 plot group file; read from real files made here):
  4 bytes "PoS2", 1 byte format version (2), 32 bytes plot group id, 1 byte k (even, 18..32),
  1 byte strength (>= 2), 1 byte group size, 1 byte ?, 1 byte meta group, 8-byte little-endian
  offset (non-zero and inside the file once written), 1 byte memo length (112 or 128) + memo.
  The plot id (in the name, `plot-k{k}-{id}.plot2`) is sha256(group id + plot index (2 bytes,
  big-endian, 0 for chia 2.7.5's single plots) + meta group).
The memo holds the plot's secret key: it is skipped, never returned.

This file is also installed next to the detached transfer worker, so it imports nothing but the
standard library.
"""

from __future__ import absolute_import, division, print_function

import hashlib
import os
import re
import struct

__metaclass__ = type

V1_MAGIC = b"Proof of Space Plot"
V2_MAGIC = b"PLOT"
POS2_MAGIC = b"PoS2"
POS2_HEADER_BYTES = 51   # up to the memo
TABLE_COUNT = 10
HEADER_READ_BYTES = 4096  # the largest header (v2, 65535-byte memo is impossible in practice) fits

# plot-k32-2021-06-01-12-30-<id>.plot, plot-k32-c05-2023-...-<id>.plot; date part optional.
PLOT_NAME_RE = re.compile(r"^plot-k(?P<k>\d{2})-(?:c(?P<c>\d{1,2})-)?(?:[0-9-]*-)?(?P<id>[0-9a-fA-F]{64})\.plot$")
# PoS2: plot-k28-<id>.plot2 (chia-blockchain 2.7.5, plotfleet's pos2 driver, xchplot2).
# Whether is_plot_name()/parse_plot_name() take `.plot2` names by default, i.e. whether the mover
# (transfer.py, transfer_worker.py, which call them without v2=) moves PoS2 plots: it does (issue 11).
PLOT2_IS_PLOT = True
PLOT2_NAME_RE = re.compile(r"^plot-k(?P<k>\d{2})-(?P<id>[0-9a-fA-F]{64})\.plot2$")
# Our own transfer temp name inside a destination dir, and rsync's resumable partial dir.
PARTIAL_SUFFIX = ".plotfleet-partial"
RSYNC_PARTIAL_DIR = ".plotfleet-rsync"
# Plotter temp files (is_temp_name): chiapos .plot.table3.tmp/.plot.sort.tmp/.plot.2.tmp/.plot.tmp/
# .plot.p1.t1.sort_bucket_012.tmp, madMAx .plot.tmp and *.p2.t3.tmp, BladeBit .plot.tmp and id-less
# diskplot temp files, the pos2 driver's .plot2.tmp.
# xchplot2 writes <name>.plot2.partial, then renames it.
PLOT2_PARTIAL_SUFFIX = ".plot2.partial"


def parse_plot_name(name, v2=None):
    """{"k", "compression", "plot_id"} for a final plot file name, else None.

    `.plot2` (PoS2) names count with v2=True (default: PLOT2_IS_PLOT); their compression is 0."""
    match = PLOT_NAME_RE.match(name)
    if match:
        return {
            "k": int(match.group("k")),
            "compression": int(match.group("c")) if match.group("c") else 0,
            "plot_id": match.group("id").lower(),
        }
    match = PLOT2_NAME_RE.match(name) if (PLOT2_IS_PLOT if v2 is None else v2) else None
    if match:
        return {"k": int(match.group("k")), "compression": 0, "plot_id": match.group("id").lower()}
    return None


def is_plot_name(name, v2=None):
    """A finished plot's name: `.plot` (PoS1); with v2=True (default: PLOT2_IS_PLOT) `.plot2` too."""
    if PLOT_NAME_RE.match(name):
        return True
    return bool(PLOT2_IS_PLOT if v2 is None else v2) and is_plot2_name(name)


def is_plot2_name(name):
    return PLOT2_NAME_RE.match(name) is not None


def is_temp_name(name):
    """A plotter's or plotfleet's temporary file: never to be moved (and never a finished plot).
    Any `*.tmp` (chiapos, madMAx, BladeBit, the pos2 driver), xchplot2's `plot-k*.plot2.partial`
    (its current releases add a random `.XXXXXX`), plotfleet's `*.plotfleet-partial`. Which of them
    belong to a job: policy/temps.py."""
    if name.endswith(".tmp") or name.endswith(PARTIAL_SUFFIX):
        return True
    return name.startswith("plot-k") and (name.endswith(PLOT2_PARTIAL_SUFFIX) or PLOT2_PARTIAL_SUFFIX + "." in name)


def partial_name(plot_name):
    """Hidden temp name a transfer writes inside the destination dir before the final rename."""
    return ".%s%s" % (plot_name, PARTIAL_SUFFIX)


def parse_header(data):
    """Header fields from the first bytes of a file, or None if they are not a plot header.

    Returns {"format": "v1.0"|"v2"|"pos2", "version", "plot_id", "k", "memo_bytes", "compression",
    "table_pointers", "header_bytes", "complete"} (pos2 adds "strength", "plot_group_id",
    "meta_group"); never the memo itself.
    """
    try:
        if data.startswith(V1_MAGIC):
            return _parse_v1(data)
        if data.startswith(V2_MAGIC):
            return _parse_v2(data)
        if data.startswith(POS2_MAGIC):
            return _parse_pos2(data)
    except (struct.error, IndexError, ValueError):
        return None  # too short: a header still being written
    return None


def _parse_v1(data):
    pos = len(V1_MAGIC)
    plot_id = data[pos:pos + 32]
    k = data[pos + 32]
    pos += 33
    (fmt_len,) = struct.unpack(">H", data[pos:pos + 2])
    fmt = data[pos + 2:pos + 2 + fmt_len].decode("ascii", "replace")
    pos += 2 + fmt_len
    (memo_len,) = struct.unpack(">H", data[pos:pos + 2])
    pos += 2 + memo_len
    pointers = list(struct.unpack(">%dQ" % TABLE_COUNT, data[pos:pos + 8 * TABLE_COUNT]))
    pos += 8 * TABLE_COUNT
    return _result(fmt, 1, plot_id, k, memo_len, 0, pointers, pos)


def _parse_v2(data):
    pos = len(V2_MAGIC)
    (version,) = struct.unpack("<I", data[pos:pos + 4])
    pos += 4
    plot_id = data[pos:pos + 32]
    k = data[pos + 32]
    pos += 33
    (memo_len,) = struct.unpack(">H", data[pos:pos + 2])
    pos += 2 + memo_len
    (flags,) = struct.unpack("<I", data[pos:pos + 4])
    pos += 4
    compression = 0
    if flags & 1:
        compression = data[pos]
        pos += 1
    pointers = list(struct.unpack(">%dQ" % TABLE_COUNT, data[pos:pos + 8 * TABLE_COUNT]))
    pos += 16 * TABLE_COUNT  # pointers, then table sizes
    if pos > len(data):
        raise ValueError("short v2 header")
    return _result("v2", version, plot_id, k, memo_len, compression, pointers, pos)


def pos2_plot_id(plot_group_id, meta_group, plot_index=0):
    """The id of plot `plot_index` of a PoS2 plot group (what chia names the file by), hex."""
    return hashlib.sha256(plot_group_id + struct.pack(">HB", plot_index, meta_group)).hexdigest()


def _parse_pos2(data):
    pos = len(POS2_MAGIC)
    version = data[pos]
    group_id = data[pos + 1:pos + 33]
    k, strength, meta_group = data[pos + 33], data[pos + 34], data[pos + 37]
    (offset,) = struct.unpack("<Q", data[pos + 38:pos + 46])
    memo_len = data[pos + 46]
    header_bytes = POS2_HEADER_BYTES + memo_len
    if len(group_id) != 32 or header_bytes > len(data):
        raise ValueError("short PoS2 header")
    if k % 2 or not 18 <= k <= 32 or strength < 2 or memo_len not in (112, 128):
        return None   # "PoS2" then nonsense: not a plot chia_rs would open
    plot_id = bytes.fromhex(pos2_plot_id(group_id, meta_group))
    result = _result("pos2", version, plot_id, k, memo_len, 0, [offset], header_bytes)
    result.update(strength=strength, plot_group_id=group_id.hex(), meta_group=meta_group)
    return result


def _result(fmt, version, plot_id, k, memo_len, compression, pointers, header_bytes):
    if len(plot_id) != 32:
        raise ValueError("short plot id")
    return {
        "format": fmt,
        "version": version,
        "plot_id": plot_id.hex(),
        "k": k,
        "memo_bytes": memo_len,
        "compression": compression,
        "table_pointers": pointers,
        "header_bytes": header_bytes,
        "complete": all(pointers),
    }


def read_header(path):
    """parse_header() of the file at path; None if unreadable or not a plot."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(HEADER_READ_BYTES)
    except (IOError, OSError):
        return None
    return parse_header(data)


def check_plot(path, expect_id=None, expect_k=None, expect_size=None):
    """Why the file at path is not a complete plot (str), or None when it is.

    Complete: a header with all table pointers non-zero, every pointer inside the file, and
    (when given) the expected plot id, k and size.
    """
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        return "cannot stat: %s" % exc.strerror
    header = read_header(path)
    if header is None:
        return "not a plot (no plot header)"
    if not header["complete"]:
        return "plot header incomplete (table pointers not written yet)"
    if max(header["table_pointers"]) >= size:
        return "file shorter than its table pointers (%d bytes)" % size
    if expect_id is not None and header["plot_id"] != expect_id:
        return "plot id %s differs from %s" % (header["plot_id"], expect_id)
    if expect_k is not None and header["k"] != expect_k:
        return "k%d differs from k%d" % (header["k"], expect_k)
    if expect_size is not None and size != expect_size:
        return "size %d differs from %d" % (size, expect_size)
    return None
