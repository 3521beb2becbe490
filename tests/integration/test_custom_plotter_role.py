"""A custom plotter through the role: reconcile.yml on localhost with `plotfleet_plotter: custom` and a
`plotfleet_custom_plotter` template (PyPI chiapos through plotfleet's driver script, k18) starts a real
plot, and the next pass moves the finished plot to storage like any other plotter's."""

import pytest
from localhost_lib import host_vars, plots, recap, status_doc, write_inventory

from ansible_collections.plotfleet.chia.plugins.module_utils import chiapos_driver
from plotfleet_testlib import REPO, run_playbook, wait_for


@pytest.mark.live
def test_a_custom_template_plots_through_the_role_and_its_plot_is_moved(tmp_path):
    state = tmp_path / "localhost" / "state"
    state.mkdir(parents=True)
    driver = chiapos_driver.install_driver(str(state))
    template = {"name": "chiapos-template",
                "argv": ["{python}", driver, "-k", "{k}", "-t", "{tmp_dir}", "-d", "{dst_dir}", "-s", "{stripe}",
                         "-u", "{buckets}", "-b", "{buffer_mib}", "-r", "{threads}"],
                "patterns": {"id": r"^ID: (?P<id>[0-9a-f]{64})", "phase": r"^Starting phase (?P<phase>\d)/4",
                             "finished": r'^Renamed final file from ".*" to "(?P<file>.*)"'}}
    values = host_vars(tmp_path, plotfleet_plotter="custom", plotfleet_k=18, plotfleet_stripe=2000,
                       plotfleet_buckets=32, plotfleet_buffer_mib=100, plotfleet_custom_plotter=template)
    inventory = write_inventory(tmp_path, {"localhost": values})
    root = tmp_path / "localhost"

    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    first = status_doc(tmp_path)["summary"]
    # A k18 plot may finish within this pass on an idle machine: then this pass moves it too.
    assert first["started"] == 1 and recap(proc.stdout)["changed"] == 1 + first["moved"], proc.stdout[-4000:]
    log = next((root / "logs").glob("*.log"))
    assert log.read_text().startswith("plotfleet-custom: {")
    assert (state / "plotters" / "chiapos-template.json").is_file()

    assert wait_for(lambda: plots(root / "dst") or plots(root / "storage"), timeout=180), log.read_text()[-2000:]
    (state / "pause").touch()   # only move from now on
    proc = run_playbook(REPO / "reconcile.yml", inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert len(plots(root / "storage")) == 1 and plots(root / "dst") == []
    doc = status_doc(tmp_path)
    assert first["moved"] + doc["summary"]["moved"] == 1
    (recent,) = [e for e in doc["hosts"][0]["recent"] if e.get("log") == str(log)]
    assert recent["state"] == "finished" and recent["plotter"] == "custom" and recent["k"] == 18
