"""A plot never gives up because its destinations were held (full, unmounted, missing - a full disk, or
replot paused or at a limit) or refused a slot (busy): only the plot's own failures use up max_attempts
(issue 13 follow-up). policy/move.plan on transfer records as moving/transfer_worker write them."""

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import transfer_facts, transfer_worker
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import move

NOW = 1790000000.0
PAUSED = ("storage host nas made no room for this plot: /a: 1 plots needed, deleting is paused "
          "(replot could free 0 bytes there)")


def candidate():
    pid = "ab" * 32
    name = "plot-k32-2025-01-01-00-00-%s.plot" % pid
    return {"path": "/src/" + name, "name": name, "dir": "/src", "size": 10 ** 9, "dev": 1, "mtime": NOW - 1000,
            "plot_id": pid, "k": 32}


def destinations():
    return [{"path": path, "host": "nas", "index": i, "key": transfer_worker.destination_key("nas", path),
             "dev": None, "free_bytes": 10 ** 15, "problem": None, "min_free_bytes": 0}
            for i, path in enumerate(("/a", "/b"))]


def failed(failure, attempt, refused=0, reason="it failed", age=10 ** 6):
    plot = candidate()
    return {"id": plot["plot_id"], "plot_id": plot["plot_id"], "state": "failed", "destination": "/a",
            "host": "nas", "source": plot["path"], "reason": reason, "failure": failure, "finished": NOW - age,
            "attempt": attempt, "refused": refused, "_path": "/state/transfer.json"}


def decide(rec, now=NOW):
    return move.plan([candidate()], destinations(), [rec], now=now)


@pytest.mark.parametrize("failure", transfer_facts.HELD_FAILURES + ("busy",))
def test_a_held_or_refused_destination_at_max_attempts_is_retried(failure):
    out = decide(failed(failure, move.MAX_ATTEMPTS, reason=PAUSED if failure == "full" else "held"))
    assert out["actions"], out["reasons"]


@pytest.mark.parametrize("failure", transfer_facts.HELD_FAILURES + ("busy",))
def test_a_plot_held_pass_after_pass_never_gives_up(failure):
    """Records counting only busy refusals in "refused" (as written before uncounted_attempts): twelve
    attempts, all held, still retried."""
    assert decide(failed(failure, 12, refused=0, reason=PAUSED))["actions"]


@pytest.mark.parametrize("failure", ("network", "verify", "source", "error"))
def test_the_plots_own_failures_still_give_up_at_max_attempts(failure):
    out = decide(failed(failure, move.MAX_ATTEMPTS))
    assert out["actions"] == [] and "failed 5 times" in out["reasons"][0]


def test_earlier_held_attempts_do_not_count_and_the_reason_names_the_real_failures():
    # 8 attempts, 3 of them held earlier (refused counts them) + this network failure: 5 real ones
    out = decide(failed("network", 8, refused=3))
    assert out["actions"] == [] and "failed 5 times" in out["reasons"][0]
    assert decide(failed("network", 8, refused=4))["actions"]   # 4 real failures, the delay is over


def test_replot_paused_for_many_passes_then_real_failures_give_up_only_at_max_attempts():
    """Pass after pass, each record made from the last as moving.new_record makes it (attempt + 1, refused
    carried by uncounted_attempts): ten passes of "full" while replot is paused, then network failures."""
    rec, now = None, NOW
    for kind in ["full"] * 10 + ["network"] * (move.MAX_ATTEMPTS - 1):
        if rec is not None:
            assert decide(rec, now)["actions"], (rec, decide(rec, now)["reasons"])
        rec = failed(kind, ((rec or {}).get("attempt") or 0) + 1, refused=move.uncounted_attempts(rec),
                     reason=PAUSED if kind == "full" else "ssh: connection lost", age=0)
        rec["finished"] = now
        now += move.RETRY_AFTER_S + 1
    assert decide(rec, now)["actions"]   # 4 real failures: retried
    rec = failed("network", rec["attempt"] + 1, refused=move.uncounted_attempts(rec), age=0)
    rec["finished"] = now
    out = decide(rec, now + move.RETRY_AFTER_S + 1)
    assert out["actions"] == [] and "failed 5 times" in out["reasons"][0]


def test_held_attempts_carried_pass_by_pass_leave_the_plot_all_its_own_attempts(tmp_path):
    # each pass writes the next record with moving.new_record from the failed one, as plot_move does
    from ansible_collections.plotfleet.chia.plugins.module_utils import moving

    params = {"state_dir": str(tmp_path), "log_dir": str(tmp_path), "drain": False}
    dest = dict(destinations()[0])
    rec = None
    for failure in ["full"] * 10 + ["network"] * 5:
        assert move.record_blocks(rec, NOW) is None, (failure, rec and rec["attempt"])
        new = moving.new_record({"candidate": candidate(), "destination": dest, "record": rec}, params, NOW)
        rec = dict(new, state="failed", failure=failure, reason="it failed", finished=NOW - 10 ** 6,
                   id=new.get("id") or candidate()["plot_id"], _path="/state/transfer.json")
    assert rec["attempt"] == 15 and "failed 5 times" in move.record_blocks(rec, NOW)
