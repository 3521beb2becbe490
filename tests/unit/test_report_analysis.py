"""`analyze` over plot_info's history: per host, tmp dir, plotter and k statistics, plots per day,
transfers per storage dir (time, MB/s, delay from finish to storage) and failures by kind."""

import json
from pathlib import Path

import pytest

from ansible_collections.plotfleet.chia.plugins.filter import fleet_report
from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_analyze

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "fleet-hostvars.json"
NOW = 1764380000.0
DAY = 86400.0


def plot(ident, started, phases, state="finished", tmp="/mnt/nvme1", plotter="chiapos", k=32, copy=None):
    total = sum(phases) if state == "finished" else None
    return {"id": ident, "state": state, "plotter": plotter, "k": k, "tmp_dir": tmp, "started_ts": started,
            "started": started, "phase_seconds": dict((str(i + 1), s) for i, s in enumerate(phases)),
            "total_seconds": total, "copy_seconds": copy,
            "finished_ts": started + total + (copy or 0) if total else None,
            "ended": started + (total or sum(phases)) + (copy or 0)}


def hostvars():
    history = [plot("a" * 64, NOW - 3 * DAY, [100, 40, 80, 10], copy=20),
               plot("b" * 64, NOW - 2 * DAY, [200, 60, 100, 20], copy=40),
               plot("c" * 64, NOW - 1 * DAY + 100, [300, 80, 120, 30], copy=60),
               plot("d" * 64, NOW - 5000, [50], state="dead"),
               plot("e" * 64, NOW - 4000, [60], state="failed"),
               plot("f" * 64, NOW - 3000, [120, 10, 10, 1], tmp="/mnt/nvme2", plotter="madmax")]
    transfers = [{"plot_id": "a" * 64, "state": "done", "destination": "/srv/plots", "host": "nas1",
                  "bytes_total": 100e6, "started": history[0]["finished_ts"] + 10,
                  "finished": history[0]["finished_ts"] + 20},
                 {"plot_id": "b" * 64, "state": "done", "destination": "/srv/plots", "host": "nas1",
                  "bytes_total": 100e6, "started": history[1]["finished_ts"],
                  "finished": history[1]["finished_ts"] + 50},
                 {"plot_id": "c" * 64, "state": "failed", "failure": "full", "destination": "/srv/full",
                  "host": "nas1"},
                 {"plot_id": "f" * 64, "state": "running", "destination": "/mnt/dst", "host": None}]
    jobs = [dict(plot("9" * 64, NOW - 100, [50], state="plotting"), state="stalled")]
    return {"plotter1": {"plotfleet_host_state": {"jobs": jobs, "history": history, "transfers": transfers,
                                                  "dirs": []}},
            "gone": {"plotfleet_failure": {"task": "gather", "msg": "unreachable: timeout"}}}


@pytest.fixture
def analysis():
    return fleet_analyze.analyze(hostvars(), ["plotter1", "gone"], NOW)


def group(analysis, tmp, plotter):
    return next(g for g in analysis["groups"] if g["tmp_dir"] == tmp and g["plotter"] == plotter)


def test_stats_mean_median_p90_interpolate():
    st = fleet_analyze.stats([10, 20, 30, 40, None, "x"])
    assert (st["n"], st["mean"], st["median"], st["p90"], st["min"], st["max"]) == (4, 25, 25, 37, 10, 40)
    assert fleet_analyze.stats([]) is None and fleet_analyze.stats([7])["p90"] == 7


def test_groups_split_by_host_tmp_dir_plotter_and_k(analysis):
    keys = [(g["host"], g["tmp_dir"], g["plotter"], g["k"]) for g in analysis["groups"]]
    assert keys == [("plotter1", "/mnt/nvme1", "chiapos", 32), ("plotter1", "/mnt/nvme2", "madmax", 32)]


def test_phase_statistics_of_finished_plots_only(analysis):
    chiapos = group(analysis, "/mnt/nvme1", "chiapos")
    assert chiapos["plots"] == 3 and chiapos["failed"] == 1 and chiapos["dead"] == 1
    phase1 = chiapos["phase_seconds"]["1"]
    assert (phase1["n"], phase1["mean"], phase1["median"], phase1["p90"]) == (3, 200, 200, 280)
    assert chiapos["phase_seconds"]["total"]["median"] == 380
    assert chiapos["phase_seconds"]["copy"]["mean"] == 40


