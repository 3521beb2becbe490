"""Real plots for the replot tests: v1 (.plot) from chiapos k18, OG pool key (128-byte memo) or plot NFT
(112-byte memo), and v2 (.plot2, PoS2) from chia_rs k18; each made once and kept in a cache."""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "integration"))
import plotmove_lib  # noqa: E402

from ansible_collections.plotfleet.chia.plugins.filter import fleet  # noqa: E402
from ansible_collections.plotfleet.chia.plugins.module_utils import replot  # noqa: E402
from plotfleet_testlib import PLOTTER_PYTHON  # noqa: E402

CACHE = plotmove_lib.PLOT_CACHE / "replot"
MAKE_V1 = r"""
import os, sys
from chiapos import DiskPlotter
out, memo_bytes = sys.argv[1], int(sys.argv[2])
plot_id = os.urandom(32)
name = "plot-k18-2025-01-01-00-00-%s.plot" % plot_id.hex()
DiskPlotter().create_plot_disk(out, out, out, name, 18, os.urandom(memo_bytes), plot_id, 300, 32, 2000, 2, False)
print(name)
"""
MAKE_V2 = r"""
import os, sys
import chia_rs
from chia_rs.sized_bytes import bytes32
out = sys.argv[1]
tmp = os.path.join(out, "group.plot2.tmp")
chia_rs.create_v2_single_plot_group(tmp, 18, 2, bytes32(os.urandom(32)), 0, 0, os.urandom(112))
name = "plot-k18-%s.plot2" % bytes(chia_rs.Prover(tmp).plot_id_for_index(0)).hex()
os.rename(tmp, os.path.join(out, name))
print(name)
"""


def _cached(kind, count, script, *args):
    directory = CACHE / kind
    directory.mkdir(parents=True, exist_ok=True)
    pattern = "plot-k18-*.plot2" if kind == "v2" else "plot-k18-*.plot"
    while len(list(directory.glob(pattern))) < count:
        work = Path(tempfile.mkdtemp(prefix="mk-", dir=str(directory)))
        proc = subprocess.run([PLOTTER_PYTHON, "-c", script, str(work)] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)
        name = proc.stdout.strip().splitlines()[-1]
        assert proc.returncode == 0 and (work / name).exists(), proc.stdout[-2000:]
        os.rename(str(work / name), str(directory / name))
        shutil.rmtree(str(work))
    return sorted(directory.glob(pattern))[:count]


def og_plots(count):
    """count distinct v1 k18 plots bound to an OG pool key (128-byte memo)."""
    return _cached("og", count, MAKE_V1, "128")


def nft_plots(count):
    """count distinct v1 k18 plots bound to a plot NFT contract (112-byte memo)."""
    return _cached("nft", count, MAKE_V1, "112")


def v2_plots(count):
    """count distinct PoS2 k18 .plot2 files (one plot each)."""
    return _cached("v2", count, MAKE_V2)


def place(directory, source, date=None):
    """Copy a cached plot into directory (a real copy: one hard link); date "YYYY-MM-DD-HH-MM" renames
    a v1 plot to that plot date. Returns the new path."""
    name = source.name
    if date is not None:
        name = "plot-k18-%s-%s" % (date, name.rsplit("-", 1)[1])
    target = Path(directory) / name
    shutil.copyfile(str(source), str(target))
    return target


def arrival(path):
    """What a sender tells the storage host about a plot verified at its source."""
    with open(str(path), "rb") as handle:
        head = handle.read(1024)
    return {"name": Path(path).name, "bytes": os.path.getsize(str(path)), "head": replot.arrival_head(head)}


def free_bytes(directory):
    st = os.statvfs(str(directory))
    return st.f_bavail * st.f_frsize


def shortfall(directory, size, min_free=0):
    """Bytes the dir lacks for a copy of size bytes, keeping min_free free (what the agent computes)."""
    return size + min_free - free_bytes(directory)


# ---------------------------------------------------------------- end to end over a loopback sshd

PAGE = 4096
OLD_DATES = ["2021-01-01-00-00", "2020-01-01-00-00", "2022-01-01-00-00"]


@contextlib.contextmanager
def full_disk_of_old_plots(tmp_path, count=3):
    """A tmpfs holding `count` real k18 OG plots (dates OLD_DATES) and 40 pages more: no room for one more."""
    sources = og_plots(count)
    total = sum(-(-p.stat().st_size // PAGE) for p in sources) + 1 + 40
    with plotmove_lib.tmpfs(tmp_path / "disk", size="%dk" % (total * PAGE // 1024)) as disk:
        for src, date in zip(sources, OLD_DATES):
            place(disk, src, date)
        yield disk


def storage_destinations(tmp_path, sshd, disk, config, min_free):
    """The storage host's plot_info with replot -> its offer -> a plotter's destinations (as the role)."""
    rc, state = plotmove_lib.run_module("plot_info", {
        "log_dir": str(tmp_path / "storage-logs"), "dst_dirs": [str(disk)],
        "state_dir": str(tmp_path / "storage-state"), "replot": config})
    assert rc == 0, state
    offer = fleet.storage_offer(state, [str(disk)], "127.0.0.1", "root", sshd.port, min_free_bytes=min_free,
                                replot=config)
    return fleet.move_destinations({"storage1": {"plotfleet_storage_offer": offer}}, ["storage1"], "p",
                                   str(sshd.client_key))


def plot_move(plotter_dir, dests, sshd):
    """One plot_move pass of the plotter whose dirs are under plotter_dir, one copy at a time."""
    args = plotmove_lib.move_args(plotter_dir, dests, ssh_options=sshd.ssh_options,
                                  max_transfers_per_destination=1, max_transfers_per_source=1)
    rc, res = plotmove_lib.run_module("plot_move", args)
    assert rc == 0, res
    return res
