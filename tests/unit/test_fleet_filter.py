"""Controller filters: status document, table (100 columns), bars, JMESPath, destinations, setup checks."""

import json
import unicodedata

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.plotfleet.chia.plugins.filter import fleet
from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_table

ID_A = "3f2a9c1e" + "0" * 56
ID_B = "ab" * 32
LONG_REASON = ("tmp /mnt/nvme1: 2 jobs before phase 2:1 (limit 2); and a reason long enough that it has to "
               "wrap onto a second line in a 100 column terminal")


def job(**over):
    base = {"id": ID_A, "plotter": "chiapos", "k": 32, "pid": 100, "state": "plotting", "phase": 2,
            "step": "2:3", "progress": 0.48, "elapsed_s": 3723, "eta_s": 5000, "tmp_dir": "/mnt/nvme1",
            "dst_dir": "/mnt/dst", "log": "/var/log/plotfleet/a.log"}
    base.update(over)
    return base


def hostvars():
    return {
        "plotter1": {
            "plotfleet_tmp_dirs": ["/mnt/nvme1"], "plotfleet_dst_dirs": ["/mnt/dst"],
            "plotfleet_host_state": {
                "jobs": [job(), job(id=ID_B, plotter="madmax", state="stalled", step="1:7", progress=0.13,
                                    elapsed_s=90000, eta_s=None,
                                    tmp_dir="/very/long/path/to/a/temporary/nvme/disk-number-two",
                                    dst_dir="/mnt/storage/farm/destination-array-seven")],
                "history": [job(state="finished", id="cd" * 32), job(state="dead", id="ef" * 32)],
                "dirs": [{"path": "/mnt/nvme1", "exists": True, "free_bytes": 500 * 2 ** 30,
                          "total_bytes": 1000 * 2 ** 30, "temp_bytes": 200 * 2 ** 30},
                         {"path": "/mnt/dst", "exists": True, "free_bytes": 2 ** 40, "total_bytes": 2 ** 41,
                          "plot_count": 3}],
                "transfers": [{"id": "t1", "plot_id": "cd" * 32, "source": "/mnt/dst/plot-k32-cd.plot",
                               "destination": "/srv/plots", "host": "nas1", "state": "running",
                               "bytes_total": 200, "bytes_done": 50, "rate_bps": 1.2e8}],
                "load": {"load1": 3.2, "load5": 3.0, "load15": 2.9, "cpus": 16},
                "warnings": ["ignoring unreadable record /x/jobs/y.json"],
            },
            "plotfleet_start_result": {"changed": False, "started": [], "reasons": [LONG_REASON]},
            "plotfleet_move_result": {"changed": True, "started": [], "completed": [], "reasons": [],
                                      "moved": [{"plot_id": "cd" * 32, "source": "/a", "destination": "/b"}]},
        },
        "nas1": {
            "plotfleet_storage_dirs": ["/srv/plots"],
            "plotfleet_host_state": {"jobs": [], "history": [], "dirs": [
                {"path": "/srv/plots", "exists": True, "free_bytes": 10 * 2 ** 40, "total_bytes": 16 * 2 ** 40}]},
        },
        "gone": {"plotfleet_failure": {"task": "Gather plots, transfers and disks", "msg": "unreachable: timeout"}},
        "silent": {},
    }


@pytest.fixture
def status():
    return fleet.fleet_status(hostvars(), ["plotter1", "nas1", "gone", "silent"],
                              ["plotter1", "gone", "silent"], ["nas1"], now=1764380000)


