"""Controller side of destination choice: a storage host's offer carries each dir's mount state and
problem (issue 10 items 7, 8), the plotters' destinations keep them, and a storage dir's problem is not
a problem of the whole host."""

from ansible_collections.plotfleet.chia.plugins.filter import fleet

STATE = {"dirs": [
    {"path": "/srv/a", "exists": True, "error": None, "free_bytes": 100, "total_bytes": 200, "mount_point": "/srv/a"},
    {"path": "/srv/b", "exists": True, "error": None, "free_bytes": 900, "total_bytes": 999, "mount_point": "/"},
    {"path": "/srv/gone", "exists": False, "error": "No such file or directory", "free_bytes": None,
     "total_bytes": None, "mount_point": None},
]}


def test_offer_carries_mount_state_and_problem_per_dir():
    offer = fleet.storage_offer(STATE, ["/srv/a/", "/srv/b", "/srv/gone"], "10.0.0.5", must_be_mount=True)
    assert [(o["path"], o["mounted"], o["problem"]) for o in offer] == [
        ("/srv/a/", True, None), ("/srv/b", False, None), ("/srv/gone", None, "No such file or directory")]
    assert [o["mounted"] for o in fleet.storage_offer({"dirs": [{"path": "/x", "free_bytes": 1}]}, ["/x"], "h")] \
        == [None]  # not reported: unknown, the worker checks at the far end


def test_destinations_keep_a_dir_with_a_problem_and_leave_out_an_unknown_one():
    hv = {"nas": {"plotfleet_storage_offer": fleet.storage_offer(STATE, ["/srv/a", "/srv/b", "/srv/gone"],
                                                                 "10.0.0.5", must_be_mount=True)},
          "down": {"plotfleet_storage_offer": fleet.storage_offer({}, ["/srv/c"], "down")}}
    dests = fleet.move_destinations(hv, ["nas", "down"], "p1", "/k")
    assert [(d["path"], d.get("mounted"), d.get("problem"), d["free_bytes"]) for d in dests] == [
        ("/srv/a", True, None, 100), ("/srv/b", False, None, 900),
        ("/srv/gone", None, "No such file or directory", None)]


def test_a_storage_dir_problem_does_not_fail_the_host_but_a_tmp_dir_problem_does():
    configured = {"plotfleet_tmp_dirs": ["/srv/gone"], "plotfleet_storage_dirs": ["/srv/a", "/srv/gone"]}
    assert fleet.dir_problems(STATE, configured) == ["plotfleet_tmp_dirs: /srv/gone: No such file or directory"]
    assert fleet.dir_problems(STATE, {"plotfleet_storage_dirs": ["/srv/gone"]}) == []
    assert fleet.dir_problems(STATE, {"plotfleet_storage_dirs": ["/srv/gone"]}, per_dir=[]) == [
        "plotfleet_storage_dirs: /srv/gone: No such file or directory"]
