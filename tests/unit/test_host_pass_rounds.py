"""plot_pass's two rounds (issue 15): every host's pass runs in one task, so the storage hosts' offers are made in
the same round as the plotters' passes. With defer_move a plotter's pass moves nothing that needs them: it says
whether a move round is needed (a finished plot its transfer record lets move), and mode=move moves with the
offers. Real host dirs and plot headers, the real hoststate gather and move step."""

import json
import os
import struct
import time

import pytest
from test_plot_pass import pass_params

from ansible_collections.plotfleet.chia.plugins.module_utils import host_pass, plotfile, records


def finished_plot(directory, byte):
    """A small file with a complete v1 header (the ten table pointers set, inside the file): a plot the mover takes."""
    plot_id = byte * 32
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ("plot-k18-2026-12-02-00-00-%s.plot" % plot_id)
    memo = b"\x01" * 128
    head = b"Proof of Space Plot" + bytes.fromhex(plot_id) + bytes([18])
    head += struct.pack(">H", 4) + b"v1.0" + struct.pack(">H", len(memo)) + memo
    pointers = [len(head) + 80 + 100 * i for i in range(10)]
    path.write_bytes(head + b"".join(struct.pack(">Q", p) for p in pointers) + b"\0" * 4096)
    assert plotfile.read_header(str(path))["complete"]
    return path


def round_params(tmp_path, **extra):
    """A plotter's first-round params (starts off: the moves are this test's)."""
    return pass_params(tmp_path, defer_move=True, start_enabled=False, **extra)


def transfer_files(tmp_path):
    folder = tmp_path / "state" / records.TRANSFERS
    return sorted(os.listdir(str(folder))) if folder.is_dir() else []


def test_a_quiet_plotter_runs_its_move_step_at_once_without_destinations(tmp_path):
    result = host_pass.run(round_params(tmp_path), False, [])
    move = result["move"]
    assert "deferred" not in move and not move.get("skipped"), move
    assert move["moved"] == [] and move["started"] == [] and move["reasons"] == [] and move["transfers"] == []
    assert result["changed"] is False


def test_a_finished_plot_waits_for_this_passs_offers_then_moves_in_the_move_round(tmp_path):
    plot = finished_plot(tmp_path / "dst", "5e")
    store = tmp_path / "store"
    store.mkdir()
    # Destinations given to the first round (an earlier pass's, say) are not used: nothing moves before the offers.
    params = round_params(tmp_path, destinations=[{"path": str(store)}])
    for check_mode in (True, False):
        first = host_pass.run(dict(params), check_mode, [])
        assert first["move"] == dict(host_pass.skipped(host_pass.DEFERRED), deferred=True, plots=[str(plot)])
        assert first["changed"] is False and plot.exists() and not os.listdir(str(store))
        assert transfer_files(tmp_path) == []

    preview = host_pass.run(dict(params, mode="move"), True, [])
    assert [(m["plot"], m["destination"]) for m in preview["move"]["would_move"]] == [(plot.name, str(store))]
    assert plot.exists()
    second = host_pass.run(dict(params, mode="move"), False, [])
    assert [m["destination"] for m in second["move"]["moved"]] == [str(store / plot.name)]
    assert not plot.exists() and (store / plot.name).exists() and second["changed"] is True
    assert "host_state" not in second  # the pass's own gather (its first round) stands
    assert second["start"] == second["cleanup"] == host_pass.skipped(host_pass.MOVE_MODE)


def record(tmp_path, plot, **fields):
    plot_id = plot.name[-69:-5]
    rec = {"id": plot_id, "plot_id": plot_id, "plot_name": plot.name, "source": str(plot),
           "source_dir": str(plot.parent), "destination": str(tmp_path / "store"), "host": None,
           "bytes_total": plot.stat().st_size, "started": time.time() - 1000, "attempt": 1, "acknowledged": True}
    rec.update(fields)
    records.write_record(str(tmp_path / "state"), records.TRANSFERS, plot_id, rec)


