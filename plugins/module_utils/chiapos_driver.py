# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `chiapos` plotter kind: a small standalone script that runs PyPI chiapos like `chia plots create`.

install_driver(state_dir) writes DRIVER_SOURCE to <state_dir>/bin/plotfleet-chiapos-<hash>.py
(content-addressed, atomic) and returns its path; launch.py runs it as
`[python, path, -k K, -n N, -t TMP, -2 TMP2, -d DST, -r THREADS, -u BUCKETS, -b BUFFER_MIB, -s STRIPE,
  -f FARMER_PK, -p POOL_PK | -c CONTRACT]`. Its stdout is the log, exactly what chiapos prints.
"""

from __future__ import absolute_import, division, print_function

import contextlib
import hashlib
import os
import tempfile

__metaclass__ = type

DRIVER_PREFIX = "plotfleet-chiapos-"

DRIVER_SOURCE = r'''#!/usr/bin/env python3
"""plotfleet chiapos driver: makes plots with PyPI chiapos; stdout is the plot log.

Flags as `chia plots create` (plus -s stripe). Plot id and memo: random, like chia does when
given keys (memo = pool key or contract puzzle hash + farmer key + 32 random bytes); with no
keys the whole 128-byte memo is random (a plot for tests that no farmer can use).
"""
import argparse
import binascii
import os
import sys
import time


def _key(text, name):
    text = text[2:] if text.lower().startswith("0x") else text
    try:
        raw = binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        raise SystemExit("plotfleet-chiapos: %s is not hex" % name)
    if len(raw) != 48:
        raise SystemExit("plotfleet-chiapos: %s must be 48 bytes (96 hex digits), got %d" % (name, len(raw)))
    return raw


def _contract_hash(address):
    """Puzzle hash (32 bytes) of a bech32m xch1/txch1 address."""
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    address = address.lower()
    hrp, _, data = address.rpartition("1")
    try:
        values = [charset.index(c) for c in data][:-6]
    except ValueError:
        raise SystemExit("plotfleet-chiapos: bad pool contract address")
    acc, bits, out = 0, 0, bytearray()
    for v in values:
        acc = (acc << 5) | v
        bits += 5
        while bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if len(out) != 32 or not hrp:
        raise SystemExit("plotfleet-chiapos: bad pool contract address")
    return bytes(out)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="plotfleet-chiapos")
    ap.add_argument("-k", "--size", type=int, default=32)
    ap.add_argument("-n", "--num", type=int, default=1)
    ap.add_argument("-t", "--tmp_dir", default=".")
    ap.add_argument("-2", "--tmp2_dir", default=None)
    ap.add_argument("-d", "--final_dir", default=None)
    ap.add_argument("-r", "--num_threads", type=int, default=2)
    ap.add_argument("-u", "--buckets", type=int, default=128)
    ap.add_argument("-b", "--buffer", type=int, default=3389)
    ap.add_argument("-s", "--stripe", type=int, default=65536)
    ap.add_argument("-e", "--nobitfield", action="store_true")
    ap.add_argument("-f", "--farmer_public_key", default=None)
    ap.add_argument("-p", "--pool_public_key", default=None)
    ap.add_argument("-c", "--pool_contract_address", default=None)
    args = ap.parse_args(argv)
    tmp2 = args.tmp2_dir or args.tmp_dir
    final = args.final_dir or args.tmp_dir
    if args.pool_public_key and args.pool_contract_address:
        raise SystemExit("plotfleet-chiapos: -p and -c are mutually exclusive")
    farmer = _key(args.farmer_public_key, "-f") if args.farmer_public_key else None
    if args.pool_contract_address:
        pool = _contract_hash(args.pool_contract_address)
    elif args.pool_public_key:
        pool = _key(args.pool_public_key, "-p")
    else:
        pool = None
    from chiapos import DiskPlotter   # imported late: a bad flag fails without chiapos installed
    for d in (args.tmp_dir, tmp2, final):
        if not os.path.isdir(d):
            os.makedirs(d)
    failures = 0
    for i in range(args.num):
        if args.num > 1:
            print("Starting plot %d/%d" % (i + 1, args.num))
        plot_id = os.urandom(32)
        if farmer is not None and pool is not None:
            memo = pool + farmer + os.urandom(32)
        else:
            memo = os.urandom(128 if pool is None or len(pool) == 48 else 112)
        name = "plot-k%d-%s-%s.plot" % (args.size, time.strftime("%Y-%m-%d-%H-%M"), binascii.hexlify(plot_id).decode())
        sys.stdout.flush()
        try:
            ok = DiskPlotter().create_plot_disk(args.tmp_dir, tmp2, final, name, args.size, memo, plot_id,
                                                args.buffer, args.buckets, args.stripe, args.num_threads,
                                                args.nobitfield)
        except Exception as exc:  # chiapos has already printed `Caught plotting error: ...`
            print("plotfleet-chiapos: plot %d/%d failed: %s" % (i + 1, args.num, exc))
            ok = False
        sys.stdout.flush()
        if ok is False:
            failures += 1
            break
    return 1 if failures else 0


if __name__ == "__main__":
    # unbuffered, line by line: the log must show progress while the plot runs
    sys.stdout = os.fdopen(sys.stdout.fileno(), "w", 1)
    sys.exit(main())
'''


def driver_name():
    digest = hashlib.sha256(DRIVER_SOURCE.encode("utf-8")).hexdigest()[:12]
    return "%s%s.py" % (DRIVER_PREFIX, digest)


def install_driver(state_dir, source=None):
    """Write the driver into <state_dir>/bin (once per content) and return its absolute path."""
    source = DRIVER_SOURCE if source is None else source
    bin_dir = os.path.join(os.path.abspath(state_dir), "bin")
    if not os.path.isdir(bin_dir):
        os.makedirs(bin_dir, 0o755)
    path = os.path.join(bin_dir, driver_name() if source is DRIVER_SOURCE else "%s%s.py" % (
        DRIVER_PREFIX, hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]))
    try:
        with open(path, "r") as handle:
            if handle.read() == source:
                return path
    except (IOError, OSError):
        pass
    fd, tmp = tempfile.mkstemp(prefix=".plotfleet-chiapos.", suffix=".tmp", dir=bin_dir)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(source)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o755)
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