def columns(line):
    """Terminal columns of a line (wide east-asian characters count two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


# ------------------------------------------------------------------ bars and durations

@pytest.mark.parametrize("ascii", [False, True])
@pytest.mark.parametrize("progress", [0, 0.01, 0.33, 0.5, 0.999, 1, 1.7, -1])
def test_bar_has_exact_width(progress, ascii):
    assert len(fleet.progress_bar(progress, 10, ascii)) == 10


def test_bar_fills_in_proportion():
    assert fleet.progress_bar(0.5, 10, True) == "#####....."
    assert fleet.progress_bar(1.0, 4, True) == "####"
    assert fleet.progress_bar(0.0, 4, True) == "...."
    assert fleet.progress_bar(1.0, 4) == u"\u2588" * 4
    assert fleet.progress_bar(0.25, 2) == u"\u258c\u2591"  # a quarter of a 2-cell bar is half a cell
    assert fleet.progress_bar(0.0625, 2) == u"\u258f\u2591"  # one eighth of a cell


def test_bar_blank_when_progress_unknown():
    assert fleet.progress_bar(None, 6) == " " * 6


@pytest.mark.parametrize("seconds,text", [(None, "-"), (5, "5s"), (65, "1m05s"), (3723, "1h02m"),
                                          (90000, "1d01h"), (-3, "0s")])
def test_duration(seconds, text):
    assert fleet_table.duration(seconds) == text


# ------------------------------------------------------------------ the document

def test_document_keys(status):
    assert set(status) == {"version", "generated", "generated_iso", "check_mode", "summary", "jobs",
                           "transfers", "hosts", "failures"}
    assert status["version"] == 1 and status["generated_iso"] == "2025-11-29T01:33:20Z"
    assert set(status["summary"]) >= {"hosts", "hosts_ok", "hosts_failed", "jobs", "jobs_by_state", "bad_jobs",
                                      "started", "would_start", "moved", "transfers_running", "failures"}
    row = status["jobs"][0]
    assert {"host", "id", "id_short", "plotter", "k", "state", "step", "progress", "elapsed_s", "eta_s",
            "tmp_dir", "dst_dir", "bad"} <= set(row)
    host = status["hosts"][0]
    assert {"name", "roles", "ok", "error", "jobs", "recent", "dirs", "transfers", "load", "warnings",
            "start", "move", "history_counts"} <= set(host)
    json.dumps(status)  # plain JSON


def test_document_counts_and_failures(status):
    summary = status["summary"]
    assert summary["hosts"] == 4 and summary["hosts_ok"] == 2 and summary["hosts_failed"] == 2
    assert summary["jobs"] == 2 and summary["jobs_by_state"] == {"plotting": 1, "stalled": 1}
    assert summary["bad_jobs"] == 1 and summary["moved"] == 1 and summary["transfers_running"] == 1
    failures = {f["host"]: f for f in status["failures"]}
    assert failures["gone"]["msg"] == "unreachable: timeout"
    assert "no result" in failures["silent"]["msg"]
    roles = {h["name"]: h["roles"] for h in status["hosts"]}
    assert roles == {"plotter1": ["plotter"], "nas1": ["storage"], "gone": ["plotter"], "silent": ["plotter"]}
    dirs = {d["path"]: d["role"] for d in status["hosts"][0]["dirs"]}
    assert dirs == {"/mnt/nvme1": "tmp", "/mnt/dst": "dst"}
    assert status["hosts"][1]["dirs"][0]["role"] == "storage"


def test_plot_move_transfers_replace_plot_info_transfers():
    hv = hostvars()
    hv["plotter1"]["plotfleet_move_result"]["transfers"] = []
    status = fleet.fleet_status(hv, ["plotter1"], ["plotter1"], [])
    assert status["transfers"] == [] and status["summary"]["transfers_running"] == 0


# ------------------------------------------------------------------ the table

@pytest.mark.parametrize("ascii", [False, True])
def test_table_fits_in_100_columns(status, ascii):
    text = fleet.fleet_table(status, 100, ascii)
    lines = text.splitlines()
    assert max(columns(line) for line in lines) <= 100
    assert len(lines) > 10
    if ascii:
        assert all(ord(ch) < 128 for ch in text)


def test_table_rows_show_each_column(status):
    """Each job row shows every column; its tmp -> dst may have a line of its own under the row."""
    lines = fleet.fleet_table(status).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("HOST"))
    header = " ".join(lines[at:at + 2])
    for name in ("ID", "PLOTTER", "K", "TMP -> DST", "STEP", "PROGRESS", "ELAPSED", "ETA", "STATE"):
        assert name in header

    def row_of(job_id):
        i = next(i for i, line in enumerate(lines) if line.startswith("plotter1") and job_id in line)
        return lines[i] + (" " + lines[i + 1] if lines[i + 1].startswith(" ") else "")

    row = row_of("3f2a9c1e")
    for text in ("chiapos", "32", "/mnt/nvme1", "/mnt/dst", "2:3", " 48%", "1h02m", "1h23m", "plotting"):
        assert text in row
    stalled = row_of("abababab")
    assert "STALLED!" in stalled and "disk-number-two" in stalled and "destination-array-seven" in stalled


def test_table_host_blocks(status):
    text = fleet.fleet_table(status, 100, True)
    assert "-- plotter1 (plotter)  load 3.20/16 cpu" in text
    assert "500.0 GiB free of 1000.0 GiB" in text and "temp 200.0 GiB" in text
    assert "nas1:/srv/plots" in text and " 25%" in text  # transfer in flight
    assert "wait   tmp /mnt/nvme1: 2 jobs before phase 2:1 (limit 2)" in text  # why nothing started
    assert "100 column terminal" in text  # the wrapped reason is complete
    assert "FAILED unreachable: timeout" in text
    assert "1 dead, 1 finished (history)" in text
    assert "moved cdcdcdcd" in text


def test_storage_dirs_show_what_is_still_coming(status):
    """plotter1's running transfer (200 bytes, 50 sent) goes to nas1:/srv/plots; a storage host is
    matched by the address it offers as well as by its name, a plotter's local copy by the plotter."""
    (nas_dir,) = [d for d in status["hosts"][1]["dirs"]]
    assert nas_dir["role"] == "storage" and nas_dir["incoming"] == {"transfers": 1, "bytes": 150}
    assert "dirs" not in status["hosts"][0] or all("incoming" not in d for d in status["hosts"][0]["dirs"])
    assert "16.0 TiB  1 incoming 150 B" in fleet.fleet_table(status, 100, True)

    hv = hostvars()
    hv["nas1"]["plotfleet_storage_offer"] = fleet.storage_offer(hv["nas1"]["plotfleet_host_state"], ["/srv/plots"],
                                                                "10.0.0.9")
    hv["plotter1"]["plotfleet_host_state"]["transfers"] += [
        dict(hv["plotter1"]["plotfleet_host_state"]["transfers"][0], id="t2", host="10.0.0.9", bytes_done=None),
        dict(hv["plotter1"]["plotfleet_host_state"]["transfers"][0], id="t3", host="10.0.0.9", state="done"),
        dict(hv["plotter1"]["plotfleet_host_state"]["transfers"][0], id="t4", destination="/srv/other")]
    hv["plotter1"]["plotfleet_move_result"] = {"skipped": True}
    doc = fleet.fleet_status(hv, ["plotter1", "nas1"], ["plotter1"], ["nas1"], now=1764380000)
    assert doc["hosts"][1]["dirs"][0]["incoming"] == {"transfers": 2, "bytes": 150 + 200}


