"""transfer (gather), policy/move (the pure plan), moving: busy plots, records' live state, rsync argv, worker."""

import json
import os
import shlex
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from ansible_collections.plotfleet.chia.plugins.module_utils import moving, plotfile, transfer, transfer_worker
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import move

GIB = 1024 ** 3
NOW = 1764380000.0


def cand(n, dev=1, size=100 * GIB):
    pid = ("%02x" % n) * 32
    name = "plot-k32-2025-01-01-00-00-%s.plot" % pid
    return {"path": "/src/%s" % name, "name": name, "dir": "/src", "size": size, "dev": dev, "mtime": NOW - 1000 + n,
            "plot_id": pid, "k": 32}


def dest(path, index, free=None, dev=None, host=None, problem=None, min_free=0):
    return {"path": path, "host": host, "index": index, "key": transfer_worker.destination_key(host, path),
            "dev": dev, "free_bytes": free, "problem": problem, "min_free_bytes": min_free}


def running(plot, destination, host=None, size=100 * GIB, done=0, source_dev=1):
    return {"id": plot["plot_id"], "plot_id": plot["plot_id"], "state": "running", "destination": destination,
            "host": host, "bytes_total": size, "bytes_done": done, "source_dev": source_dev, "pid": 99}


def test_same_filesystem_is_a_rename_and_preferred():
    out = move.plan([cand(1, dev=7)], [dest("/big", 0, free=900 * GIB, dev=8), dest("/same", 1, free=0, dev=7)], [])
    (action,) = out["actions"]
    assert action["kind"] == "rename" and action["destination"]["path"] == "/same"


def test_most_free_space_after_reservations_wins():
    busy = cand(9)
    dests = [dest("/a", 0, free=500 * GIB, dev=2), dest("/b", 1, free=450 * GIB, dev=3)]
    out = move.plan([cand(1)], dests, [running(busy, "/a", size=100 * GIB, done=10 * GIB, source_dev=5)],
                        max_per_destination=2)
    assert out["actions"][0]["destination"]["path"] == "/b"  # /a: 500 - 90 reserved = 410 < 450


def test_no_room_is_a_reason_and_next_destination_is_used():
    dests = [dest("/small", 0, free=50 * GIB, dev=2), dest("/next", 1, free=None, host="s1")]
    out = move.plan([cand(1)], dests, [])
    assert out["actions"][0]["destination"]["key"] == "s1:/next"
    out = move.plan([cand(1)], dests[:1], [])
    assert out["actions"] == [] and "/small has no room" in out["reasons"][0]


def test_bytes_other_plotters_are_sending_are_not_free():
    """nas:/a has 250 GiB free but two other plotters still have 200 GiB to write there: this plot goes to
    /b; when /b is gone, the reason names what the others are sending."""
    shared = dict(dest("/a", 0, free=250 * GIB, host="nas"), incoming_bytes=200 * GIB)
    out = move.plan([cand(1)], [shared, dest("/b", 1, free=150 * GIB, host="nas")], [])
    assert out["actions"][0]["destination"]["key"] == "nas:/b"
    out = move.plan([cand(1)], [shared], [])
    assert out["actions"] == []
    assert out["reasons"] == ["/src/%s: not moved: nas:/a has no room (%d bytes free after reservations and %d bytes "
                              "other hosts are sending, %d needed)" % (cand(1)["name"], 50 * GIB, 200 * GIB, 100 * GIB)]


def test_min_free_bytes_is_kept():
    out = move.plan([cand(1)], [dest("/a", 0, free=150 * GIB, dev=2, min_free=60 * GIB)], [])
    assert out["actions"] == [] and "no room" in out["reasons"][0]