def test_plots_per_day_is_the_last_24_h_once_the_history_covers_a_day(analysis):
    chiapos = group(analysis, "/mnt/nvme1", "chiapos")   # its history goes back 3 days
    assert (chiapos["plots_per_day"], chiapos["window_s"], chiapos["plots_in_window"]) == (1, DAY, 1)
    assert chiapos["plots_last_24h"] == 1
    assert [(r["day"], r["plots"]) for r in analysis["per_day"]][:1] == [("2025-11-26", 1)]
    fleet = analysis["plots"]      # the same rule over every host's history: c and f in the last 24 h
    assert (fleet["plots_per_day"], fleet["window_s"], fleet["plots_in_window"]) == (2, DAY, 2)


def test_a_history_of_minutes_gives_a_count_and_its_window_not_a_rate(analysis):
    madmax = group(analysis, "/mnt/nvme2", "madmax")     # one plot, started 50 min ago
    assert madmax["plots_per_day"] is None
    assert (madmax["plots_in_window"], madmax["window_s"]) == (1, 3000)


def test_a_history_of_hours_gives_a_rate_over_its_window():
    history = [plot(c * 64, NOW - 4 * 3600 + i * 1800, [600, 60, 60, 30]) for i, c in enumerate("abc")]
    found = fleet_analyze.analyze({"p": {"plotfleet_host_state": {"history": history}}}, ["p"], NOW)
    assert found["plots"]["window_s"] == 4 * 3600
    assert found["plots"]["plots_per_day"] == pytest.approx(3 * 6)    # 3 plots in 4 h


def test_transfers_per_storage_dir(analysis):
    rows = dict(((r["host"], r["destination"]), r) for r in analysis["transfers"])
    plots = rows[("nas1", "/srv/plots")]
    assert (plots["done"], plots["failed"], plots["bytes_done"]) == (2, 0, 200e6)
    assert plots["seconds"]["median"] == 30           # 10 s and 50 s
    assert plots["mb_per_s"]["mean"] == pytest.approx((10 + 2) / 2)
    assert plots["delay_s"]["median"] == 35           # finish -> storage: 20 s and 50 s
    assert rows[("nas1", "/srv/full")]["failed"] == 1
    assert rows[("plotter1", "/mnt/dst")]["running"] == 1    # a local move belongs to its plotter


def test_failures_by_kind(analysis):
    kinds = dict((row["host"], row["kinds"]) for row in analysis["failures"])
    assert kinds["plotter1"] == {"plot_dead": 1, "plot_failed": 1, "plot_stalled": 1, "transfer_full": 1}
    assert kinds["gone"] == {"host_unreachable": 1}


def test_text_table_names_every_group_and_phase(analysis):
    text = fleet_report.analysis_table(analysis)
    assert "plotter1  tmp /mnt/nvme1  chiapos k32: 3 plots" in text
    assert "  phase 1       3m20s      3m20s      4m40s     3" in text
    assert "madmax k32: 1 plots, 1 in 50m00s (no rate under 1h00m)" in text     # 50 min of history: no rate
    assert "nas1:/srv/plots  2 done" in text and "1 transfer_full" in text and "gone: 1 host_unreachable" in text


def test_recorded_fleet_state_is_analysed():
    recorded = json.loads(FIXTURE.read_text())
    analysis = fleet_analyze.analyze(recorded["hostvars"], recorded["hosts"], recorded["recorded"])
    plotters = set(g["plotter"] for g in analysis["groups"])
    assert {"chiapos", "pos2"} <= plotters
    for g in analysis["groups"]:
        if g["plots"]:
            assert g["phase_seconds"]["total"]["n"] == g["plots"] or g["plotter"] == "pos2"
    assert any(r["done"] and r["mb_per_s"] for r in analysis["transfers"])
    assert any(r.get("kinds", {}).get("host_unreachable") for r in analysis["failures"])