def test_table_narrower_width_still_fits(status):
    assert max(columns(line) for line in fleet.fleet_table(status, 90).splitlines()) <= 90


def test_table_empty_fleet():
    text = fleet.fleet_table(fleet.fleet_status({}, [], [], []))
    assert "(no plotting jobs)" in text


def test_check_mode_title():
    hv = {"w": {"plotfleet_host_state": {"jobs": []},
                "plotfleet_start_result": {"would_start": [{"tmp_dir": "/t", "dst_dir": "/d"}], "reasons": []}}}
    status = fleet.fleet_status(hv, ["w"], ["w"], [], check_mode=True)
    text = fleet.fleet_table(status)
    assert status["check_mode"] is True and status["summary"]["would_start"] == 1
    assert "[check mode: would start 1," in text and "would start /t -> /d" in text


# ------------------------------------------------------------------ limited passes, switches, check mode

def limited_hostvars():
    """A fleet of two plotters and two storage hosts; the pass ran with --limit plotter1."""
    hv = hostvars()
    hv["plotter2"] = {"plotfleet_host_state": {"jobs": [], "history": []}}
    hv["s1"] = {"plotfleet_storage_dirs": ["/srv/a"]}  # inventory vars only: never gathered
    return hv


def test_limited_pass_reports_only_the_hosts_it_ran_on():
    status = fleet.fleet_status(limited_hostvars(), ["plotter1"], ["plotter1", "plotter2"], ["s1"],
                                now=1764380000)
    assert [h["name"] for h in status["hosts"]] == ["plotter1"]
    assert status["summary"]["hosts"] == 1 and status["summary"]["hosts_failed"] == 0
    assert status["failures"] == [] and "no result" not in fleet.fleet_table(status)


