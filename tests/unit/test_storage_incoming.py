"""What a storage host reports as incoming (plot_info's storage_incoming, storage_slots.incoming): the bytes
the copies it holds slots for still have to write, read from the slots file the real storage agent wrote
(its `session` op as a local process, as in test_storage_slots.py), and how the controller uses it:
storage_offer carries it, move_destinations takes the larger of it and the senders' own view (issue 15: in a
pass each plotter gathers in its own plot_pass, so the senders' view of each other is empty)."""

import json
import os
import subprocess
import sys

import pytest
from test_storage_slots import NAME, end, open_session

from ansible_collections.plotfleet.chia.plugins.filter import fleet
from ansible_collections.plotfleet.chia.plugins.module_utils import plotfile, storage_slots, transfer, transfer_worker
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import move as move_policy


def test_running_copies_count_what_they_still_have_to_write(tmp_path, home):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    first, answer = open_session(home, a, "aa", cap=2, total=1000)
    second, answer2 = open_session(home, a, "bb", cap=2, total=3000)
    assert answer["granted"] == answer2["granted"] == str(a)
    (a / plotfile.partial_name(NAME % ("aa" * 32))).write_bytes(b"x" * 400)  # 400 of 1000 written
    try:
        assert storage_slots.incoming([str(a), str(b)]) == {str(a): {"copies": 2, "bytes": 600 + 3000, "plots": {
            NAME % ("aa" * 32): 600, NAME % ("bb" * 32): 3000}}}
        offer = fleet.storage_offer({"dirs": [{"path": str(a), "free_bytes": 5000}],
                                     "storage_incoming": storage_slots.incoming([str(a)])}, [str(a)], "nas")
        assert offer[0]["incoming_bytes"] == 3600
    finally:
        end(first), end(second)
    assert storage_slots.incoming([str(a)]) == {}, "an ended session's slot is released: nothing incoming"


def test_a_holder_that_is_gone_counts_nothing(tmp_path, home):
    a = tmp_path / "a"
    a.mkdir()
    holder, answer = open_session(home, a, "aa", total=1000)
    assert answer["granted"] == str(a)
    assert storage_slots.incoming([str(a)])[str(a)]["copies"] == 1
    holder.kill()  # SIGKILL: its slot stays in the file, its process is gone
    holder.wait(timeout=10)
    assert (home / ".plotfleet" / "storage-slots.json").exists()
    assert storage_slots.incoming([str(a)]) == {}


@pytest.mark.parametrize("text", [None, "", '{"/x": [{"pid": 1', "[1, 2]", '{"%s": "junk"}'])
def test_a_missing_torn_or_foreign_file_reads_as_nothing_and_is_left_alone(tmp_path, home, text):
    a = tmp_path / "a"
    a.mkdir()
    slots = home / ".plotfleet" / "storage-slots.json"
    if text is not None:
        slots.parent.mkdir()
        slots.write_text(text.replace("%s", str(a)))
    before = sorted(os.listdir(home)) + sorted(os.listdir(slots.parent) if slots.parent.exists() else [])
    assert storage_slots.incoming([str(a)]) == {}
    after = sorted(os.listdir(home)) + sorted(os.listdir(slots.parent) if slots.parent.exists() else [])
    assert before == after, "the reader writes nothing (no lock file, no dir)"
    assert (slots.read_text() if text is not None else None) == (text.replace("%s", str(a)) if text else text)


def test_the_state_dir_of_the_storage_sshd_wins_over_home(tmp_path, home, monkeypatch):
    a, state = tmp_path / "a", tmp_path / "state"
    a.mkdir()
    holder, _ = open_session(home, a, "aa", total=1000)  # HOME's file
    try:
        monkeypatch.setenv(storage_slots.STATE_ENV, str(state))
        assert storage_slots.incoming([str(a)]) == {}, "another state dir: another file"
        monkeypatch.delenv(storage_slots.STATE_ENV)
        assert storage_slots.incoming([str(a) + "/"])[str(a) + "/"] == {"copies": 1, "bytes": 1000,
                                                                          "plots": {NAME % ("aa" * 32): 1000}}
    finally:
        end(holder)


