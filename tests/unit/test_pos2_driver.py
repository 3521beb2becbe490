"""The pos2 driver makes real PoS2 plots with chia_rs: id and memo as chia does, tmp then rename, -n N."""

import hashlib
import os
import re
import subprocess
import sys

import chia_rs as rs  # requirements-test.txt
import pytest

import plotfleet_testlib  # noqa: F401  (puts collections/ on sys.path)
from ansible_collections.plotfleet.chia.plugins.module_utils import pos2_driver


def _bech32_like(puzzle_hash):
    """An xch1 address carrying puzzle_hash (the driver reads the data part, not the checksum)."""
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    bits = "".join("{:08b}".format(b) for b in puzzle_hash) + "0000"
    return "xch1" + "".join(charset[int(bits[i:i + 5], 2)] for i in range(0, len(bits), 5)) + "qqqqqq"


def _chia_plot_id(memo, strength, pool_pk, contract):
    """The plot id chia-blockchain 2.7.5 computes from the memo's keys (create_v2_plots)."""
    farmer = rs.G1Element.from_bytes(memo[-80:-32])
    sk = rs.PrivateKey.from_bytes(memo[-32:])
    for index in (12381, 8444, 3, 0):   # master_sk_to_local_sk
        sk = rs.AugSchemeMPL.derive_child_sk(sk, index)
    local = sk.get_g1()
    plot_pk = local + farmer
    if contract is not None:  # generate_plot_public_key(..., include_taproot=True)
        taproot = rs.AugSchemeMPL.key_gen(hashlib.sha256(bytes(local + farmer) + bytes(local) + bytes(farmer)).digest())
        plot_pk = plot_pk + taproot.get_g1()
    from chia_rs.sized_bytes import bytes32
    return bytes(rs.compute_plot_id_v2(strength, plot_pk, pool_pk, bytes32(contract) if contract else None,
                                       0, 0)).hex()


def run_driver(tmp_path, *args):
    driver = pos2_driver.install_driver(str(tmp_path / "state"))
    proc = subprocess.run([sys.executable, driver] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300)
    return proc.returncode, proc.stdout


def test_install_is_content_addressed_and_idempotent(tmp_path):
    first = pos2_driver.install_driver(str(tmp_path))
    assert os.path.basename(first) == pos2_driver.driver_name()
    assert os.access(first, os.X_OK) and open(first).read() == pos2_driver.DRIVER_SOURCE
    assert pos2_driver.install_driver(str(tmp_path)) == first
    other = pos2_driver.install_driver(str(tmp_path), source="# another\n")
    assert other != first and os.path.exists(first)


def test_pool_key_plot_copied_to_dst_with_the_chia_id_and_memo(tmp_path):
    farmer = rs.AugSchemeMPL.key_gen(b"f" * 32).get_g1()
    pool = rs.AugSchemeMPL.key_gen(b"p" * 32).get_g1()
    tmp, dst = tmp_path / "t", tmp_path / "d"
    rc, log = run_driver(tmp_path, "-k", "18", "-n", "2", "-t", str(tmp), "-d", str(dst),
                         "-f", bytes(farmer).hex(), "-p", "0x" + bytes(pool).hex())
    assert rc == 0, log
    assert os.listdir(str(tmp)) == []
    names = sorted(os.listdir(str(dst)))
    assert len(names) == 2 and all(re.match(r"^plot-k18-[0-9a-f]{64}\.plot2$", n) for n in names), names
    for name in names:
        path = str(dst / name)
        plot_id = name[len("plot-k18-"):-len(".plot2")]
        with open(path, "rb") as handle:
            assert handle.read(4) == b"PoS2"
        prover = rs.Prover(path)
        memo = bytes(prover.get_memo())
        assert (prover.size(), prover.get_strength()) == (18, 2)
        assert bytes(prover.plot_id_for_index(0)).hex() == plot_id
        assert memo[:48] == bytes(pool) and memo[48:96] == bytes(farmer) and len(memo) == 128
        assert _chia_plot_id(memo, 2, pool, None) == plot_id
        assert memo[-32:].hex() not in log and memo.hex() not in log   # the secret never reaches the log
        assert "ID: %s" % plot_id in log and '"%s"' % path in log


def test_contract_plot_renamed_in_place_with_the_taproot_id(tmp_path):
    farmer = rs.AugSchemeMPL.key_gen(b"g" * 32).get_g1()
    contract = hashlib.sha256(b"contract").digest()
    rc, log = run_driver(tmp_path, "-k", "18", "-s", "3", "-t", str(tmp_path / "t"), "-f", bytes(farmer).hex(),
                         "-c", _bech32_like(contract))
    assert rc == 0, log
    name, = os.listdir(str(tmp_path / "t"))
    prover = rs.Prover(str(tmp_path / "t" / name))
    memo = bytes(prover.get_memo())
    assert memo[:32] == contract and prover.get_strength() == 3
    assert name == "plot-k18-%s.plot2" % _chia_plot_id(memo, 3, None, contract)
    assert "Copying" not in log and ".plot2.tmp\" to \"" in log


def test_failure_is_logged_and_leaves_no_temp_file(tmp_path):
    rc, log = run_driver(tmp_path, "-k", "17", "-n", "2", "-t", str(tmp_path / "t"), "-d", str(tmp_path / "d"))
    assert rc == 1
    assert re.search(r"^plotfleet-pos2: plot 1/2 failed: .+$", log, re.M), log
    assert "Starting plot 2/2" not in log
    assert os.listdir(str(tmp_path / "t")) == [] and os.listdir(str(tmp_path / "d")) == []


@pytest.mark.parametrize("args, message", [
    (["-f", "ab" * 48], "-f needs -p or -c"),
    (["-f", "zz" * 48, "-p", "ab" * 48], "-f is not hex"),
    (["-f", "ab" * 47, "-p", "ab" * 48], "-f must be 48 bytes"),
    (["-f", "ab" * 48, "-p", "ab" * 48, "-c", "xch1qqqq"], "mutually exclusive"),
])
def test_bad_keys_fail_before_plotting(tmp_path, args, message):
    rc, log = run_driver(tmp_path, "-k", "18", "-t", str(tmp_path / "t"), *args)
    assert rc != 0 and message in log and "Starting plot" not in log
    assert not (tmp_path / "t").exists()
