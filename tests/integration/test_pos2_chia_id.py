"""The pos2 driver names its plots as chia-blockchain itself does (issue 12: "computes the plot id the way
chia does"): for a plot the driver made, chia 2.7.5's own `create_v2_plots` (in .venv-chia), given the
same farmer key, pool key or pool contract, strength and the plot's secret key (from the memo), writes a
plot of the same name, i.e. the same plot id. The memo is compared, never printed."""

import json
import os
import subprocess

import chia_rs as rs
import pytest

import plotfleet_testlib  # noqa: F401  (puts collections/ on sys.path)
from ansible_collections.plotfleet.chia.plugins.module_utils import pos2_driver
from plotfleet_testlib import PLOTTER_PYTHON, REPO

CHIA_PYTHON = REPO / ".venv-chia" / "bin" / "python"
if not CHIA_PYTHON.exists():
    pytestmark = pytest.mark.skip(reason="no %s: run `make chia-venv`" % CHIA_PYTHON)

# Runs in chia-blockchain's venv: create_v2_plots with the given keys and secret key; prints the file names.
# The address of a contract is made with chia's own bech32m encoder, so chia decodes it as it would a real one.
CHIA_SIDE = r"""
import asyncio, json, sys
from pathlib import Path
from chia_rs import G1Element, PrivateKey
from chia_rs.sized_bytes import bytes32
from chia.plotting.create_plots import PlotKeys, create_v2_plots
from chia.util.bech32m import encode_puzzle_hash
spec = json.loads(sys.stdin.read())
if spec["command"] == "address":
    print(encode_puzzle_hash(bytes32.fromhex(spec["puzzle_hash"]), "xch"))
    sys.exit(0)
farmer = G1Element.from_bytes(bytes.fromhex(spec["farmer"]))
pool = G1Element.from_bytes(bytes.fromhex(spec["pool"])) if spec.get("pool") else None
keys = PlotKeys(farmer, pool, spec.get("contract"))
sk = PrivateKey.from_bytes(bytes.fromhex(spec["sk"]))
created, _ = asyncio.run(create_v2_plots(Path(spec["dir"]), keys, size=spec["k"], strength=spec["strength"],
                                         num=1, test_private_keys=[sk]))
print(json.dumps(sorted(p.name for p in created.values())))
"""


def chia(spec):
    proc = subprocess.run([str(CHIA_PYTHON), "-c", CHIA_SIDE], input=json.dumps(spec), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


def driver_plot(tmp_path, *keys):
    driver = pos2_driver.install_driver(str(tmp_path / "state"))
    out = tmp_path / "driver"
    proc = subprocess.run([PLOTTER_PYTHON, driver, "-k", "18", "-s", "3", "-t", str(out)] + list(keys),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stdout
    (plot,) = out.glob("plot-k18-*.plot2")
    return plot


def secret_key(plot):
    """The plot's secret key: the memo's last 32 bytes (pool part, farmer key, then sk)."""
    return rs.Prover(str(plot)).get_memo()[-32:]


def test_a_pool_key_plot_has_the_id_chia_gives_the_same_keys(tmp_path):
    farmer = rs.AugSchemeMPL.key_gen(os.urandom(32)).get_g1()
    pool = rs.AugSchemeMPL.key_gen(os.urandom(32)).get_g1()
    plot = driver_plot(tmp_path, "-f", bytes(farmer).hex(), "-p", bytes(pool).hex())
    memo = rs.Prover(str(plot)).get_memo()
    assert memo[:96] == bytes(pool) + bytes(farmer)
    chia_dir = tmp_path / "chia"
    chia_dir.mkdir()
    names = json.loads(chia({"command": "plot", "farmer": bytes(farmer).hex(), "pool": bytes(pool).hex(),
                             "sk": secret_key(plot).hex(), "k": 18, "strength": 3, "dir": str(chia_dir)}))
    assert names == [plot.name]


def test_a_pool_contract_plot_has_the_id_chia_gives_the_same_keys(tmp_path):
    farmer = rs.AugSchemeMPL.key_gen(os.urandom(32)).get_g1()
    puzzle_hash = os.urandom(32)
    address = chia({"command": "address", "puzzle_hash": puzzle_hash.hex()})
    assert address.startswith("xch1")
    plot = driver_plot(tmp_path, "-f", bytes(farmer).hex(), "-c", address)
    memo = rs.Prover(str(plot)).get_memo()
    assert memo[:80] == puzzle_hash + bytes(farmer)   # contract plots carry the puzzle hash (taproot id)
    chia_dir = tmp_path / "chia"
    chia_dir.mkdir()
    names = json.loads(chia({"command": "plot", "farmer": bytes(farmer).hex(), "contract": address,
                             "sk": secret_key(plot).hex(), "k": 18, "strength": 3, "dir": str(chia_dir)}))
    assert names == [plot.name]