def test_storage_host_left_out_of_the_pass_is_named_in_the_move_reasons():
    status = fleet.fleet_status(limited_hostvars(), ["plotter1"], ["plotter1", "plotter2"], ["s1", "plotter1"],
                                now=1764380000)
    reasons = status["hosts"][0]["move"]["reasons"]
    assert reasons == ["storage host s1 not in this pass (--limit?): no destination there"]  # not itself
    assert "move   storage host s1 not in this pass (--limit?): no destination there" in fleet.fleet_table(status)


def test_storage_host_that_failed_is_named_in_the_move_reasons():
    hv = hostvars()
    status = fleet.fleet_status(hv, ["plotter1", "nas1", "gone"], ["plotter1", "gone"], ["nas1", "gone"])
    assert status["hosts"][0]["move"]["reasons"] == ["storage host gone failed this pass: no destination there"]
    assert status["hosts"][2]["move"]["reasons"] == []  # a failed plotter moved nothing: no reason to give


def test_every_storage_host_in_the_pass_gives_no_move_reason(status):
    assert status["hosts"][0]["move"]["reasons"] == []


@pytest.mark.parametrize("value", [False, "false", "no"])
def test_starts_disabled_shows_a_wait_line(value):
    hv = hostvars()
    hv["plotter1"].pop("plotfleet_start_result")  # plot_start skipped: starts are disabled
    hv["plotter1"]["plotfleet_start_enabled"] = value
    status = fleet.fleet_status(hv, ["plotter1"], ["plotter1"], [])
    assert status["hosts"][0]["start"]["reasons"] == [
        "starts disabled (plotfleet_start_enabled=false): no new plots this pass"]
    assert "wait   starts disabled (plotfleet_start_enabled=false)" in fleet.fleet_table(status)


def test_starts_enabled_by_default_gives_no_disabled_line():
    hv = hostvars()
    hv["plotter1"].pop("plotfleet_start_result")
    status = fleet.fleet_status(hv, ["plotter1", "nas1"], ["plotter1"], ["nas1"])
    assert status["hosts"][0]["start"]["reasons"] == []
    assert status["hosts"][1]["start"]["reasons"] == []  # a storage host never starts plots


def test_moves_disabled_says_so():
    hv = hostvars()
    hv["plotter1"]["plotfleet_move_enabled"] = "false"
    hv["plotter1"].pop("plotfleet_move_result")
    status = fleet.fleet_status(hv, ["plotter1"], ["plotter1"], [])
    assert status["hosts"][0]["move"]["reasons"] == [
        "moves disabled (plotfleet_move_enabled=false): finished plots stay where they are"]


