"""plot_move to a remote destination: rsync over a real sshd on loopback (own config, host key,
authorized keys, key-only root login), destination path with spaces, verified at the far end."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import module_batch as batch  # noqa: E402
import plotmove_lib as lib  # noqa: E402
from plotmove_lib import run_module  # noqa: E402

from ansible_collections.plotfleet.chia.plugins.module_utils import cpu, plotfile, transfer_worker  # noqa: E402

pytestmark = pytest.mark.skipif(not lib.Sshd.available(), reason="needs root, /usr/sbin/sshd and rsync")


@pytest.fixture
def sshd(tmp_path):
    with lib.Sshd(tmp_path / "sshd") as server:
        yield server


def test_rsync_over_ssh_to_real_sshd(tmp_path, sshd):
    (tmp_path / "src").mkdir()
    storage = tmp_path / "storage host" / "my plots"
    storage.mkdir(parents=True)
    plots = lib.place_plots(tmp_path / "src", 2)
    want = dict((p.name, p.read_bytes()) for p in lib.cached_plots(2))
    args = lib.move_args(tmp_path, [sshd.destination(storage, free_bytes=10 ** 12)], ssh_options=sshd.ssh_options,
                         max_transfers_per_source=2, max_transfers_per_destination=2)

    # One playbook: check mode, the pass, the wait for both copies, then two more passes.
    (rc, res), (rc2, res2), recs, third, fourth = batch.run_steps([
        batch.call("plot_move", args, check=True), batch.call("plot_move", args),
        batch.wait_transfers(tmp_path / "state"), batch.call("plot_move", args), batch.call("plot_move", args)])
    assert rc == 0 and res["changed"] and {w["method"] for w in res["would_move"]} == {"rsync"}
    rc, res = rc2, res2
    assert rc == 0 and sorted(s["plot"] for s in res["started"]) == sorted(p.name for p in plots)
    assert all(s["host"] == "127.0.0.1" for s in res["started"])
    assert [r["state"] for r in recs] == ["done", "done"], [r.get("reason") for r in recs]

    # Verified at the destination through the same sshd, byte for byte; no temp files left there.
    listing = subprocess.run(sshd.ssh_argv() + ["127.0.0.1", "ls -A %s" % _q(storage)], stdout=subprocess.PIPE,
                             universal_newlines=True, check=True).stdout.split()
    assert sorted(listing) == sorted(p.name for p in plots)
    for plot in plots:
        assert (storage / plot.name).read_bytes() == want[plot.name] and not plot.exists()
    log = Path(recs[0]["log"]).read_text()
    assert "--partial-dir=.plotfleet-rsync" in log and "verified and renamed" in log

    rc, res = third
    assert res["changed"] is True and len(res["completed"]) == 2
    assert {t["bytes_done"] for t in res["transfers"]} == {os.path.getsize(str(storage / p.name)) for p in plots}
    rc, res = fourth
    assert res["changed"] is False


def test_remote_not_a_mount_point_is_ruled_out_before_choosing(tmp_path, sshd):
    """The storage host's plot_info said the dir is no mount point: check mode and the real pass both
    say 'not a mount point' and start nothing (no rsync into the disk below an unmounted one)."""
    (tmp_path / "src").mkdir()
    storage = tmp_path / "storage"
    storage.mkdir()
    (plot,) = lib.place_plots(tmp_path / "src", 1)
    dest = sshd.destination(storage, must_be_mount=True, mounted=False, free_bytes=10 ** 12)
    args = lib.move_args(tmp_path, [dest], ssh_options=sshd.ssh_options)
    for rc, res in batch.run_steps([batch.call("plot_move", args, check=check) for check in (True, False)]):
        assert rc == 0 and res["would_move"] == [] and res["started"] == [], res
        assert res["reasons"] == ["%s: not moved: 127.0.0.1:%s not a mount point" % (plot, storage)]
    assert lib.transfer_records(tmp_path / "state") == [] and plot.exists()


def test_remote_not_a_mount_point_fails_and_is_held(tmp_path, sshd):
    """Mount state unknown to the controller: the worker checks at the far end, fails as 'unmounted',
    and the dir is held with that reason; 'retry now' (retry_after_s 0) releases the hold."""
    (tmp_path / "src").mkdir()
    storage = tmp_path / "storage"
    storage.mkdir()
    (plot,) = lib.place_plots(tmp_path / "src", 1)
    args = lib.move_args(tmp_path, [sshd.destination(storage, must_be_mount=True)], ssh_options=sshd.ssh_options)
    state = tmp_path / "state"
    # One playbook: the pass, its failure, the pass that holds the dir, the retry and its failure.
    (rc, res), (rec,), left, held, (rc3, retried), (again,) = batch.run_steps([
        batch.call("plot_move", args), batch.wait_transfers(state), batch.listdir(storage),
        batch.call("plot_move", args), batch.call("plot_move", dict(args, retry_after_s=0)),
        batch.wait_transfers(state)])
    assert len(res["started"]) == 1  # the worker checks the mount point at the far end
    assert rec["state"] == "failed" and "not a mount point" in rec["reason"] and rec["failure"] == "unmounted"
    assert left == []
    rc, res = held
    assert res["changed"] is False and res["started"] == []
    assert "not a mount point (found 0 min ago)" in "\n".join(res["reasons"]), res["reasons"]
    assert "marked full" not in "\n".join(res["reasons"])
    assert res["transfers"][0]["state"] == "failed" and res["transfers"][0]["failure"] == "unmounted"
    assert len(retried["started"]) == 1, retried["reasons"]
    assert again["attempt"] == 2 and again["failure"] == "unmounted"
    assert plot.exists() and os.listdir(str(storage)) == []  # after the second attempt too


def test_partial_copy_at_an_abandoned_remote_destination_is_removed(tmp_path, sshd):
    """A transfer to storage dir A dies with the plotter's worker (its whole process group SIGKILLed)
    half-way; the controller then sees A full, so the plot goes to B; once it is verified at B, the
    worker removes the partial copy it left at A, over ssh."""
    (tmp_path / "src").mkdir()
    dir_a, dir_b = tmp_path / "storage a", tmp_path / "storage b"
    dir_a.mkdir()
    dir_b.mkdir()
    (plot,) = lib.place_plots(tmp_path / "src", 1)
    args = lib.move_args(tmp_path, [sshd.destination(dir_a, free_bytes=10 ** 12)], ssh_options=sshd.ssh_options,
                         bwlimit_kbps=500)
    rc, res = run_module("plot_move", args)
    (started,) = res["started"]
    assert lib.wait_for(lambda: sum(f.stat().st_size for f in files_under(dir_a)) > 500000, timeout=30)
    os.killpg(started["pid"], signal.SIGKILL)
    assert lib.wait_for(lambda: not os.path.exists("/proc/%d" % started["pid"]), timeout=10)
    assert files_under(dir_a), "the killed copy left a partial file at A"

    full_a = dict(args, bwlimit_kbps=None, destinations=[sshd.destination(dir_a, free_bytes=0),
                                                         sshd.destination(dir_b, free_bytes=10 ** 12)])
    rc, res = run_module("plot_move", full_a)
    assert [s["destination"] for s in res["started"]] == [str(dir_b)], res
    (rec,) = lib.wait_transfers_finished(tmp_path / "state")
    assert rec["state"] == "done" and rec["attempt"] == 2, rec.get("reason")
    assert [(p["destination"], p["host"]) for p in rec["abandoned"]] == [(str(dir_a), "127.0.0.1")]
    assert (dir_b / plot.name).exists() and not plot.exists()
    assert files_under(dir_a) == [], "the partial copy at A was removed"
    assert "removed any partial copy at 127.0.0.1:%s" % dir_a in Path(rec["log"]).read_text()


@pytest.mark.skipif(not lib.can_mount(), reason="needs root to mount a tmpfs")
def test_resumable_copy_is_dropped_when_a_new_copy_would_not_fit_beside_it(tmp_path, sshd):
    """rsync resumes by writing a whole new copy beside its old partial one. In a 6 MB dir holding a
    3 MB partial copy of this plot (3.9 MB), there is no room for both: the worker removes the old
    partial copy first, and the plot arrives instead of failing for lack of space every time."""
    (tmp_path / "src").mkdir()
    (plot,) = lib.place_plots(tmp_path / "src", 1)
    with lib.tmpfs(tmp_path / "small", "6m") as small:
        resumable = small / plotfile.RSYNC_PARTIAL_DIR / plotfile.partial_name(plot.name)
        resumable.parent.mkdir()
        resumable.write_bytes(plot.read_bytes()[:3 * 1024 * 1024])
        args = lib.move_args(tmp_path, [sshd.destination(small, free_bytes=10 ** 12)], ssh_options=sshd.ssh_options)
        rc, res = run_module("plot_move", args)
        assert len(res["started"]) == 1, res
        (rec,) = lib.wait_transfers_finished(tmp_path / "state")
        assert rec["state"] == "done", rec.get("reason")
        assert "removing the partial copy" in Path(rec["log"]).read_text()
        assert [f.name for f in files_under(small)] == [plot.name] and not plot.exists()


def test_discard_removes_only_this_plots_partial_copies(tmp_path, sshd):
    """The far end's `discard` removes this plot's partial copy, rsync's resumable copy and the temp
    file a killed rsync leaves (.<partial>.XXXXXX); another plot's copies and other names stay."""
    storage = tmp_path / "storage"
    (storage / plotfile.RSYNC_PARTIAL_DIR).mkdir(parents=True)
    ours, other = plotfile.partial_name(plot_name("aa")), plotfile.partial_name(plot_name("bb"))
    removed = [ours, ours + ".Xy12Ab", plotfile.RSYNC_PARTIAL_DIR + "/" + ours]
    kept = [other, other + ".Xy12Ab", plotfile.RSYNC_PARTIAL_DIR + "/" + other, ours + ".longer-suffix",
            ours + ".tmp", plot_name("aa")]
    for name in removed + kept:
        (storage / name).write_bytes(b"x")
    rec = dict(sshd.destination(storage), destination=str(storage), plot_name=plot_name("aa"),
               ssh_options=sshd.ssh_options)
    assert transfer_worker.remote(rec, "discard", plotfile.RSYNC_PARTIAL_DIR) == {"ok": True}
    left = sorted(str(f.relative_to(storage)) for f in files_under(storage))
    assert left == sorted(kept)