def test_caps_per_destination_and_per_source():
    plots = [cand(1, dev=1), cand(2, dev=1), cand(3, dev=2)]
    dests = [dest("/a", 0, free=10000 * GIB, dev=9), dest("/b", 1, free=9000 * GIB, dev=8)]
    out = move.plan(plots, dests, [], max_per_destination=1, max_per_source=1)
    moves = [(a["candidate"]["plot_id"][:2], a["destination"]["path"]) for a in out["actions"]]
    assert moves == [("01", "/a"), ("03", "/b")]
    assert "source disk has 1 transfers running (cap 1)" in out["reasons"][0]
    out = move.plan(plots, dests[:1], [], max_per_destination=1, max_per_source=5)
    assert len(out["actions"]) == 1 and "/a has 1 transfers running (cap 1)" in out["reasons"][0]


def test_destination_problems_are_reasons():
    out = move.plan([cand(1)], [dest("/m", 0, free=10 ** 15, problem="not a mount point"),
                                    dest("/f", 1, free=10 ** 15, problem="marked full 3 min ago (x)")], [])
    assert out["actions"] == []
    assert "/m not a mount point" in out["reasons"][0] and "/f marked full" in out["reasons"][0]


def test_existing_records_decide():
    plot = cand(1)
    dests = [dest("/a", 0, free=10 ** 15, dev=9), dest("/b", 1, free=10 ** 16, dev=8)]
    rec = running(plot, "/a")
    out = move.plan([plot], dests, [rec])
    assert out["actions"] == [] and "running" in out["reasons"][0]
    rec["state"] = "done"
    out = move.plan([plot], dests, [rec])
    assert out["actions"] == [] and "not sent twice" in out["reasons"][0]
    rec["state"] = "interrupted"  # resumes at its own destination although /b has more room
    out = move.plan([plot], dests, [rec])
    assert out["actions"][0]["destination"]["path"] == "/a" and out["actions"][0]["record"] is rec
    rec.update(state="failed", reason="verification failed", finished=NOW - 10, attempt=1)
    out = move.plan([plot], dests, [rec], now=NOW)
    assert out["actions"] == [] and "retry in" in out["reasons"][0]
    assert move.plan([plot], dests, [rec], now=NOW + move.RETRY_AFTER_S)["actions"]
    rec.update(reason="destination full: no space", finished=NOW - 10)
    assert move.plan([plot], dests, [rec], now=NOW)["actions"]  # another destination, right away
    rec["attempt"] = move.MAX_ATTEMPTS   # a held destination (full) is no failure of the plot: it never gives up
    assert move.plan([plot], dests, [rec], now=NOW + 10 ** 6)["actions"]
    rec.update(reason="verification failed")
    out = move.plan([plot], dests, [rec], now=NOW + 10 ** 6)
    assert out["actions"] == [] and "failed 5 times" in out["reasons"][0]


def test_busy_from_state():
    state = {"jobs": [
        {"plotter": "madmax", "pid": 10, "state": "plotting", "tmp_dir": "/t1", "tmp2_dir": "/t2", "dst_dir": "/d"},
        {"plotter": "madmax", "pid": None, "state": "dead", "tmp_dir": "/t3", "tmp2_dir": None},
        {"plotter": "chiapos", "pid": 11, "state": "copying", "tmp_dir": "/t4", "dst_dir": "/d",
         "plot_name": "plot-k32-x.plot", "plot_file": None},
    ], "history": [{"plotter": "madmax", "pid": None, "state": "finished", "plot_file": "/d/plot-k32-y.plot"}]}
    dirs, files = transfer.busy_from_state(state)
    assert dirs == {os.path.realpath("/t1"), os.path.realpath("/t2")}
    assert files == {os.path.realpath("/d/plot-k32-x.plot")}
    assert transfer.busy_from_state(None) == (set(), set())
    # a SIGSTOPped madMAx still owns the plots in its temp dirs
    suspended = {"jobs": [{"plotter": "madmax", "pid": 12, "state": "suspended", "tmp_dir": "/t5", "tmp2_dir": None}]}
    assert transfer.busy_from_state(suspended)[0] == {os.path.realpath("/t5")}