def test_check_mode_does_not_count_earlier_transfers_as_moved():
    """In check mode plot_move lists a transfer that finished before this pass under `completed`
    (it acknowledges nothing): that is not a move of this pass; what it would move is counted apart."""
    earlier = {"id": "t1", "plot_id": "cd" * 32, "source": "/mnt/dst/p.plot", "destination": "/srv/plots"}
    would = {"plot": "p2.plot", "source": "/mnt/dst/p2.plot", "destination": "/srv/plots", "method": "rsync"}
    hv = {"w": {"plotfleet_host_state": {"jobs": []},
                "plotfleet_move_result": {"moved": [], "started": [], "completed": [earlier],
                                          "would_move": [would, dict(would, plot="p3.plot")], "reasons": []}}}
    check = fleet.fleet_status(hv, ["w"], ["w"], [], check_mode=True)
    assert check["summary"]["moved"] == 0 and check["summary"]["would_move"] == 2
    assert fleet.pass_summary(check)["moved"] == 0
    assert "moved 0" in fleet.fleet_table(check).splitlines()[0]
    real = fleet.fleet_status(hv, ["w"], ["w"], [], check_mode=False)
    assert real["summary"]["moved"] == 1  # a real pass acknowledges it: moved since the last pass


# ------------------------------------------------------------------ JMESPath

def test_query_selects_stalled_jobs(status):
    assert fleet.fleet_query(status, "jobs[?state=='stalled'].id_short") == ["abababab"]


def test_query_one_hosts_disks(status):
    paths = fleet.fleet_query(status, "hosts[?name=='nas1'].dirs[].path")
    assert paths == ["/srv/plots"]


def test_query_failures_and_summary(status):
    assert fleet.fleet_query(status, "failures[].host") == ["gone", "silent"]
    assert fleet.fleet_query(status, "summary.jobs") == 2
    assert fleet.fleet_query(status, "") == status


def test_query_invalid_expression_names_the_variable(status):
    with pytest.raises(AnsibleFilterError, match="plotfleet_query"):
        fleet.fleet_query(status, "jobs[?state==")


def test_pass_summary(status):
    summary = fleet.pass_summary(status)
    assert summary["started"] == 0 and summary["moved"] == 1 and summary["failures"] == 2
    assert summary["failed_hosts"][0] == "gone: unreachable: timeout"
    assert "HOST" in summary["table"]


# ------------------------------------------------------------------ storage offers and destinations

def test_destinations_local_and_remote():
    state = {"dirs": [{"path": "/srv/a", "free_bytes": 100, "total_bytes": 200}]}
    hv = {
        "p1": {"plotfleet_storage_offer": fleet.storage_offer(state, ["/srv/a/"], "p1")},
        "nas": {"plotfleet_storage_offer": fleet.storage_offer(state, ["/srv/a"], "10.0.0.5", "farm", 2222, True, 5)},
        "down": {"plotfleet_storage_offer": fleet.storage_offer({}, ["/srv/b"], "down")},
    }
    dests = fleet.move_destinations(hv, ["p1", "nas", "down", "missing"], "p1", "/root/.ssh/k")
    assert dests == [
        {"path": "/srv/a/", "host": None, "user": None, "port": None, "ssh_key": None, "must_be_mount": False,
         "free_bytes": 100, "min_free_bytes": 0, "incoming_bytes": 0, "cpu_aes": None},
        {"path": "/srv/a", "host": "10.0.0.5", "user": "farm", "port": 2222, "ssh_key": "/root/.ssh/k",
         "must_be_mount": True, "free_bytes": 100, "min_free_bytes": 5, "incoming_bytes": 0, "cpu_aes": None},
    ]
    everything = fleet.move_destinations(hv, ["down"], "p1", known_free_only=False)
    assert [d["host"] for d in everything] == ["down"]


