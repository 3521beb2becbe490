"""The transfer worker's side of replot (issue 13): the record of a copy to a dir where the storage host
replots carries the policy, the worker's request holds the arrival's head with the memo zeroed (never the
memo), and the session it opens is a replot-session whose program defines replot.py before the agent."""

import json
import shlex

import replot_lib as lib

from ansible_collections.plotfleet.chia.plugins.module_utils import moving, plotfile, replot, transfer_worker


def record(source, policy):
    return {"host": "nas", "destination": "/mnt/d1", "plot_name": source.name, "source": str(source),
            "bytes_total": source.stat().st_size, "slot_cap": 1, "replot_policy": policy}


def test_the_request_carries_the_policy_and_a_head_without_the_memo(tmp_path):
    source = lib.v2_plots(1)[0]
    policy = {"enabled": True, "storage_dirs": ["/mnt/d1"]}
    request = json.loads(transfer_worker.replot_request(record(source, policy)))
    head = source.read_bytes()[:transfer_worker.HEAD_BYTES]
    start, end = replot.memo_span(head)
    sent = bytes.fromhex(request["arrival"]["head"])
    assert request["policy"] == policy and request["arrival"]["name"] == source.name
    assert request["arrival"]["bytes"] == source.stat().st_size and end > start
    assert sent[start:end] == bytes(end - start) and head[start:end] != sent[start:end]
    assert sent[:start] == head[:start] and replot.arrival_fields(request["arrival"])["format"] == "v2"


def test_a_replot_session_ships_replot_py_before_the_agent_and_a_plain_one_does_not(tmp_path):
    source = lib.v2_plots(1)[0]
    rec = record(source, {"enabled": True, "storage_dirs": ["/mnt/d1"]})
    words = shlex.split(transfer_worker.remote_argv(rec, "replot-session", "{}", 1024)[-1])
    assert words[4:6] == ["replot-session", "/mnt/d1"] and "_load('replot'" in words[3]
    assert replot.__doc__.splitlines()[0][:40] in words[3]
    plain = shlex.split(transfer_worker.remote_argv(rec, "session", 1024)[-1])
    assert plain[3] == transfer_worker.storage_agent_source() and "def make_room" not in plain[3]
    assert transfer_worker.replots(rec) and not transfer_worker.replots(dict(rec, replot_policy=None))
    assert not transfer_worker.replots(dict(rec, slot_cap=None)) and plotfile.is_plot_name(source.name)


def test_the_record_carries_the_policy_only_to_a_dir_with_replot_and_keeps_earlier_deletions(tmp_path):
    cand = {"plot_id": "ab" * 32, "name": "plot-k18-%s.plot2" % ("ab" * 32), "k": 18, "path": "/src/x.plot2",
            "dir": "/src", "dev": 1, "size": 10}
    dest = {"path": "/mnt/d1", "host": "nas", "replot": {"room_bytes": 10, "policy": {"enabled": True}}}
    params = {"state_dir": str(tmp_path), "log_dir": str(tmp_path), "drain": False}
    old = {"state": "failed", "attempt": 1, "destination": "/mnt/d1", "host": "nas",
           "replot_deleted": [{"dir": "/mnt/d1", "name": "plot-k18-old.plot"}]}
    rec = moving.new_record({"candidate": cand, "destination": dest, "record": old}, params, 1.0)
    assert rec["replot_policy"] == {"enabled": True} and rec["replot_deleted"] == old["replot_deleted"]
    plain = moving.new_record({"candidate": cand, "destination": dict(dest, replot=None), "record": None}, params, 1.0)
    assert "replot_policy" not in plain and "replot_deleted" not in plain