def plot_name(byte_hex):
    return "plot-k18-2025-01-01-00-00-%s.plot" % (byte_hex * 32)


def files_under(path):
    return [Path(root, name) for root, _dirs, names in os.walk(str(path)) for name in names]


@pytest.mark.skipif(not cpu.has_aes(), reason="this CPU has no AES instructions")
@pytest.mark.parametrize("storage_aes, cipher", [(True, "aes128-gcm@openssh.com"),
                                                 (False, "chacha20-poly1305@openssh.com")])
def test_cipher_follows_aes_on_both_ends(tmp_path, storage_aes, cipher):
    """ssh_ciphers auto: AES-GCM when the storage host has AES too, else ssh's default (chacha20);
    the cipher is read from the storage sshd's own log of the transfer's connection."""
    (tmp_path / "src").mkdir()
    storage = tmp_path / "storage"
    storage.mkdir()
    (plot,) = lib.place_plots(tmp_path / "src", 1)
    with lib.Sshd(tmp_path / "sshd", log_level="DEBUG1") as server:
        dest = server.destination(storage, free_bytes=10 ** 12, cpu_aes=storage_aes)
        rc, res = run_module("plot_move", lib.move_args(tmp_path, [dest], ssh_options=server.ssh_options))
        assert rc == 0 and len(res["started"]) == 1, res
        (rec,) = lib.wait_transfers_finished(tmp_path / "state")
    assert rec["state"] == "done", rec.get("reason")
    assert (storage / plot.name).exists() and not plot.exists()
    negotiated = set(re.findall(r"kex: client->server cipher: (\S+)", (tmp_path / "sshd" / "sshd.log").read_text()))
    assert negotiated == {cipher}