@pytest.mark.parametrize("fields, waits", [
    ({"state": "done", "finished": time.time() - 100}, False),              # sent already: never twice
    ({"state": "failed", "finished": time.time() - 10, "reason": "cut"}, False),   # not due for a retry yet
    ({"state": "failed", "finished": time.time() - 10 ** 5, "reason": "cut"}, True),  # due: needs a destination
])
def test_a_plot_its_transfer_record_holds_back_needs_no_move_round(tmp_path, fields, waits):
    plot = finished_plot(tmp_path / "dst", "a1")
    record(tmp_path, plot, **fields)
    move = host_pass.run(round_params(tmp_path), False, [])["move"]
    assert bool(move.get("deferred")) is waits, move
    if not waits:  # the move step ran and says why, as plot_move would
        assert [r for r in move["reasons"] if r.startswith(str(plot))], move


def test_a_plotter_that_is_also_storage_keeps_the_plots_in_its_storage_dirs_and_gathers_them_as_storage(tmp_path):
    finished_plot(tmp_path / "dst", "b2")  # its dst dir is one of its storage dirs: plots land in storage
    params = round_params(tmp_path, storage_dirs=[str(tmp_path / "dst")])
    result = host_pass.run(params, False, [])
    assert "deferred" not in result["move"] and result["move"]["reasons"] == [], result["move"]
    assert result["host_state"]["storage_incoming"] == {}  # what plot_info adds for a storage host (no copy arriving)


def test_a_plot_finished_after_the_look_waits_for_the_next_pass(tmp_path, monkeypatch):
    plot = finished_plot(tmp_path / "dst", "c3")
    monkeypatch.setattr(host_pass, "waiting_plots", lambda *args: [])  # it appeared just after that look
    move = host_pass.run(round_params(tmp_path), False, [])["move"]
    assert move["reasons"] == [str(plot) + host_pass.LATE], json.dumps(move)
    assert plot.exists()


def test_the_move_play_takes_the_plotters_whose_pass_deferred_and_the_stop_play_those_with_a_wrong_variable():
    from ansible_collections.plotfleet.chia.plugins.filter import pass_rounds
    deferred = dict(host_pass.skipped(host_pass.DEFERRED), deferred=True, plots=["/d/p.plot"])
    report = {"problems": {"bad": ["plotfleet_k: 17 is out of range"]}, "start": {}, "unknown": {}, "warnings": []}
    hostvars = {"p1": {"plotfleet_move_result": deferred, "plotfleet_variable_report": report},
                "p2": {"plotfleet_move_result": {"moved": [], "reasons": []}, "plotfleet_variable_report": report},
                "s1": {"plotfleet_move_result": host_pass.skipped(host_pass.STORAGE_MODE)},
                "bad": {"plotfleet_variable_report": report},  # stopped before its pass: no move result
                "down": {"plotfleet_move_result": None}}  # unreachable
    hosts = ["p2", "p1", "s1", "bad", "down", "gone"]  # gone: left out of the pass
    assert pass_rounds.move_round_hosts(hostvars, hosts) == ["p1"]
    assert pass_rounds.variable_problem_hosts(hostvars, hosts + ["bad"]) == ["bad"]
    assert pass_rounds.move_round_hosts({}, hosts) == pass_rounds.variable_problem_hosts({}, hosts) == []


def test_the_fail_play_takes_the_hosts_that_failed_or_were_unreachable_only():
    from ansible_collections.plotfleet.chia.plugins.filter import pass_rounds
    hostvars = {"ok": {"plotfleet_host_state": {"jobs": []}},
                "failed": {"plotfleet_failure": {"task": "Run the pass on every host", "msg": "boom"},
                           "plotfleet_host_state": {"jobs": []}},
                "down": {"plotfleet_host_state": {"unreachable": True, "msg": "no route"}},
                "stopped": {"plotfleet_failure": {"task": "Stop on its variables", "msg": "bad"}},  # no state
                "odd": {"plotfleet_host_state": {"unreachable": "yes"}},  # only a true unreachable counts
                "never": {}}
    hosts = ["ok", "down", "failed", "stopped", "odd", "never", "gone", "down"]  # gone: not in hostvars
    assert pass_rounds.failed_pass_hosts(hostvars, hosts) == ["down", "failed", "stopped"]
    assert pass_rounds.failed_pass_hosts({}, hosts) == pass_rounds.failed_pass_hosts(hostvars, None) == []