def test_destinations_count_what_other_plotters_are_still_sending():
    """p2 and p3 are sending to nas:/srv/a (their plot_info this pass); p1 (the plotter asking) is too,
    but plot_move reserves its own. p3 also copies to p1's own storage dir (host null on p3: keyed by
    p3's name, which is not p1) and p1 is storage for its local dir: p2's rsync there counts."""
    def running(host, dest, total, done, state="running"):
        return {"host": host, "destination": dest, "state": state, "bytes_total": total, "bytes_done": done}
    state = {"dirs": [{"path": "/srv/a", "free_bytes": 1000}, {"path": "/local", "free_bytes": 500}]}
    hv = {
        "nas": {"plotfleet_storage_offer": fleet.storage_offer(state, ["/srv/a"], "10.0.0.5")},
        "p1": {"plotfleet_storage_offer": fleet.storage_offer(state, ["/local"], "10.0.0.1"),
               "plotfleet_host_state": {"transfers": [running("10.0.0.5", "/srv/a", 100, 0)]}},
        "p2": {"plotfleet_host_state": {"transfers": [
            running("10.0.0.5", "/srv/a/", 300, 100), running("10.0.0.5", "/srv/a", 50, 50),
            running("10.0.0.5", "/srv/a", 999, 0, state="done"), running("10.0.0.5", "/srv/a", 999, 0, "failed"),
            running("10.0.0.1", "/local", 40, 10)]}},
        "p3": {"plotfleet_host_state": {"transfers": [running("10.0.0.5", "/srv/a", 70, None),
                                                      running(None, "/local", 80, 0)]}},
        "gone": {"plotfleet_host_state": {"unreachable": True}},
    }
    dests = fleet.move_destinations(hv, ["nas", "p1"], "p1", senders=["p1", "p2", "p3", "gone", "missing"])
    assert [(d["host"], d["path"], d["incoming_bytes"]) for d in dests] == [
        ("10.0.0.5", "/srv/a", 200 + 0 + 70), (None, "/local", 30)]
    assert [d["incoming_bytes"] for d in fleet.move_destinations(hv, ["nas"], "p1")] == [0]


# ------------------------------------------------------------------ dir and setup checks

def test_dir_problems_name_the_variable():
    state = {"dirs": [{"path": "/mnt/gone", "exists": False, "error": "No such file or directory"},
                      {"path": "/mnt/ok", "exists": True, "error": None}],
             "warnings": ["dst dir /mnt/odd: Permission denied"]}
    problems = fleet.dir_problems(state, {"plotfleet_tmp_dirs": ["/mnt/gone", "/mnt/ok"],
                                          "plotfleet_dst_dirs": ["/mnt/odd"]})
    assert problems == ["plotfleet_dst_dirs: dst dir /mnt/odd: Permission denied",
                        "plotfleet_tmp_dirs: /mnt/gone: No such file or directory"]


def test_setup_problems_each_with_a_fix():
    checks = {
        "host": "p1", "python_version": "3.6.9", "ssh_key": None,
        "plotter": {"kind": "chia", "binary": "/opt/chia"},
        "plotter_probe": {"rc": 2, "stderr": "No such file or directory"},
        "dirs": [{"item": {"variable": "plotfleet_tmp_dirs", "path": "/mnt/t"}, "stat": {"exists": False}},
                 {"item": {"variable": "plotfleet_dst_dirs", "path": "/mnt/d"},
                  "stat": {"exists": True, "isdir": True, "writeable": True}}],
        "ssh": [{"item": {"host": "nas", "user": "farm", "path": "/srv/a b"}, "rc": 255,
                 "stderr": "Permission denied (publickey)."}],
    }
    problems = fleet.setup_problems(checks)
    text = "\n".join(problems)
    assert len(problems) == 6
    assert "3.6.9" in text and "plotfleet_tmp_dirs: /mnt/t does not exist" in text
    assert "plotfleet_plotter_binary" in text and "Chia.app" in text
    assert "plotfleet_farmer_public_key is not set" in text and "plotfleet_pool_contract_address" in text
    assert "farm@nas:/srv/a b" in text and "ssh-copy-id" in text
    assert all("Fix:" in p or "need" in p for p in problems)