def shipped_session(home, directory, plot_hex, cap=1, total=1000):
    """A session run as the storage host runs it: `python3 -S -c <program>` from a dir with none of our
    files and no PYTHONPATH, so only what the program text defines can be imported."""
    name = NAME % (plot_hex * 32)
    argv = [sys.executable, "-S", "-c", transfer_worker.storage_agent_source(), "session", str(directory), name,
            plotfile.partial_name(name), "0", "30", plotfile.RSYNC_PARTIAL_DIR, str(cap), str(total), "0"]
    env = dict((k, v) for k, v in os.environ.items() if k != "PYTHONPATH")
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(home),
                            env=dict(env, HOME=str(home)))
    return proc, json.loads(proc.stdout.readline().decode() or "null")


def test_the_shipped_agent_brings_the_slot_rules_it_shares_with_plot_info(tmp_path, home):
    a = tmp_path / "a"
    a.mkdir()
    holder, answer = shipped_session(home, a, "aa", total=1000)
    try:
        assert answer is not None, "the program text alone runs the agent (storage_slots defined in it)"
        assert answer["granted"] == str(a)
        assert storage_slots.incoming([str(a)])[str(a)]["bytes"] == 1000
    finally:
        end(holder)


def test_both_sides_ignore_an_entry_the_agent_never_writes(tmp_path, home):
    """One set of reading rules: an entry without bytes/partial (another tool's, a newer format) of a
    live pid is no copy for plot_info, nor a slot holder for the agent's arbitration (cap 1)."""
    a = tmp_path / "a"
    a.mkdir()
    slots = home / ".plotfleet" / "storage-slots.json"
    slots.parent.mkdir()
    slots.write_text(json.dumps({os.path.realpath(str(a)): [{"pid": os.getpid()}]}))
    assert storage_slots.incoming([str(a)]) == {}
    holder, answer = open_session(home, a, "aa", cap=1, total=1000)
    try:
        assert answer is not None and answer["granted"] == str(a), answer
        assert storage_slots.incoming([str(a)])[str(a)]["copies"] == 1
    finally:
        end(holder)


def offer_with_two_copies(home, a):
    """Two real agent sessions into dir a (9,000 bytes free): plot aa with 1,000 bytes to write, bb with
    2,500 (500 of 3,000 written). -> (storage_slots.incoming, the storage host's offer), read while both run."""
    a.mkdir()
    first, _ = open_session(home, a, "aa", cap=2, total=1000)
    second, _ = open_session(home, a, "bb", cap=2, total=3000)
    (a / plotfile.partial_name(NAME % ("bb" * 32))).write_bytes(b"x" * 500)
    try:
        incoming = storage_slots.incoming([str(a)])
        return incoming, fleet.storage_offer({"dirs": [{"path": str(a), "free_bytes": 9000}],
                                              "storage_incoming": incoming}, [str(a)], "10.0.0.5")
    finally:
        end(first), end(second)


def test_a_plotter_takes_its_own_copies_out_of_the_storage_count_by_plot_name(tmp_path, home):
    """Two real sessions into one dir, p1's plot aa and p2's bb: p1 (gathered before, as a plotter that is
    also a storage host is in a pass) reserves its own copy itself, so its destination counts only bb;
    p2, not gathered yet, still counts both (the storage host cannot tell p2's copy from p1's)."""
    a = tmp_path / "a"
    incoming, offered = offer_with_two_copies(home, a)
    assert incoming[str(a)]["plots"] == {NAME % ("aa" * 32): 1000, NAME % ("bb" * 32): 2500}
    own = {"state": "running", "host": "10.0.0.5", "destination": str(a), "bytes_total": 1000, "bytes_done": 300,
           "source": "/plots/" + NAME % ("aa" * 32)}
    hostvars = {"nas": {"plotfleet_storage_offer": offered}, "p1": {"plotfleet_host_state": {"transfers": [own]}},
                "p2": {}}
    p1 = fleet.move_destinations(hostvars, ["nas"], "p1", None, True, ["p1", "p2"])
    p2 = fleet.move_destinations(hostvars, ["nas"], "p2", None, True, ["p1", "p2"])
    assert [d["incoming_bytes"] for d in p1] == [2500], "p1's own copy is not counted twice"
    assert [d["incoming_bytes"] for d in p2] == [3500], "p2 cannot be told apart: the storage host's count"
    hostvars["p1"]["plotfleet_host_state"]["transfers"] = [dict(own, state="done")]
    assert [d["incoming_bytes"] for d in fleet.move_destinations(hostvars, ["nas"], "p1")] == [3500], \
        "a copy p1 no longer reserves stays counted"