def write_rec(state_dir, **fields):
    rec = {"id": "ab" * 32, "plot_id": "ab" * 32, "plot_name": "plot-k18-%s.plot" % ("ab" * 32),
           "source": "/src/x.plot", "source_dir": "/src", "destination": str(state_dir), "host": None,
           "state": "running", "pid": 4242, "proc_start": NOW, "bytes_total": 1000, "started": NOW - 10}
    rec.update(fields)
    path = state_dir / "transfers" / ("%s.json" % rec["id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))
    return rec


def test_describe_running_interrupted_and_reused_pid(tmp_path):
    rec = write_rec(tmp_path)
    (tmp_path / plotfile.partial_name(rec["plot_name"])).write_bytes(b"x" * 400)
    worker = ["/usr/bin/python3", "/s/bin/plotfleet-transfer-abc/transfer_worker.py", "r.json"]
    procs = [{"pid": 4242, "ppid": 1, "start": NOW + 0.5, "argv": worker, "command": " ".join(worker)}]
    (t,) = transfer.describe_transfers(str(tmp_path), procs, [], now=NOW + 10)
    assert t["state"] == "running" and t["bytes_done"] == 400 and t["rate_bps"] == 20
    assert set(["id", "plot_id", "source", "destination", "host", "state", "pid", "bytes_total", "bytes_done",
                "rate_bps", "started", "log"]) <= set(t)
    procs[0]["start"] = NOW + 100  # same pid, other process
    assert transfer.describe_transfers(str(tmp_path), procs, [], now=NOW + 10)[0]["state"] == "interrupted"
    assert transfer.describe_transfers(str(tmp_path), [], [], now=NOW + 10)[0]["state"] == "interrupted"
    write_rec(tmp_path, state="done", finished=NOW - 2 * transfer.DONE_SHOWN_S)
    assert transfer.describe_transfers(str(tmp_path), [], [], now=NOW) == []


def test_describe_remote_progress_from_rsync_log(tmp_path):
    log = tmp_path / "transfer.log"
    log.write_bytes(b"2026 running: rsync ...\nplot.plot\n\r         32,768   0%    0.00kB/s    0:00:00"
                    b"\r     52,428,800  48%   50.00MB/s    0:00:01")
    write_rec(tmp_path, host="s1", log=str(log), pid=None, started=NOW - 5)
    (t,) = transfer.describe_transfers(str(tmp_path), [], [], now=NOW)
    assert t["state"] == "running" and t["bytes_done"] == 52428800  # just started: no pid yet
    assert transfer._rsync_progress(str(tmp_path / "missing.log")) is None


def test_rsync_argv_is_portable_and_quotes_paths():
    rec = {"destination": "/srv/my plots", "plot_name": "plot-k32-x.plot", "host": "s1", "user": "u", "port": 2222,
           "ssh_key": "/k/id key", "ssh_options": ["-o", "StrictHostKeyChecking=accept-new"], "bwlimit_kbps": 5000,
           "source": "/src/plot-k32-x.plot"}
    old = transfer_worker.rsync_argv(rec, "rsync  version 2.6.9  protocol version 29")
    new = transfer_worker.rsync_argv(rec, "rsync  version 3.2.7  protocol version 32")
    for argv in (old, new):
        assert "--partial-dir=.plotfleet-rsync" in argv and "--bwlimit=5000" in argv
        assert not any(a.startswith(("--preallocate", "--info", "--append")) for a in argv)
        ssh = shlex.split(argv[argv.index("-e") + 1])
        assert ssh[:3] == ["ssh", "-o", "StrictHostKeyChecking=accept-new"]  # ssh keeps an option's first value
        assert "BatchMode=yes" in ssh and "/k/id key" in ssh and "2222" in ssh
    assert old[-1] == "u@s1:'/srv/my plots/.plot-k32-x.plot.plotfleet-partial'"  # remote shell splits args
    assert new[-1] == "u@s1:/srv/my plots/.plot-k32-x.plot.plotfleet-partial"   # rsync >= 3.2.4 escapes itself
    assert not transfer_worker.rsync_escapes_args("openrsync: protocol version 29\nrsync version 2.6.9 compatible")


def test_find_candidates_skips_temp_incomplete_and_open_files(tmp_path):
    import plotmove_lib

    good, writing, incomplete = plotmove_lib.place_plots(tmp_path, 3)
    data = bytearray(incomplete.read_bytes())
    end = plotfile.read_header(str(incomplete))["header_bytes"]
    data[end - 80:end] = bytes(80)
    incomplete.write_bytes(bytes(data))
    (tmp_path / (good.name + ".2.tmp")).write_bytes(good.read_bytes())
    with open(str(writing), "r+b"):
        found, reasons = transfer.find_candidates([str(tmp_path)], set(), set(), now=time.time())
    assert [c["path"] for c in found] == [str(good)]
    text = "\n".join(reasons)
    assert "open for writing" in text and "incomplete" in text and ".tmp" not in text
    found, reasons = transfer.find_candidates([str(tmp_path)], {os.path.realpath(str(tmp_path))}, set())
    assert found == [] and "live madMAx job" in reasons[0]


def test_local_copy_resumes_and_full_destination_is_marked(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 * transfer_worker.CHUNK + 123))
    dst = tmp_path / "dst.bin"
    dst.write_bytes(src.read_bytes()[:2 * transfer_worker.CHUNK + 5] + b"garbage")  # torn tail
    transfer_worker.copy_resumable(str(src), str(dst))
    assert dst.read_bytes() == src.read_bytes()
    transfer_worker.mark_full(str(tmp_path), "/d", "destination full: test", now=NOW)
    assert transfer.full_marks(str(tmp_path))["/d"]["since"] == NOW
    (m,) = transfer.measure_destinations([{"path": str(tmp_path)}], {str(tmp_path): {"since": NOW - 60}}, now=NOW)
    assert m["problem"].startswith("marked full 1 min ago") and m["free_bytes"] > 0
    (m,) = transfer.measure_destinations([{"path": str(tmp_path)}], {str(tmp_path): {"since": NOW - 60}},
                                         now=NOW + transfer.FULL_HOLD_S)
    assert m["problem"] is None
    (m,) = transfer.measure_destinations([{"path": str(tmp_path), "must_be_mount": True}], {})
    assert m["problem"] == "not a mount point"


@pytest.mark.parametrize("version,escapes", [("rsync  version 3.2.4  protocol version 31", True),
                                             ("rsync  version 3.1.3  protocol version 31", False),
                                             ("rsync  version v3.4.1  protocol version 32", True)])
def test_rsync_escape_detection(version, escapes):
    assert transfer_worker.rsync_escapes_args(version) is escapes


def test_retry_delay_and_attempts_are_settings():
    plot = cand(1)
    dests = [dest("/a", 0, free=10 ** 15, dev=9)]
    rec = {"id": plot["plot_id"], "plot_id": plot["plot_id"], "state": "failed", "destination": "/a", "host": None,
           "reason": "ssh: connect to host 10.0.0.9 port 22: Connection refused", "finished": NOW - 30, "attempt": 2}
    out = move.plan([plot], dests, [rec], now=NOW, retry_after_s=60)
    assert out["actions"] == [] and "retry in 30 s" in out["reasons"][0] and "Connection refused" in out["reasons"][0]
    out = move.plan([plot], dests, [rec], now=NOW, retry_after_s=30)
    assert out["actions"][0]["record"] is rec
    out = move.plan([plot], dests, [rec], now=NOW, retry_after_s=0, max_attempts=2)
    assert out["actions"] == [] and "failed 2 times" in out["reasons"][0]


def test_old_done_records_are_archived_and_still_stop_a_second_send(tmp_path):
    state_dir = str(tmp_path)
    old, recent, unacked = cand(1), cand(2), cand(3)
    base = {"state": "done", "destination": "/a", "host": None, "source": "/src/x.plot", "acknowledged": True}
    for plot, age, acked in ((old, 8 * 86400, True), (recent, 86400, True), (unacked, 30 * 86400, False)):
        rec = dict(base, id=plot["plot_id"], plot_id=plot["plot_id"], finished=NOW - age, acknowledged=acked)
        transfer.records.write_record(state_dir, transfer.records.TRANSFERS, plot["plot_id"], rec)
    warnings = []
    transfers = transfer.load_transfers(state_dir, [], warnings, now=NOW)
    moving.archive_old(state_dir, transfers, NOW, warnings)
    left = sorted(r["plot_id"] for r in transfer.load_transfers(state_dir, [], warnings, now=NOW))
    assert left == sorted([recent["plot_id"], unacked["plot_id"]]) and warnings == []
    assert os.path.exists(os.path.join(state_dir, "transfers", "done", old["plot_id"] + ".json"))
    # The archived plot shows up again in a source dir: its archived record still refuses a second send.
    current = transfer.load_transfers(state_dir, [], warnings, now=NOW)
    extra = transfer.archived_for(state_dir, [old, cand(4)], current, warnings)
    assert [r["plot_id"] for r in extra] == [old["plot_id"]]
    out = move.plan([old, cand(4)], [dest("/a", 0, free=10 ** 15, dev=9)], current + extra, now=NOW)
    assert "not sent twice" in out["reasons"][0] and [a["candidate"]["plot_id"] for a in out["actions"]] == \
        [cand(4)["plot_id"]]


def test_abandoned_destinations_accumulate_without_the_new_one():
    new = {"destination": "/b", "host": None}
    assert move.abandoned_destinations(None, new) == []
    old = {"destination": "/a", "host": None, "method": "copy", "ssh_options": [], "abandoned": []}
    first = move.abandoned_destinations(old, new)
    assert first == [{"destination": "/a", "host": None, "user": None, "port": None, "ssh_key": None,
                      "ssh_options": []}]
    # Back to /a later: /b is now the abandoned one, /a is not (the new attempt resumes there).
    second = move.abandoned_destinations(dict(new, method="rsync", abandoned=first), {"destination": "/a"})
    assert [(p["destination"], p["host"]) for p in second] == [("/b", None)]
    # Same place again (a plain retry): nothing abandoned, nothing listed twice.
    assert move.abandoned_destinations(dict(old, abandoned=first), {"destination": "/a", "host": None}) == []


@pytest.mark.parametrize("free, partial, min_free, want", [
    (None, 0, 0, None),                   # the far end could not say: rsync finds out
    (1000, 0, 0, None),                   # exactly room for the whole copy
    (999, 0, 0, (999, 1000)),
    (600, 400, 0, None),                  # our own renamed partial copy is rewritten in place
    (1000, 0, 1, (1000, 1001)),           # min_free_bytes is kept free
])
def test_remote_shortfall(free, partial, min_free, want):
    probe = {"free": free, "partial": {"size": partial} if partial else None}
    rec = {"bytes_total": 1000, "min_free_bytes": min_free}
    assert transfer_worker.remote_shortfall(rec, probe) == want


def test_rsync_failure_keeps_the_partial_copy_when_the_far_end_cannot_answer(monkeypatch):
    """A network cut: the far end cannot be asked, so the failure is an ordinary one (the partial copy
    stays for a resume) and nothing is discarded; when it answers 'full', the partial copies go."""
    calls = []

    def unreachable(rec, op, *extra, **kwargs):
        calls.append(op)
        assert kwargs == {"timeout": transfer_worker.PROBE_AFTER_FAILURE_S}
        raise transfer_worker.TransferError("ssh 10.0.0.3 probe failed (exit 255)")
    monkeypatch.setattr(transfer_worker, "remote", unreachable)
    rec = {"bytes_total": 1000, "host": "10.0.0.3"}
    err = transfer_worker.rsync_failure(rec, 255, "Connection timed out")
    assert (err.reason, err.full, calls) == ("rsync exit 255", False, ["probe"])

    def full(rec, op, *extra, **kwargs):
        calls.append(op)
        return {"free": 10, "resumable": {"size": 400}} if op == "probe" else {"ok": True}
    monkeypatch.setattr(transfer_worker, "remote", full)
    err = transfer_worker.rsync_failure(rec, 11, "rsync error: error in file IO (code 11)")
    assert err.full and err.reason == "destination full (rsync exit 11): 10 bytes free, 1000 needed"
    assert calls[1:] == ["probe", "discard"]
    # Both racing copies ran out of space and the other one's partial copy is already gone: this one's
    # partial copy cannot be resumed without room beside it either, so it goes too.
    monkeypatch.setattr(transfer_worker, "remote", lambda rec, op, *extra, **kwargs: calls.append(op) or (
        {"free": 700, "resumable": {"size": 300}} if op == "probe" else {"ok": True}))
    err = transfer_worker.rsync_failure(rec, 12, "rsync: connection unexpectedly closed")
    assert err.full and err.reason == "destination full (rsync exit 12): 700 bytes free, 1000 needed"
    assert calls[3:] == ["probe", "discard"]
    del calls[3:]

    def said_full_then_cut(rec, op, *extra, **kwargs):  # rsync said ENOSPC, then the link went down
        calls.append(op)
        raise transfer_worker.TransferError("ssh 10.0.0.3 discard failed (exit 255)")
    monkeypatch.setattr(transfer_worker, "remote", said_full_then_cut)
    err = transfer_worker.rsync_failure(rec, 11, "write failed: No space left on device (28)")
    assert (err.reason, err.full, calls[3:]) == ("destination full (rsync exit 11)", True, ["discard"])


def test_remote_op_gives_up_after_its_timeout(monkeypatch):
    """A far end that never answers (a shared ssh connection waiting on a dead link) is given up on."""
    monkeypatch.setattr(transfer_worker, "remote_argv", lambda rec, op, *extra: ["sleep", "30"])
    started = time.time()
    with pytest.raises(transfer_worker.TransferError, match="no answer within 0.3 s"):
        transfer_worker.remote({"host": "10.0.0.3"}, "probe", 0, timeout=0.3)
    assert time.time() - started < 10


# ---- failure kinds, holds and conflicts (issue 10 items 1, 4, 7)

def failed(plot, failure, reason, age=10, attempt=1, **extra):
    rec = {"id": plot["plot_id"], "plot_id": plot["plot_id"], "state": "failed", "destination": "/a", "host": None,
           "source": plot["path"], "reason": reason, "failure": failure, "finished": NOW - age, "attempt": attempt}
    rec.update(extra)
    return rec


def test_retry_decisions_read_the_failure_kind_not_the_message():
    """A full destination whose message does not say so goes elsewhere at once; a network failure whose
    message happens to contain 'mount' or 'full' waits like any other failure."""
    plot = cand(1)
    dests = [dest("/a", 0, free=10 ** 15, dev=9), dest("/b", 1, free=10 ** 16, dev=8)]
    quiet_full = failed(plot, "full", "rsync exit 12")
    assert move.plan([plot], dests, [quiet_full], now=NOW)["actions"]
    for kind in ("unmounted", "missing"):
        assert move.plan([plot], dests, [failed(plot, kind, "x")], now=NOW)["actions"]
    wordy = failed(plot, "network", "ssh: Could not resolve hostname mount-full.example")
    out = move.plan([plot], dests, [wordy], now=NOW)
    assert out["actions"] == [] and "retry in" in out["reasons"][0]


def test_old_records_without_a_failure_kind_are_read_by_their_reason():
    plot = cand(1)
    old_full = failed(plot, None, "destination full: no space")
    old_mount = failed(plot, None, "destination nas:/a is not a mount point")
    old_other = failed(plot, None, "verification failed: last bytes differ from the source")
    assert [transfer.failure_of(r) for r in (old_full, old_mount, old_other)] == ["full", "unmounted", "error"]
    assert transfer.public_view(old_mount)["failure"] == "unmounted"
    assert transfer.failure_of(dict(old_full, state="done")) is None


def test_a_conflict_waits_for_a_person_until_retry_now():
    plot = cand(1)
    dests = [dest("/a", 0, free=10 ** 15, dev=9)]
    info = {"source": plot["path"], "destination": "/a/" + plot["name"], "host": None, "problem": "bytes differ"}
    rec = failed(plot, "conflict", "conflict: ...", age=10 ** 6, conflict=info)
    out = move.plan([plot], dests, [rec], now=NOW)
    assert out["actions"] == []
    assert ("conflict: /a/%s is not this plot (bytes differ) and stays; source %s kept" % (plot["name"], plot["path"])
            in out["reasons"][0]) and "plotfleet_move_retry_after_s=0" in out["reasons"][0]
    assert move.plan([plot], dests, [rec], now=NOW, retry_after_s=0)["actions"]  # checked again, safely
    view = transfer.public_view(rec)
    assert view["failure"] == "conflict" and view["conflict"] == info


def test_remote_mount_state_from_the_storage_host_rules_a_dir_out_before_choosing():
    dests = [{"path": "/srv/a", "host": "nas", "must_be_mount": True, "mounted": False, "free_bytes": 10 ** 15},
             {"path": "/srv/b", "host": "nas", "must_be_mount": True, "mounted": True, "free_bytes": 10 ** 12},
             {"path": "/srv/c", "host": "nas", "must_be_mount": True, "free_bytes": 10 ** 12},  # unknown: worker checks
             {"path": "/srv/d", "host": "nas", "must_be_mount": False, "mounted": False, "free_bytes": 10 ** 12}]
    measured = transfer.measure_destinations(dests, {}, now=NOW)
    assert [m["problem"] for m in measured] == ["not a mount point", None, None, None]
    out = move.plan([cand(1)], measured, [])
    assert out["actions"][0]["destination"]["key"] == "nas:/srv/b"
    assert "nas:/srv/a not a mount point" in move.plan([cand(1)], measured[:1], [])["reasons"][0]


def test_a_dir_the_storage_host_found_unusable_is_skipped_alone():
    dests = [{"path": "/srv/gone", "host": "nas", "problem": "No such file or directory", "free_bytes": None},
             {"path": "/srv/ok", "host": "nas", "free_bytes": 10 ** 12}]
    measured = transfer.measure_destinations(dests, {}, now=NOW)
    assert measured[0]["problem"] == "unavailable on nas (No such file or directory)"
    out = move.plan([cand(1)], measured, [])
    assert out["actions"][0]["destination"]["key"] == "nas:/srv/ok"


def test_holds_are_worded_by_their_kind_and_retry_now_ignores_them(tmp_path):
    marks = {"nas:/a": {"since": NOW - 120, "reason": "nas:/a is not a mount point", "failure": "unmounted"},
             "nas:/b": {"since": NOW - 60, "reason": "rsync exit 11", "failure": "full"},
             "nas:/c": {"since": NOW - 60, "reason": "destination nas:/c is not a mount point"}}  # an old mark
    dests = [{"path": p, "host": "nas", "free_bytes": 10 ** 12} for p in ("/a", "/b", "/c")]
    problems = [m["problem"] for m in transfer.measure_destinations(dests, marks, now=NOW)]
    assert problems == ["not a mount point (found 2 min ago)", "marked full 1 min ago (rsync exit 11)",
                        "not a mount point (found 1 min ago)"]
    assert [m["problem"] for m in transfer.measure_destinations(dests, marks, now=NOW, hold_s=0)] == [None] * 3
    transfer_worker.mark_full(str(tmp_path), "nas:/a", "x", now=NOW, kind="unmounted")
    assert transfer.full_marks(str(tmp_path))["nas:/a"]["failure"] == "unmounted"
    transfer_worker.clear_marks(str(tmp_path))
    assert transfer.full_marks(str(tmp_path)) == {}


def test_sampled_comparison_covers_head_tail_and_spread():
    size = 100 * GIB
    ranges = transfer_worker.sample_ranges(size)
    assert len(ranges) == transfer_worker.SAMPLES and ranges[0] == (0, transfer_worker.SAMPLE_BYTES)
    assert ranges[-1] == (size - transfer_worker.SAMPLE_BYTES, transfer_worker.SAMPLE_BYTES)
    gaps = [b[0] - a[0] for a, b in zip(ranges, ranges[1:])]
    assert max(gaps) - min(gaps) <= transfer_worker.SAMPLE_BYTES  # evenly spread
    assert transfer_worker.sample_ranges(5000) == [(0, 5000)]  # small files: every byte
    assert transfer_worker.parse_ranges(transfer_worker.ranges_text(ranges)) == ranges


def test_a_truncated_plot_nobody_writes_is_said_incomplete_not_being_written(tmp_path):
    import plotmove_lib

    cut, held = plotmove_lib.place_plots(tmp_path, 2)
    for plot in (cut, held):
        data = plot.read_bytes()
        plot.write_bytes(data[:len(data) // 2])  # header pointers complete, the file shorter than they say
    header_cut = tmp_path / ("plot-k18-2025-01-01-00-00-%s.plot" % ("cd" * 32))
    header_cut.write_bytes(cut.read_bytes()[:100])  # not even a whole header
    with open(str(held), "r+b"):
        found, reasons = transfer.find_candidates([str(tmp_path)], set(), set(), now=time.time())
    assert found == []
    by_path = dict(r.split(": ", 1) for r in reasons)
    assert by_path[str(cut)] == "shorter than its table pointers: incomplete and no process writes it: " \
                                "it will not be moved"
    assert by_path[str(held)] == "shorter than its table pointers: open for writing by a process"
    assert by_path[str(header_cut)].endswith("incomplete and no process writes it: it will not be moved")


def test_a_transfer_lists_the_other_dirs_of_its_storage_host_best_first():
    """The storage host may refuse the chosen dir (another plotter got there first): the record carries
    the other usable dirs of that host, fewest running transfers first, then most room."""
    busy = running(cand(9), "/c", host="nas", source_dev=5)
    dests = [dest("/a", 0, free=900 * GIB, host="nas"), dest("/b", 1, free=500 * GIB, host="nas"),
             dest("/c", 2, free=800 * GIB, host="nas"), dest("/d", 3, free=700 * GIB, host="other"),
             dest("/e", 4, free=100 * GIB, host="nas", problem="not a mount point")]
    (action,) = move.plan([cand(1)], dests, [busy], max_per_destination=2)["actions"]
    assert action["destination"]["key"] == "nas:/a"
    assert [d["key"] for d in action["alternatives"]] == ["nas:/b", "nas:/c"]  # /c has one running


def test_a_refused_slot_is_retried_at_once_and_is_not_a_failed_attempt():
    plot = cand(1)
    dests = [dest("/a", 0, free=10 ** 15, host="nas")]
    rec = failed(plot, "busy", "storage host nas has no slot for this copy", attempt=5, refused=4)
    out = move.plan([plot], dests, [rec], now=NOW)
    assert out["actions"], out["reasons"]  # 5 attempts, 4 of them refused slots: 1 failure
    rec.update(failure="network", refused=0, attempt=1)
    assert move.plan([plot], dests, [rec], now=NOW)["actions"] == []  # a real failure waits


def test_a_process_group_of_zombies_is_not_a_live_transfer():
    """A SIGKILLed worker is a zombie until init reaps it; it still takes signals but copies nothing."""
    import subprocess
    import time

    from ansible_collections.plotfleet.chia.plugins.module_utils import transfer_worker
    live = subprocess.Popen(["sleep", "30"], start_new_session=True)
    dead = subprocess.Popen(["true"], start_new_session=True)
    try:
        deadline = time.time() + 10
        while time.time() < deadline and open("/proc/%d/stat" % dead.pid).read().rsplit(")", 1)[1].split()[0] != "Z":
            time.sleep(0.05)
        assert transfer_worker.group_alive(live.pid)
        assert not transfer_worker.group_alive(dead.pid)  # not reaped yet: a zombie
    finally:
        live.kill()
        live.wait()
        dead.wait()
