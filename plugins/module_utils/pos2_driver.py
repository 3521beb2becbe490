# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `pos2` plotter kind: a small standalone script that makes PoS2 (`.plot2`) plots with PyPI chia_rs.

install_driver(state_dir) writes DRIVER_SOURCE to <state_dir>/bin/plotfleet-pos2-<hash>.py
(content-addressed, atomic, like chiapos_driver) and returns its path; launch.py runs it as
`[python, path, -k K, -n N, -s STRENGTH, -t TMP, -d DST, -f FARMER_PK, -p POOL_PK | -c CONTRACT]`.
Its stdout is the log (format: logs/pos2.py). The driver never prints the memo (it holds the
plot's secret key).
"""

from __future__ import absolute_import, division, print_function

import contextlib
import hashlib
import os
import tempfile

__metaclass__ = type

DRIVER_PREFIX = "plotfleet-pos2-"

DRIVER_SOURCE = r'''#!/usr/bin/env python3
"""plotfleet pos2 driver: makes PoS2 (.plot2) plots with PyPI chia_rs; stdout is the plot log.

Keys and plot id as chia-blockchain 2.7.5 `create_v2_plots` does: a random master secret key sk,
plot public key = local pk (sk derived at 12381/8444/3/0) + farmer pk (+ taproot pk with a pool
contract), plot id = compute_plot_id_v2(strength, plot pk, pool pk, contract, index 0, meta group 0),
memo = pool pk or contract puzzle hash + farmer pk + sk, file `plot-k{k}-{plot id}.plot2`.
With no keys (tests, demos) the farmer and pool keys are random too: a plot no farmer can use.
The memo is secret: it is never printed.
Log lines: `plotfleet-pos2: ...` header, `Starting plot i/N at <ctime>`, `ID: <hex>`, `Plot name: <name>`,
`Writing <tmp file>`, `Plotted in S seconds`, `Copying <src> to <dst tmp>`, `Copied in S seconds`,
`Renamed final file from "<a>" to "<b>"`, `Plot i/N done in S seconds: <file>`,
`plotfleet-pos2: plot i/N failed: <error>`.
"""
import argparse
import binascii
import hashlib
import os
import shutil
import sys
import time


def _hex_bytes(text, name, size):
    text = text[2:] if text.lower().startswith("0x") else text
    try:
        raw = binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        raise SystemExit("plotfleet-pos2: %s is not hex" % name)
    if len(raw) != size:
        raise SystemExit("plotfleet-pos2: %s must be %d bytes, got %d" % (name, size, len(raw)))
    return raw


def _contract_hash(address):
    """Puzzle hash (32 bytes) of a bech32m xch1/txch1 address."""
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    hrp, _, data = address.lower().rpartition("1")
    try:
        values = [charset.index(c) for c in data][:-6]
    except ValueError:
        raise SystemExit("plotfleet-pos2: bad pool contract address")
    acc, bits, out = 0, 0, bytearray()
    for v in values:
        acc = (acc << 5) | v
        bits += 5
        while bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if len(out) != 32 or not hrp:
        raise SystemExit("plotfleet-pos2: bad pool contract address")
    return bytes(out)


def _version(package):
    try:
        from importlib.metadata import version
        return version(package)
    except Exception:  # metadata missing: the log just says so
        return "unknown"


def _local_sk(rs, sk):
    for index in (12381, 8444, 3, 0):
        sk = rs.AugSchemeMPL.derive_child_sk(sk, index)
    return sk


def _plot_public_key(rs, local_pk, farmer_pk, include_taproot):
    if not include_taproot:
        return local_pk + farmer_pk
    message = bytes(local_pk + farmer_pk) + bytes(local_pk) + bytes(farmer_pk)
    taproot_sk = rs.AugSchemeMPL.key_gen(hashlib.sha256(message).digest())
    return local_pk + farmer_pk + taproot_sk.get_g1()


def _keys(rs, args):
    """(farmer pk, pool pk or None, contract puzzle hash or None); random keys when none are given."""
    if args.pool_public_key and args.pool_contract_address:
        raise SystemExit("plotfleet-pos2: -p and -c are mutually exclusive")
    given = (args.farmer_public_key, args.pool_public_key or args.pool_contract_address)
    if any(given) and not all(given):
        raise SystemExit("plotfleet-pos2: -f needs -p or -c (or give no keys for a throw-away plot)")
    if not any(given):
        farmer = rs.AugSchemeMPL.key_gen(os.urandom(32)).get_g1()
        pool = rs.AugSchemeMPL.key_gen(os.urandom(32)).get_g1()
        return farmer, pool, None
    farmer = rs.G1Element.from_bytes(_hex_bytes(args.farmer_public_key, "-f", 48))
    if args.pool_contract_address:
        return farmer, None, _contract_hash(args.pool_contract_address)
    return farmer, rs.G1Element.from_bytes(_hex_bytes(args.pool_public_key, "-p", 48)), None


def _new_plot(rs, k, strength, farmer, pool, contract):
    """(plot id hex, plot group id, memo) for a fresh random plot key."""
    sk = rs.AugSchemeMPL.key_gen(os.urandom(32))
    plot_pk = _plot_public_key(rs, _local_sk(rs, sk).get_g1(), farmer, contract is not None)
    from chia_rs.sized_bytes import bytes32
    puzzle = bytes32(contract) if contract is not None else None
    plot_id = rs.compute_plot_id_v2(strength, plot_pk, pool, puzzle, 0, 0)
    group_id = rs.compute_plot_group_id_v2(strength, plot_pk, pool, puzzle)
    memo = (bytes(pool) if pool is not None else contract) + bytes(farmer) + bytes(sk)
    return bytes(plot_id).hex(), group_id, memo


def _move_into(src, dst_dir, name):
    """src -> dst_dir/name by way of `name.tmp`, so a complete name is always a complete plot."""
    final = os.path.join(dst_dir, name)
    if os.path.dirname(os.path.abspath(src)) != os.path.abspath(dst_dir):
        tmp = final + ".tmp"
        print("Copying %s to %s" % (src, tmp))
        began = time.time()
        shutil.copyfile(src, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        print("Copied in %.2f seconds" % (time.time() - began))
        os.unlink(src)
        src = tmp
    os.rename(src, final)
    print('Renamed final file from "%s" to "%s"' % (src, final))
    return final


def _plot_one(rs, args, index, farmer, pool, contract):
    began = time.time()
    print("Starting plot %d/%d at %s" % (index, args.num, time.ctime(began)))
    plot_id, group_id, memo = _new_plot(rs, args.size, args.strength, farmer, pool, contract)
    name = "plot-k%d-%s.plot2" % (args.size, plot_id)
    print("ID: %s" % plot_id)
    print("Plot name: %s" % name)
    tmp_file = os.path.join(args.tmp_dir, name + ".tmp")
    print("Writing %s (k %d, strength %d)" % (tmp_file, args.size, args.strength))
    sys.stdout.flush()
    try:
        rs.create_v2_single_plot_group(tmp_file, args.size, args.strength, group_id, 0, 0, memo)
    except BaseException:
        if os.path.exists(tmp_file):
            os.unlink(tmp_file)   # our own half-written plot: never leave it behind
        raise
    print("Plotted in %.2f seconds" % (time.time() - began))
    final = _move_into(tmp_file, args.final_dir, name)
    print("Plot %d/%d done in %.2f seconds: %s" % (index, args.num, time.time() - began, final))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="plotfleet-pos2")
    ap.add_argument("-k", "--size", type=int, default=28)
    ap.add_argument("-n", "--num", type=int, default=1)
    ap.add_argument("-s", "--strength", type=int, default=2)
    ap.add_argument("-t", "--tmp_dir", default=".")
    ap.add_argument("-d", "--final_dir", default=None)
    ap.add_argument("-f", "--farmer_public_key", default=None)
    ap.add_argument("-p", "--pool_public_key", default=None)
    ap.add_argument("-c", "--pool_contract_address", default=None)
    args = ap.parse_args(argv)
    args.final_dir = args.final_dir or args.tmp_dir
    import chia_rs as rs   # imported late: a bad flag fails without chia_rs installed
    farmer, pool, contract = _keys(rs, args)
    for d in (args.tmp_dir, args.final_dir):
        if not os.path.isdir(d):
            os.makedirs(d)
    print("plotfleet-pos2: chia_rs %s, k %d, strength %d, %d plot(s), tmp %s, final %s"
          % (_version("chia_rs"), args.size, args.strength, args.num, args.tmp_dir, args.final_dir))
    for index in range(1, args.num + 1):
        try:
            _plot_one(rs, args, index, farmer, pool, contract)
        except Exception as exc:
            print("plotfleet-pos2: plot %d/%d failed: %s" % (index, args.num, exc))
            return 1
    return 0


if __name__ == "__main__":
    # unbuffered, line by line: the log must show progress while the plot runs
    sys.stdout = os.fdopen(sys.stdout.fileno(), "w", 1)
    sys.exit(main())
'''


def driver_name(source=DRIVER_SOURCE):
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]
    return "%s%s.py" % (DRIVER_PREFIX, digest)


def install_driver(state_dir, source=None):
    """Write the driver into <state_dir>/bin (once per content) and return its absolute path."""
    source = DRIVER_SOURCE if source is None else source
    bin_dir = os.path.join(os.path.abspath(state_dir), "bin")
    if not os.path.isdir(bin_dir):
        os.makedirs(bin_dir, 0o755)
    path = os.path.join(bin_dir, driver_name(source))
    try:
        with open(path, "r") as handle:
            if handle.read() == source:
                return path
    except (IOError, OSError):
        pass
    fd, tmp = tempfile.mkstemp(prefix=".plotfleet-pos2.", suffix=".tmp", dir=bin_dir)
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