def offer(incoming_bytes):
    state = {"dirs": [{"path": "/srv/a", "free_bytes": 6000}], "storage_incoming":
             {"/srv/a": {"copies": 1, "bytes": incoming_bytes}} if incoming_bytes else {}}
    return fleet.storage_offer(state, ["/srv/a"], "10.0.0.5")


def sender(left):
    """A plotter's plot_info with one running transfer to nas:/srv/a that still has `left` bytes to write."""
    return {"plotfleet_host_state": {"transfers": [{"state": "running", "host": "10.0.0.5",
                                                    "destination": "/srv/a", "bytes_total": 4000,
                                                    "bytes_done": 4000 - left}]}}


@pytest.mark.parametrize("storage_count, senders_view, expected", [
    (3500, None, 3500),   # a pass: the other plotter is not gathered yet, the storage host counts its copy
    (0, 2500, 2500),      # no slots file readable (another user): the senders' view alone, as before
    (1000, 2500, 2500),   # both known: the larger (the storage host gathered earlier, the copy is slower)
    (3000, 2500, 3000),   # a copy from a plotter outside the pass adds to what the storage host counts
    (0, None, 0),
])
def test_destinations_take_the_larger_of_the_storage_count_and_the_senders_view(storage_count, senders_view,
                                                                                  expected):
    hostvars = {"nas": {"plotfleet_storage_offer": offer(storage_count)}, "p1": {}}
    hostvars["p2"] = sender(senders_view) if senders_view is not None else {}
    dests = fleet.move_destinations(hostvars, ["nas"], "p1", None, True, ["p1", "p2"])
    assert [d["incoming_bytes"] for d in dests] == [expected]


def test_in_a_pass_plot_move_takes_its_own_copies_out_of_the_storage_count(tmp_path, home):
    """A plain plotter in a reconcile pass is gathered in its own plot_pass, after its destinations are
    built, so the controller cannot take its copies out (above): the destination carries the storage
    host's count by plot name, and the move policy takes out the plotter's own running copies there (which
    it reserves itself). p2 sends bb (2,500 bytes left) while p1 sends aa (1,000 left): with 9,000 free a
    4,000-byte plot fits for p2 (9,000 - its own 2,500 - p1's 1,000), not when bb is counted twice."""
    a = tmp_path / "a"
    _, offered = offer_with_two_copies(home, a)
    [built] = fleet.move_destinations({"nas": {"plotfleet_storage_offer": offered}, "p2": {}}, ["nas"], "p2",
                                      None, True, ["p1", "p2"])
    assert built["incoming_bytes"] == 3500 and built["incoming_senders_bytes"] == 0
    [destination] = transfer.measure_destinations([built], marks={}, now=10.0)   # as plot_move does
    own = {"id": "bb" * 32, "plot_id": "bb" * 32, "plot_name": NAME % ("bb" * 32), "state": "running",
           "destination": str(a), "host": "10.0.0.5", "bytes_total": 3000, "bytes_done": 500, "source_dev": 1}
    plot = {"path": "/src/" + NAME % ("cc" * 32), "name": NAME % ("cc" * 32), "dir": "/src", "size": 4000, "dev": 1,
            "mtime": 1.0, "plot_id": "cc" * 32, "k": 18}
    decided = move_policy.plan([plot], [destination], [own], max_per_destination=4, max_per_source=4, now=10.0)
    assert [a["destination"]["path"] for a in decided["actions"]] == [str(a)], decided["reasons"]
    assert move_policy.incoming_bytes(destination, [own["plot_name"]]) == 1000
    assert move_policy.incoming_bytes(destination, []) == 3500, "without an own copy: the storage count"
    bigger = dict(plot, size=5600)
    refused = move_policy.plan([bigger], [destination], [own], max_per_destination=4, max_per_source=4, now=10.0)
    assert not refused["actions"] and "1000 bytes other hosts are sending" in refused["reasons"][0], refused
