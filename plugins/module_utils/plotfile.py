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
The memo holds the plot's secret key: it is skipped, never returned.

This file is also installed next to the detached transfer worker, so it imports nothing but the
standard library.
"""

from __future__ import absolute_import, division, print_function

import os
import re
import struct

__metaclass__ = type

V1_MAGIC = b"Proof of Space Plot"
V2_MAGIC = b"PLOT"
TABLE_COUNT = 10
HEADER_READ_BYTES = 4096  # the largest header (v2, 65535-byte memo is impossible in practice) fits

# plot-k32-2021-06-01-12-30-<id>.plot, plot-k32-c05-2023-...-<id>.plot; date part optional.
PLOT_NAME_RE = re.compile(r"^plot-k(?P<k>\d{2})-(?:c(?P<c>\d{1,2})-)?(?:[0-9-]*-)?(?P<id>[0-9a-fA-F]{64})\.plot$")
# Our own transfer temp name inside a destination dir, and rsync's resumable partial dir.
PARTIAL_SUFFIX = ".plotfleet-partial"
RSYNC_PARTIAL_DIR = ".plotfleet-rsync"
# Plotter temp files: chiapos .plot.table3.tmp/.plot.sort.tmp/.plot.2.tmp/.plot.tmp/
# .plot.p1.t1.sort_bucket_012.tmp, madMAx .plot.tmp and *.p2.t3.tmp, BladeBit .plot.tmp.
TEMP_NAME_RE = re.compile(r"^plot-k\d{2}-.*\.tmp$")


def parse_plot_name(name):
    """{"k", "compression", "plot_id"} for a final plot file name, else None."""
    match = PLOT_NAME_RE.match(name)
    if not match:
        return None
    return {
        "k": int(match.group("k")),
        "compression": int(match.group("c")) if match.group("c") else 0,
        "plot_id": match.group("id").lower(),
    }


def is_plot_name(name):
    return PLOT_NAME_RE.match(name) is not None


def is_temp_name(name):
    """A plotter's or plotfleet's temporary file: never to be moved (and never a finished plot)."""
    if TEMP_NAME_RE.match(name):
        return True
    return name.startswith(".") and name.endswith(PARTIAL_SUFFIX)


def partial_name(plot_name):
    """Hidden temp name a transfer writes inside the destination dir before the final rename."""
    return ".%s%s" % (plot_name, PARTIAL_SUFFIX)


def parse_header(data):
    """Header fields from the first bytes of a file, or None if they are not a plot header.

    Returns {"format": "v1.0"|"v2", "version", "plot_id", "k", "memo_bytes", "compression",
    "table_pointers", "header_bytes", "complete"}; never the memo itself.
    """
    try:
        if data.startswith(V1_MAGIC):
            return _parse_v1(data)
        if data.startswith(V2_MAGIC):
            return _parse_v2(data)
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
