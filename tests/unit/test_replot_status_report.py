"""Replot in the status, the controller's side (issue 13): a storage host's plot_info replot_status (real k18
plots, v1 from chiapos and v2 from chia_rs, and a real journal) in the status document per dir, per host and
per fleet (sums; the fleet ETA from the summed arrival rate), the table's lines, a JMESPath query, the HTML
report's replot section with the journal, the report JSON and the Prometheus metrics read back by
prometheus_client. With replot off none of it appears."""

import os
import time

import pytest
import replot_lib as lib
from test_report_html import Page

from ansible_collections.plotfleet.chia.plugins.filter import fleet, fleet_report
from ansible_collections.plotfleet.chia.plugins.module_utils import metrics, replot, storage_state
from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_table

parser = pytest.importorskip("prometheus_client.parser", reason="prometheus_client (requirements-test.txt)")

NOW = time.time()


def storage_dir(tmp_path, name, v1_count, v2_count):
    directory = tmp_path / name
    directory.mkdir()
    for i, src in enumerate(lib.og_plots(v1_count)):
        lib.place(directory, src, "202%d-01-01-00-00" % i)
    for src in lib.v2_plots(v2_count):
        lib.place(directory, src)
    return str(directory)


def dir_row(path):
    return {"path": path, "exists": True, "error": None, "free_bytes": 10 ** 6, "total_bytes": 10 ** 9,
            "plots_v1": 0, "plot_bytes_v1": 0, "plots_v2": 0, "plot_bytes_v2": 0, "temp_bytes": 0}


@pytest.fixture(scope="module")
def fleet_state(tmp_path_factory):
    """storage1: d1 (2 old, 1 new that just landed, a journal with 2 deletions and 1 interrupted) and d2
    (2 old, no new): replot on in both; plotter1: no replot."""
    tmp_path = tmp_path_factory.mktemp("replot-status")
    d1, d2 = storage_dir(tmp_path, "d1", 2, 1), storage_dir(tmp_path, "d2", 2, 0)
    journal = str(tmp_path / "journal.jsonl")
    real = os.path.realpath(d1)
    for i, t in enumerate((NOW - 7200, NOW - 3600)):
        gone = {"dir": real, "name": "plot-k18-2019-01-0%d-00-00-%s.plot" % (i + 1, "%x" % i * 64), "size": 5000 + i,
                "plot_id": "%x" % i * 64, "why": "v1 k18 uncompressed plot (og, 2019-01-01 00:00) replaced by v2 k18",
                "for": "plot-k18-%s.plot2" % ("f" * 64), "ino": 10 + i}
        replot.append_journal(journal, dict(gone, event="deleting"), now=t)
        replot.append_journal(journal, dict(gone, event="deleted"), now=t)
    replot.append_journal(journal, {"event": "deleting", "dir": real, "name": "plot-k18-2019-02-01-00-00-%s.plot" % (
        "9" * 64), "size": 77, "plot_id": "9" * 64, "for": "plot-k18-%s.plot2" % ("e" * 64), "ino": 99}, now=NOW - 60)
    conf = {"enabled": True, "storage_dirs": [d1, d2], "journal": journal}
    state = {"jobs": [], "history": [], "transfers": [], "load": {}, "dirs": [dir_row(d1), dir_row(d2)],
             "replot_status": storage_state.replot_status(conf, None, NOW)}
    plotter = {"jobs": [], "history": [], "transfers": [], "load": {}, "dirs": [dict(dir_row("/mnt/dst"))]}
    hostvars = {"storage1": {"plotfleet_host_state": state, "plotfleet_storage_dirs": [d1, d2]},
                "plotter1": {"plotfleet_host_state": plotter, "plotfleet_dst_dirs": ["/mnt/dst"]}}
    return {"d1": d1, "d2": d2, "state": state, "hostvars": hostvars}


def status_of(hostvars):
    return fleet.fleet_status(hostvars, ["plotter1", "storage1"], ["plotter1"], ["storage1"], False, NOW)


