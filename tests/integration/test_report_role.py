"""The status role's outputs through real Ansible on localhost: status.yml and analyze.yml write the
HTML report, its JSON and the status files in one action (no module), report nothing changed, and
plot_info (plotfleet_metrics_path) writes Prometheus metrics that the real prometheus_client parser
reads (not in check mode)."""

import json
import shutil

import pytest
from localhost_lib import host_vars, recap, write_inventory

from plotfleet_testlib import REPO, run_playbook

parser = pytest.importorskip("prometheus_client.parser", reason="prometheus_client (requirements-test.txt)")

LOG = REPO / "tests" / "fixtures" / "logs" / "chiapos-k18-two-plots.log"
ADOPTED = {"plotter": "chiapos", "k": "18", "adopted": "true"}


def metric(path, name, labels=None):
    for family in parser.text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            if sample.name == name and (labels is None or sample.labels == labels):
                return sample.value
    raise AssertionError("%s%s not in %s" % (name, labels or "", path))


@pytest.fixture
def fleet(tmp_path):
    # plotfleet_report_file unset: the report goes beside plotfleet_status_file (tmp_path/status.json)
    values = host_vars(tmp_path, plotfleet_metrics_path=str(tmp_path / "textfile" / "plotfleet.prom"))
    (tmp_path / "localhost" / "logs").mkdir(parents=True)
    (tmp_path / "textfile").mkdir()
    shutil.copy(str(LOG), str(tmp_path / "localhost" / "logs" / LOG.name))   # two finished k18 plots
    return tmp_path, write_inventory(tmp_path, {"localhost": values})


def test_status_and_analyze_write_the_report_and_metrics(fleet):
    tmp_path, inventory = fleet
    proc = run_playbook("status.yml", inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap(proc.stdout)["changed"] == 0
    assert "Check the status settings, build the fleet status and write the reports" in proc.stdout
    assert "Create the report dirs" not in proc.stdout          # no file module any more
    report = json.loads((tmp_path / "report.json").read_text())
    assert [h["name"] for h in report["hosts"]] == ["localhost"]
    assert report["analysis"]["plots"]["finished"] == 2
    assert "localhost" in (tmp_path / "report.html").read_text()
    assert json.loads((tmp_path / "status.json").read_text())["summary"]["hosts_ok"] == 1
    prom = tmp_path / "textfile" / "plotfleet.prom"
    # the log was copied in, no launch record: another manager's plots, counted as adopted
    assert metric(prom, "plotfleet_plots_finished_total", ADOPTED) == 2
    assert metric(prom, "plotfleet_last_pass_success") == 1
    first = metric(prom, "plotfleet_last_pass_timestamp_seconds")

    proc = run_playbook("analyze.yml", inventory=inventory, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap(proc.stdout)["changed"] == 0
    assert "plotfleet analyze: 2 finished plots over 1 hosts" in proc.stdout
    assert "chiapos k18: 2 plots" in proc.stdout
    assert json.loads((tmp_path / "report.json").read_text())["check_mode"] is True   # written in check mode
    # check mode writes no metrics on the host (counting each plot once across writes: test_metrics.py)
    assert metric(prom, "plotfleet_last_pass_timestamp_seconds") == first
    assert sorted(p.name for p in (tmp_path / "textfile").iterdir()) == ["plotfleet.prom"]   # no temp file left