def test_probes_are_argv_lists():
    assert fleet.plotter_probe({"kind": "chiapos", "python": "/v/bin/python"}) == ["/v/bin/python", "-c",
                                                                                   "import chiapos"]
    assert fleet.plotter_probe({"kind": "madmax"}) == ["chia_plot", "--version"]
    argv = fleet.ssh_probe({"host": "nas", "path": "/srv/it's", "port": 2222, "ssh_key": "/k", "user": "u"})
    assert argv[:5] == ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
    assert "-p" in argv and "u@nas" in argv
    assert argv[-1] == "test -d '/srv/it'\"'\"'s' && test -w '/srv/it'\"'\"'s'"


def test_dead_jobs_temp_files_deleted_and_left():
    names = ["/mnt/nvme1/plot-%s.plot.table1.tmp" % ("ef" * 32), "/mnt/nvme1/plot-%s.sort.tmp" % ("ef" * 32)]
    dead = job(state="dead", id="ef" * 32, tmp_bytes=3 * 2 ** 30, tmp_files=names)
    other = job(state="failed", id="12" * 32, tmp_bytes=2 ** 30,
                tmp_files=["/mnt/nvme1/plot-%s.table2.tmp" % ("12" * 32)])
    host = {"plotfleet_host_state": {"jobs": [], "history": [dead, other], "dirs": []},
            "plotfleet_cleanup_dead_tmp": True,
            "plotfleet_cleanup_result": {"changed": True, "deleted": dead["tmp_files"]}}
    status = fleet.fleet_status({"p": host}, ["p"], ["p"], [], now=1764380000)
    cleanup = status["hosts"][0]["cleanup"]
    assert cleanup == {"enabled": True, "deleted": dead["tmp_files"], "would_delete": [], "left": other["tmp_files"],
                       "left_bytes": 2 ** 30}
    text = fleet.fleet_table(status)
    assert "deleted 2 temp files of dead jobs" in text and "1 temp files of dead jobs hold 1.0 GiB" in text
    assert "is off" not in text
    assert status["summary"]["temp_files_deleted"] == 2
    host = dict(host, plotfleet_cleanup_dead_tmp=False, plotfleet_cleanup_result={"skipped": True})
    text = fleet.fleet_table(fleet.fleet_status({"p": host}, ["p"], ["p"], [], now=1764380000))
    assert "3 temp files of dead jobs hold 4.0 GiB (plotfleet_cleanup_dead_tmp is off)" in text
    # -e plotfleet_cleanup_dead_tmp=false arrives as text: still off
    host = dict(host, plotfleet_cleanup_dead_tmp="false")
    text = fleet.fleet_table(fleet.fleet_status({"p": host}, ["p"], ["p"], [], now=1764380000))
    assert "(plotfleet_cleanup_dead_tmp is off)" in text
    # a stopped job's leftovers count like a dead job's
    stopped = job(state="stopped", id="34" * 32, tmp_bytes=2 ** 30,
                  tmp_files=["/mnt/nvme1/plot-%s.table3.tmp" % ("34" * 32)])
    host = dict(host, plotfleet_host_state={"jobs": [], "history": [stopped], "dirs": []})
    text = fleet.fleet_table(fleet.fleet_status({"p": host}, ["p"], ["p"], [], now=1764380000))
    assert "1 temp files of dead jobs hold 1.0 GiB" in text
    # Check mode: plot_stop lists what it would delete and deletes nothing.
    host = dict(host, plotfleet_cleanup_dead_tmp=True,
                plotfleet_cleanup_result={"changed": True, "deleted": [], "temp_files": dead["tmp_files"]})
    text = fleet.fleet_table(fleet.fleet_status({"p": host}, ["p"], ["p"], [], check_mode=True, now=1764380000))
    assert "would delete 2 temp files of dead jobs" in text