def off(fleet_state):
    state = dict(fleet_state["state"])
    del state["replot_status"]
    return dict(fleet_state["hostvars"], storage1=dict(fleet_state["hostvars"]["storage1"], plotfleet_host_state=state))


def storage_dirs(status):
    (host,) = [h for h in status["hosts"] if h["name"] == "storage1"]
    return host, dict((row["path"], row) for row in host["dirs"])


def test_the_document_carries_replot_per_dir_host_and_fleet(fleet_state):
    status = status_of(fleet_state["hostvars"])
    host, rows = storage_dirs(status)
    found = fleet_state["state"]["replot_status"]
    d1, d2 = found[fleet_state["d1"]], found[fleet_state["d2"]]
    assert rows[fleet_state["d1"]]["replot"] == d1 and rows[fleet_state["d2"]]["replot"] == d2
    assert d1["arrived"]["count"] == 1 and d2["arrived"]["count"] == 0 and d2["eta_s"] is None
    fleet_sum = status["summary"]["replot"]
    assert fleet_sum == host["replot"]
    assert fleet_sum["dirs"] == 2 and fleet_sum["old"]["count"] == 4 == d1["old"]["count"] + d2["old"]["count"]
    assert fleet_sum["old"]["bytes"] == d1["old"]["bytes"] + d2["old"]["bytes"]
    assert fleet_sum["new"] == d1["new"] and fleet_sum["deleted"] == {"count": 2, "bytes": 10001}
    plot_bytes = fleet_sum["old"]["bytes"] + d1["new"]["bytes"]
    assert fleet_sum["percent"] == round(100.0 * d1["new"]["bytes"] / plot_bytes, 1)
    # the fleet's old bytes at the fleet's arrival rate (here d1's alone): longer than d1's own ETA
    assert fleet_sum["eta_s"] == int(fleet_sum["old"]["bytes"] / d1["arrival_rate_bps"]) > d1["eta_s"]
    assert fleet_sum["unfinished_count"] == 1
    (plotter,) = [h for h in status["hosts"] if h["name"] == "plotter1"]
    assert plotter["replot"] is None and all("replot" not in row for row in plotter["dirs"])
    query = "hosts[].dirs[?replot].{path: path, percent: replot.percent, eta: replot.eta_s}[]"
    assert fleet.fleet_query(status, query) == [
        {"path": fleet_state["d1"], "percent": d1["percent"], "eta": d1["eta_s"]},
        {"path": fleet_state["d2"], "percent": d2["percent"], "eta": None}]


def test_the_table_shows_each_dir_and_the_fleet(fleet_state):
    status = status_of(fleet_state["hostvars"])
    d1 = fleet_state["state"]["replot_status"][fleet_state["d1"]]
    fleet_sum = status["summary"]["replot"]
    for width in (90, 100, 160):
        lines = fleet.fleet_table(status, width, True).splitlines()
        assert all(len(line) <= width for line in lines)
    lines = fleet.fleet_table(status, 160, True).splitlines()
    (fleet_line,) = [line for line in lines if line.startswith("replot ")]
    assert fleet_line.startswith("replot old 4 (%s), new 1 (%s), " % (
        fleet_table.tib(fleet_sum["old"]["bytes"]), fleet_table.tib(d1["new"]["bytes"])))
    eta = fleet_table.duration(fleet_sum["eta_s"])
    assert "%.1f%%, ETA %s; 2 dirs; 24 h: 1 arrived" % (fleet_sum["percent"], eta) in fleet_line
    assert "1 interrupted deletions" in fleet_line
    disk = [i for i, line in enumerate(lines) if line.startswith("  disk") and fleet_state["d1"] in line][0]
    under = lines[disk + 1]
    assert under.startswith("  replot old 2 (") and "ETA %s" % fleet_table.duration(d1["eta_s"]) in under
    assert "24 h: 1 arrived" in under and "2 deleted (9.8 KiB)" in under
    joined = " ".join(line.strip() for line in lines)   # long lines wrap
    assert "interrupted deletion of plot-k18-2019-02-01-00-00-%s.plot (" % ("9" * 64) in joined
    assert "for plot-k18-%s.plot2): file gone" % ("e" * 64) in joined
    d2_disk = [i for i, line in enumerate(lines) if line.startswith("  disk") and fleet_state["d2"] in line][0]
    d2_line = lines[d2_disk + 1]
    assert "no ETA (no arrivals in 24 h)" in d2_line


