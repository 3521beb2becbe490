"""The HTML report and its JSON from a recorded fleet state (tests/fixtures/report/fleet-hostvars.json,
real plot_info results: see record_fleet.py): self-contained, every host, running job and chart,
v1/v2 plots per dir and per fleet, unreachable hosts with their reason; files written atomically."""

import json
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ansible_collections.plotfleet.chia.plugins.filter import fleet, fleet_report
from ansible_collections.plotfleet.chia.plugins.plugin_utils import report_writer

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "fleet-hostvars.json"
REPORT_KEYS = {"version", "generated", "generated_iso", "check_mode", "summary", "plots", "hosts", "jobs",
               "timeline", "transfers", "failures", "analysis"}


class Page(HTMLParser):
    """Tags, classes, ids and text of a page."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.tags, self.ids, self.classes, self.text, self.attrs = [], set(), [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self.attrs.append((tag, attrs))
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        self.classes += (attrs.get("class") or "").split()

    def handle_data(self, data):
        self.text.append(data)


def recorded():
    return json.loads(FIXTURE.read_text())


def build(data=None, hosts=None):
    data = data or recorded()
    status = fleet.fleet_status(data["hostvars"], hosts or data["hosts"], data["plotters"], data["storage"],
                                False, data["recorded"])
    return status, fleet_report.fleet_report(status, data["hostvars"], data["recorded"])


def page_of(report):
    page = Page()
    page.feed(fleet_report.report_html(report))
    return page


@pytest.fixture(scope="module")
def report():
    return build()[1]


def test_json_has_the_documented_keys(report):
    assert set(report) == REPORT_KEYS
    assert set(report["plots"]) == {"plots_v1", "plot_bytes_v1", "plots_v2", "plot_bytes_v2", "v2_share"}
    assert set(report["analysis"]) >= {"groups", "per_day", "transfers", "failures", "plots"}


def test_page_is_self_contained(report):
    html = fleet_report.report_html(report)
    page = page_of(report)
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    for tag, attrs in page.attrs:
        assert not attrs.get("src") and not attrs.get("href"), (tag, attrs)
    assert html.count("http") == html.count("http://www.w3.org/2000/svg")   # only the SVG namespace


def test_page_shows_every_host_job_and_chart(report):
    page = page_of(report)
    text = " ".join(page.text)
    for host in report["hosts"]:
        assert host["name"] in text
    jobs = [job for job in report["jobs"]]
    assert len(jobs) >= 2 and page.classes.count("job") == len(jobs)
    for job in jobs:
        assert job["id_short"] in text
    for chart in ("timeline", "per-day", "phases", "disk", "progress"):
        assert chart in page.classes, chart
    assert {"summary", "running", "timeline", "per-day", "phases", "transfers", "disks", "hosts-failed"} <= page.ids


def test_unreachable_host_and_why(report):
    page = page_of(report)
    assert page.classes.count("failed-host") == 1
    assert "port 9: Connection refused" in " ".join(page.text)


def test_v1_and_v2_plots_per_dir_and_fleet(report):
    dirs = [d for h in report["hosts"] for d in h["dirs"]]
    assert report["plots"]["plots_v1"] == sum(d["plots_v1"] for d in dirs) > 0
    assert report["plots"]["plots_v2"] == sum(d["plots_v2"] for d in dirs) > 0
    v1, v2 = report["plots"]["plot_bytes_v1"], report["plots"]["plot_bytes_v2"]
    assert report["plots"]["v2_share"] == pytest.approx(v2 / float(v1 + v2), abs=1e-4)
    text = " ".join(page_of(report).text)
    assert "%.1f%%" % (100 * report["plots"]["v2_share"]) in text


def test_timeline_has_phases_of_finished_and_running_jobs(report):
    live = [row for row in report["timeline"] if row["live"]]
    done = [row for row in report["timeline"] if row["state"] == "finished"]
    assert len(live) == len(report["jobs"]) and done
    assert all([p["phase"] for p in row["phases"]][:4] == ["1", "2", "3", "4"] for row in done
               if row["plotter"] == "chiapos")
    assert all(row["phases"][-1]["end"] == report["generated"] for row in live)


def test_text_is_escaped():
    data = recorded()
    data["hostvars"]["gone"]["plotfleet_failure"]["msg"] = "<script>alert(1)</script>"
    html = fleet_report.report_html(build(data)[1])
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_files_are_written_atomically_with_their_dirs(tmp_path, report):
    html, out = str(tmp_path / "a" / "report.html"), str(tmp_path / "a" / "report.json")
    report_writer.write_files([{"dest": html, "content": "old"}])
    inode = os.stat(html).st_ino
    files = fleet_report.report_files(report, html, out) + [{"dest": None}]
    assert report_writer.write_files(files, check_mode=True) == {"written": [out, html], "unchanged": []}
    assert Path(html).read_text() == "old" and not os.path.exists(out)   # check mode wrote nothing
    assert report_writer.write_files(files) == {"written": [out, html], "unchanged": []}
    assert os.stat(html).st_ino != inode       # a new file renamed over the old one: never half a page
    assert json.loads(Path(out).read_text())["version"] == 1
    assert "report.json" in Path(html).read_text()
    assert sorted(os.listdir(str(tmp_path / "a"))) == ["report.html", "report.json"]   # no temp file left
    assert oct(os.stat(html).st_mode & 0o777) == "0o644"
    inode = os.stat(html).st_ino
    assert report_writer.write_files(files) == {"written": [], "unchanged": [out, html]}
    assert os.stat(html).st_ino == inode       # the same content is not written again


def test_status_table_shows_the_fleet_v1_v2_plots():
    status = build()[0]
    table = fleet.fleet_table(status, 100)
    summary = status["summary"]
    assert "plots %d v1" % summary["plots_v1"] in table.splitlines()[1]
    assert "+ %d v2" % summary["plots_v2"] in table.splitlines()[1]


def test_docs_list_exactly_the_report_keys(report):
    """docs/reporting.md's "Report JSON" table names every top-level key and every analysis key."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "reporting.md").read_text()
    table = doc.split("### Report JSON", 1)[1].split("\n\n", 2)[1]
    named = set()
    for row in table.splitlines()[2:]:
        first = row.split("|")[1]
        named.update(part.strip().strip("`") for part in first.split(","))
    top = set(name.replace("[]", "") for name in named if "." not in name and name != "stats")
    assert top == set(report)
    analysis_keys = set(name.split(".", 1)[1] for name in named if name.startswith("analysis."))
    listed = doc.split("| `analysis` |", 1)[1].split("|", 1)[0].replace("[]", "")
    for key in report["analysis"]:
        assert "`%s`" % key in listed, key
    assert {"groups[]", "per_day[]", "transfers[]", "failures[]"} == analysis_keys
