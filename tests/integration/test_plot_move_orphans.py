"""Nothing of an earlier attempt outlives a transfer: a killed worker's rsync still counts as the
transfer running, a resume ends what is left of the old attempt first, and after the commit the
destination holds the plot and nothing else (rsync temp files of killed receivers, partial copies).
Real workers, real rsync over a real sshd on loopback."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import module_batch as batch  # noqa: E402
import plotmove_lib as lib  # noqa: E402
from plotmove_lib import run_module  # noqa: E402

from ansible_collections.plotfleet.chia.plugins.module_utils import transfer_worker  # noqa: E402

pytestmark = pytest.mark.skipif(not lib.Sshd.available(), reason="needs root, /usr/sbin/sshd and rsync")


@pytest.fixture
def sshd(tmp_path):
    with lib.Sshd(tmp_path / "sshd") as server:
        yield server


def everything_under(path):
    """Every file and dir below path, relative (hidden ones included)."""
    found = []
    for root, dirs, names in os.walk(str(path)):
        found += [os.path.relpath(os.path.join(root, n), str(path)) for n in dirs + names]
    return sorted(found)


def bytes_under(path):
    return sum(os.path.getsize(os.path.join(root, n)) for root, _d, names in os.walk(str(path)) for n in names)


def gone(pid):
    """pid exited (a zombie waiting for init counts as gone)."""
    try:
        return Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def start_slow_copy(tmp_path, sshd, storage, kbps=300):
    (tmp_path / "src").mkdir()
    (plot,) = lib.place_plots(tmp_path / "src", 1)
    args = lib.move_args(tmp_path, [sshd.destination(storage, free_bytes=10 ** 12)], ssh_options=sshd.ssh_options,
                         bwlimit_kbps=kbps)
    rc, res = run_module("plot_move", args)
    (started,) = res["started"]
    assert lib.wait_for(lambda: bytes_under(storage) > 300000, timeout=30), "rsync got going"
    return plot, dict(args, bwlimit_kbps=None), started["pid"]


def kill_worker_only(pid):
    """SIGKILL the worker process alone: its rsync child (same process group) keeps copying."""
    os.kill(pid, signal.SIGKILL)
    assert lib.wait_for(lambda: gone(pid), timeout=10)
    assert transfer_worker.group_alive(pid), "the worker's rsync outlived it"


def test_a_killed_workers_rsync_still_counts_as_the_transfer_running(tmp_path, sshd):
    storage = tmp_path / "storage"
    storage.mkdir()
    plot, args, pid = start_slow_copy(tmp_path, sshd, storage, kbps=100)  # outlives two passes on a busy machine
    kill_worker_only(pid)

    for _rc, res in batch.run_steps([batch.call("plot_move", args, check=check) for check in (True, False)]):
        assert [t["state"] for t in res["transfers"]] == ["running"], res["transfers"]
        assert res["started"] == [] and res["would_move"] == [], res
        assert "running" in "\n".join(res["reasons"])

    assert lib.wait_for(lambda: not transfer_worker.group_alive(pid), timeout=90), "the orphan rsync ended"
    rc, res = run_module("plot_move", args)
    assert [s["resumed"] for s in res["started"]] == [True], res
    (rec,) = lib.wait_transfers_finished(tmp_path / "state")
    assert rec["state"] == "done" and rec["attempt"] == 2, rec.get("reason")
    assert everything_under(storage) == [plot.name] and not plot.exists()


def test_a_resume_first_ends_what_is_left_of_the_old_attempt(tmp_path, sshd):
    """A second attempt started while the first one's rsync still runs (as a resume that could not see
    it would): the new worker ends the old process group before copying, so the old rsync cannot finish
    into a hidden partial copy after the commit."""
    storage = tmp_path / "storage"
    storage.mkdir()
    plot, _args, pid = start_slow_copy(tmp_path, sshd, storage)
    kill_worker_only(pid)
    (rec,) = lib.transfer_records(tmp_path / "state")
    rec.update(attempt=2, pid=None, proc_start=None, bwlimit_kbps=None, previous={"pid": pid})
    path = tmp_path / "state" / "transfers" / ("%s.json" % rec["id"])
    path.write_text(json.dumps(rec))
    worker = sorted((tmp_path / "state" / "bin").glob("plotfleet-transfer-*/draining.py"))[0]
    with open(rec["log"], "ab") as log:
        proc = subprocess.run(["/usr/bin/python3", "-S", str(worker), str(path)], stdout=log, stderr=log, timeout=120)
    done = json.loads(path.read_text())
    assert proc.returncode == 0 and done["state"] == "done", done.get("reason")
    assert not transfer_worker.group_alive(pid), "the old attempt's rsync was ended, not left to run beside"
    assert "ending what is left of the earlier attempt (process group %d)" % pid in Path(rec["log"]).read_text()
    # Whatever the old attempt would still have done is over: wait for it, then look.
    assert lib.wait_for(lambda: not transfer_worker.group_alive(pid), timeout=90)
    assert everything_under(storage) == [plot.name] and not plot.exists()


def storage_receivers(storage):
    """pids of the rsync receivers the storage host runs for copies into storage."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = Path("/proc/%s/cmdline" % entry).read_bytes().split(b"\0")
            except OSError:
                continue
            if b"--server" in argv and any(str(storage).encode() in a for a in argv) and b"rsync" in argv[0]:
                found.append(int(entry))
    return found


def test_after_the_commit_nothing_of_a_killed_receiver_is_left(tmp_path, sshd):
    """The storage side dies mid-transfer (its rsync receivers SIGKILLed, as in a storage reboot): the
    copy fails, the retry succeeds, and the dir holds exactly the plot - no rsync temp file, no partial."""
    storage = tmp_path / "storage"
    storage.mkdir()
    plot, args, pid = start_slow_copy(tmp_path, sshd, storage)
    receivers = storage_receivers(storage)
    assert receivers, "found the storage side's rsync"
    for receiver in receivers:
        os.kill(receiver, signal.SIGKILL)
    (rec,) = lib.wait_transfers_finished(tmp_path / "state")
    assert rec["state"] == "failed" and rec["failure"] == "network", rec
    assert everything_under(storage) != [], "the killed receiver left its temp file"

    rc, res = run_module("plot_move", dict(args, retry_after_s=0))
    assert len(res["started"]) == 1, res["reasons"]
    (rec,) = lib.wait_transfers_finished(tmp_path / "state")
    assert rec["state"] == "done" and rec["attempt"] == 2, rec.get("reason")
    assert everything_under(storage) == [plot.name] and not plot.exists()