def test_the_report_has_a_replot_section_with_the_journal(fleet_state):
    status = status_of(fleet_state["hostvars"])
    report = fleet_report.fleet_report(status, fleet_state["hostvars"], NOW)
    (host,) = [h for h in report["hosts"] if h["name"] == "storage1"]
    assert host["replot"] == status["summary"]["replot"] and report["summary"]["replot"]["dirs"] == 2
    assert [d["replot"]["dir"] for d in host["dirs"]] == [fleet_state["d1"], fleet_state["d2"]]
    page = Page()
    page.feed(fleet_report.report_html(report))
    text = " ".join(page.text)
    assert "replot" in page.ids and page.classes.count("replot-dir") == 2 and page.classes.count("replot-fleet") == 1
    assert page.classes.count("replot-journal") == 2 and page.classes.count("replot-unfinished") == 1
    assert page.classes.count("replot") == 3        # a bar per dir and the fleet's
    assert "%.1f%%" % status["summary"]["replot"]["percent"] in text
    assert "plot-k18-2019-01-02-00-00-" + "1" * 64 + ".plot" in text     # the newest deletion ...
    assert text.index("2019-01-02-00-00") < text.index("2019-01-01-00-00")   # ... first
    assert "plot-k18-%s.plot2" % ("f" * 64) in text and "replaced by v2 k18" in text and "file gone" in text


def test_metrics_per_dir_read_back_by_prometheus_client(fleet_state):
    found = fleet_state["state"]["replot_status"]
    text = metrics.render(fleet_state["state"], metrics.load_counters("/nonexistent"), NOW)
    got = {}
    for family in parser.text_string_to_metric_families(text):
        for sample in family.samples:
            got[(sample.name, sample.labels.get("path"))] = sample.value
    for path, row in found.items():
        assert got[("plotfleet_replot_old_plots", path)] == row["old"]["count"]
        assert got[("plotfleet_replot_old_bytes", path)] == row["old"]["bytes"]
        assert got[("plotfleet_replot_new_plots", path)] == row["new"]["count"]
        assert got[("plotfleet_replot_progress_ratio", path)] == pytest.approx(row["percent"] / 100.0)
    d1 = fleet_state["d1"]
    assert got[("plotfleet_replot_deleted_total", d1)] == 2
    assert got[("plotfleet_replot_deleted_bytes_total", d1)] == 10001
    assert got[("plotfleet_replot_eta_seconds", d1)] == found[d1]["eta_s"]
    assert ("plotfleet_replot_eta_seconds", fleet_state["d2"]) not in got     # no arrivals: no ETA
    assert got[("plotfleet_replot_unfinished_deletions", d1)] == 1
    types = dict((f.name, f.type) for f in parser.text_string_to_metric_families(text))
    assert types["plotfleet_replot_deleted"] == "counter" and types["plotfleet_replot_old_plots"] == "gauge"


def test_with_replot_off_nothing_new_is_shown(fleet_state):
    hostvars = off(fleet_state)
    status = status_of(hostvars)
    assert status["summary"]["replot"] is None and all(h["replot"] is None for h in status["hosts"])
    assert all("replot" not in row for h in status["hosts"] for row in h["dirs"])
    table = fleet.fleet_table(status, 160, True)
    assert not [line for line in table.splitlines() if line.lstrip().startswith("replot")]
    page = Page()
    page.feed(fleet_report.report_html(fleet_report.fleet_report(status, hostvars, NOW)))
    assert "replot" not in page.ids and "replot-dir" not in page.classes
    text = metrics.render(hostvars["storage1"]["plotfleet_host_state"], metrics.load_counters("/nonexistent"), NOW)
    assert "plotfleet_replot" not in text