def _q(path):
    import shlex
    return shlex.quote(str(path))


QUIET_RSYNC = """#!/bin/sh
# rsync whose messages never arrive (as when the far end's receiver dies before its error reaches us)
exec rsync "$@" >/dev/null 2>&1
"""


@pytest.mark.skipif(not lib.can_mount(), reason="needs root to mount a tmpfs")
@pytest.mark.parametrize("quiet", [False, True], ids=["rsync-says-why", "rsync-message-lost"])
def test_a_dir_filled_under_a_running_copy_leaves_no_partial(tmp_path, sshd, quiet):
    """Something else fills the 6 MB storage dir while a plot (3.9 MB) is copied into it: rsync runs out
    of space. With or without rsync's message, the failure is taken for 'destination full' (the far end
    is asked again), the partial copy is removed, the source is kept and the dir is held."""
    (tmp_path / "src").mkdir()
    (plot,) = lib.place_plots(tmp_path / "src", 1)
    extra = {}
    if quiet:
        wrapper = tmp_path / "quiet-rsync"
        wrapper.write_text(QUIET_RSYNC)
        wrapper.chmod(0o755)
        extra["rsync_path"] = str(wrapper)
    with lib.tmpfs(tmp_path / "small", "6m") as small:
        args = lib.move_args(tmp_path, [sshd.destination(small, free_bytes=10 ** 12)], ssh_options=sshd.ssh_options,
                             bwlimit_kbps=500, **extra)
        rc, res = run_module("plot_move", args)
        assert len(res["started"]) == 1, res
        assert lib.wait_for(lambda: sum(f.stat().st_size for f in files_under(small)) > 200000, timeout=30)
        filler = small / "someone-elses-file"
        with open(str(filler), "wb") as handle:  # all the room that is left
            try:
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            except OSError:
                pass
        (rec,) = lib.wait_transfers_finished(tmp_path / "state")
        assert rec["state"] == "failed" and rec["failure"] == "full", rec.get("reason")
        assert rec["reason"].startswith("destination full"), rec["reason"]
        assert [f.name for f in files_under(small)] == [filler.name], "no partial left"
        assert plot.exists()
        rc, res = run_module("plot_move", args)
        assert res["started"] == [] and "marked full" in "\n".join(res["reasons"]), res["reasons"]


