"""plot_move never deletes a source because of a file that only looks like the plot: a file at the
destination with the plot's name, size and header but other bytes is a *conflict* (source kept,
nothing at the destination touched), for the local copy and for rsync over a real sshd."""

import hashlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import module_batch as batch  # noqa: E402
import plotmove_lib as lib  # noqa: E402
from plotmove_lib import run_module  # noqa: E402

needs_mount = pytest.mark.skipif(not lib.can_mount(), reason="needs root to mount a tmpfs")
needs_sshd = pytest.mark.skipif(not lib.Sshd.available(), reason="needs root, /usr/sbin/sshd and rsync")


def impostor(plot, where):
    """What 'the plot' looks like when another tool's copy was cut off after preallocation (zeros at the
    end) or got corrupted in the middle: right name, size and header, other bytes."""
    data = bytearray(plot.read_bytes())
    at = len(data) - 4096 if where == "tail" else len(data) // 2  # a real plot ends in zeros: flip bits
    data[at:at + 512] = bytes(b ^ 0xFF for b in data[at:at + 512])
    return bytes(data)


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def two_passes(tmp_path, args, final):
    """One playbook: a pass, the wait for its transfer, the destination dir's listing, the next pass."""
    return batch.run_steps([batch.call("plot_move", args), batch.wait_transfers(tmp_path / "state"),
                            batch.listdir(final.parent), batch.call("plot_move", args)])


def assert_conflict_kept_both(plot, original, final, fake, rec, listing):
    assert rec["state"] == "failed" and rec["failure"] == "conflict", rec
    assert plot.read_bytes() == original, "the source is kept"
    assert final.read_bytes() == fake, "nothing at the destination is overwritten"
    assert listing == [final.name], "no partial copy left beside it"
    assert sorted(os.listdir(str(final.parent))) == [final.name]
    assert rec["conflict"]["source"] == str(plot)
    assert rec["conflict"]["destination"].endswith(str(final))
    return rec


@needs_mount
@pytest.mark.parametrize("where", ["tail", "middle"])
def test_local_destination_with_other_bytes_is_a_conflict(tmp_path, where):
    (tmp_path / "src").mkdir()
    (plot,) = lib.place_plots(tmp_path / "src", 1)
    original = plot.read_bytes()
    with lib.tmpfs(tmp_path / "disk", "64m") as disk:
        final = disk / plot.name
        fake = impostor(plot, where)
        final.write_bytes(fake)
        args = lib.move_args(tmp_path, [{"path": str(disk)}])
        (rc, res), (rec,), listing, (rc2, res2) = two_passes(tmp_path, args, final)
        assert rc == 0 and len(res["started"]) == 1, res
        rec = assert_conflict_kept_both(plot, original, final, fake, rec, listing)
        # The next pass shows the conflict with both paths and does not try again on its own.
        rc, res = rc2, res2
        assert res["started"] == [], res
        (view,) = res["transfers"]
        assert view["failure"] == "conflict" and view["conflict"] == rec["conflict"]
        reason = "\n".join(res["reasons"])
        assert "conflict" in reason and str(final) in reason and str(plot) in reason
        assert plot.exists() and final.read_bytes() == fake


@needs_mount
def test_local_destination_holding_the_very_plot_is_recognised(tmp_path):
    """The byte-identical plot already at the destination (a crash after the rename): the source goes."""
    (tmp_path / "src").mkdir()
    (plot,) = lib.place_plots(tmp_path / "src", 1)
    original = plot.read_bytes()
    with lib.tmpfs(tmp_path / "disk", "64m") as disk:
        (disk / plot.name).write_bytes(original)
        rc, res = run_module("plot_move", lib.move_args(tmp_path, [{"path": str(disk)}]))
        (rec,) = lib.wait_transfers_finished(tmp_path / "state")
        assert rec["state"] == "done" and rec.get("failure") is None, rec
        assert not plot.exists() and (disk / plot.name).read_bytes() == original
        assert "already holds this plot (verified" in Path(rec["log"]).read_text()


@needs_sshd
@pytest.mark.parametrize("where", ["tail", "middle"])
def test_remote_destination_with_other_bytes_is_a_conflict(tmp_path, where):
    (tmp_path / "src").mkdir()
    storage = tmp_path / "storage host" / "plots"
    storage.mkdir(parents=True)
    (plot,) = lib.place_plots(tmp_path / "src", 1)
    original = plot.read_bytes()
    final = storage / plot.name
    fake = impostor(plot, where)
    final.write_bytes(fake)
    with lib.Sshd(tmp_path / "sshd") as sshd:
        args = lib.move_args(tmp_path, [sshd.destination(storage, free_bytes=10 ** 12)], ssh_options=sshd.ssh_options)
        (rc, res), (rec,), listing, (rc2, res2) = two_passes(tmp_path, args, final)
        assert rc == 0 and len(res["started"]) == 1, res
        rec = assert_conflict_kept_both(plot, original, final, fake, rec, listing)
        assert rec["conflict"]["host"] == "127.0.0.1"
        rc, res = rc2, res2
        assert res["started"] == [] and "conflict" in "\n".join(res["reasons"]), res
        assert res["transfers"][0]["conflict"]["destination"] == "127.0.0.1:%s" % final


@needs_sshd
def test_remote_destination_holding_the_very_plot_is_recognised(tmp_path):
    (tmp_path / "src").mkdir()
    storage = tmp_path / "storage"
    storage.mkdir()
    (plot,) = lib.place_plots(tmp_path / "src", 1)
    original = plot.read_bytes()
    (storage / plot.name).write_bytes(original)
    with lib.Sshd(tmp_path / "sshd") as sshd:
        args = lib.move_args(tmp_path, [sshd.destination(storage, free_bytes=10 ** 12)], ssh_options=sshd.ssh_options)
        run_module("plot_move", args)
        (rec,) = lib.wait_transfers_finished(tmp_path / "state")
    assert rec["state"] == "done", rec
    assert not plot.exists() and (storage / plot.name).read_bytes() == original
    assert "already holds this plot (verified" in Path(rec["log"]).read_text()
