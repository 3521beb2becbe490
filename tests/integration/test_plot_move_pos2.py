"""PoS2 `.plot2` plots move like `.plot` plots (issue 12, the mover): a real chia_rs k18 `.plot2`
(plotfleet's pos2 driver) is found, verified by its `PoS2` header and moved to another local
filesystem and over rsync + a real loopback sshd, the source deleted only after the copy checks out."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plotmove_lib as lib  # noqa: E402
from plotmove_lib import PLOTTER_PYTHON, run_module  # noqa: E402

from ansible_collections.plotfleet.chia.plugins.module_utils import launch, plotfile, pos2_driver  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / ("plotfleet-test-plots-%d" % os.getuid()) / "pos2-k18"


def cached_plot2():
    """One real k18 .plot2 made once with the pos2 driver (chia_rs), then reused."""
    CACHE.mkdir(parents=True, exist_ok=True)
    found = sorted(CACHE.glob("plot-k18-*.plot2"))
    if not found:
        work = Path(tempfile.mkdtemp(prefix="mk-", dir=str(CACHE)))
        argv = launch.build_argv({"kind": "pos2", "k": 18, "strength": 2}, PLOTTER_PYTHON, str(work), str(work),
                                 str(work), driver=pos2_driver.install_driver(str(work / "state")))
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              timeout=300)
        made = sorted(work.glob("plot-k18-*.plot2"))
        if proc.returncode != 0 or not made:
            pytest.skip("no PoS2 plotter here (chia_rs): %s" % proc.stdout[-500:])
        os.rename(str(made[0]), str(CACHE / made[0].name))
        shutil.rmtree(str(work))
        found = sorted(CACHE.glob("plot-k18-*.plot2"))
    return found[0]


@pytest.fixture
def plot2(tmp_path):
    for name in ("src", "logs"):
        (tmp_path / name).mkdir()
    cached = cached_plot2()
    header = plotfile.read_header(str(cached))
    assert header["format"] == "pos2" and header["k"] == 18 and header["complete"]
    assert plotfile.parse_plot_name(cached.name, v2=True)["plot_id"] == header["plot_id"]
    source = tmp_path / "src" / cached.name
    shutil.copyfile(str(cached), str(source))
    return source, cached.read_bytes()


def check_moved(tmp, where, source, data):
    (rec,) = lib.wait_transfers_finished(tmp / "state", timeout=120)
    assert rec["state"] == "done", rec.get("reason")
    assert (where / source.name).read_bytes() == data and not source.exists()
    assert sorted(os.listdir(str(where))) == [source.name]  # no partial copy left


@pytest.mark.skipif(not lib.can_mount(), reason="needs root to mount a tmpfs")
def test_a_real_plot2_is_copied_to_another_filesystem(tmp_path, plot2):
    source, data = plot2
    with lib.tmpfs(tmp_path / "disk", "64m") as disk:
        rc, res = run_module("plot_move", lib.move_args(tmp_path, [{"path": str(disk)}]))
        assert rc == 0 and [s["plot"] for s in res["started"]] == [source.name], res.get("reasons")
        check_moved(tmp_path, disk, source, data)


@pytest.mark.skipif(not lib.Sshd.available(), reason="needs root, /usr/sbin/sshd and rsync")
def test_a_real_plot2_is_sent_over_rsync_to_a_storage_host(tmp_path, plot2):
    source, data = plot2
    storage = tmp_path / "storage"
    storage.mkdir()
    with lib.Sshd(tmp_path / "sshd") as sshd:
        args = lib.move_args(tmp_path, [sshd.destination(storage)], ssh_options=sshd.ssh_options)
        rc, res = run_module("plot_move", args)
        assert rc == 0 and [s["method"] for s in res["started"]] == ["rsync"], res.get("reasons")
        check_moved(tmp_path, storage, source, data)
    # the storage host's slot was taken in this sshd's own state dir, not in root's ~/.plotfleet
    assert (sshd.dir / "storage-state" / "storage-slots.json").exists()