@pytest.mark.skipif(not lib.can_mount(), reason="needs root to mount a tmpfs")
def test_two_copies_racing_into_a_small_remote_dir_one_is_refused_by_the_storage_host(tmp_path, sshd):
    """Two plots (3.9 MB each) go at once to a 6 MB storage dir (cap 2): the storage host gives the first
    copy a slot and refuses the second (no room beside the running one) before its rsync starts, so no
    partial copy is ever written for it; one plot lands, the other waits at its source."""
    (tmp_path / "src").mkdir()
    plots = lib.place_plots(tmp_path / "src", 2)
    with lib.tmpfs(tmp_path / "small", "6m") as small:
        args = lib.move_args(tmp_path, [sshd.destination(small, free_bytes=10 ** 12)], ssh_options=sshd.ssh_options,
                             max_transfers_per_source=2, max_transfers_per_destination=2,
                             bwlimit_kbps=300)   # ~13 s a copy: the second asks while the first still runs
        rc, res = run_module("plot_move", args)
        assert len(res["started"]) == 2, res
        recs = lib.wait_transfers_finished(tmp_path / "state")
        assert sorted(r["state"] for r in recs) == ["done", "failed"], [r.get("reason") for r in recs]
        (refused,) = [r for r in recs if r["state"] == "failed"]
        log = Path(refused["log"]).read_text()
        # The storage host refused it while the first copy ran; the first worker, once done, took it as
        # its next plot (drain) and found the dir full: the room a 3.9 MB plot needs is not there.
        assert "no room for it beside the copies running there" in log.split("\n")[1], log
        if "drain: next plot" in log:
            assert refused["failure"] == "full" and "destination full" in refused["reason"], refused["reason"]
        else:
            assert refused["failure"] == "busy", refused["reason"]
        assert "running:" not in log, "no rsync started for the refused copy"
        landed = [p for p in plots if (small / p.name).exists()]
        assert len(landed) == 1 and sorted(f.name for f in files_under(small)) == [landed[0].name]
        assert all(p.exists() != (p in landed) for p in plots), "a source is deleted only once it landed"
