"""PLOTFLEET_TEST_FOREIGN_PLOT=1 runs the integration tests beside foreign plots (tests/conftest.py):
this checks that plot_info really sees them, so that the other tests are tried against them."""

import os

import pytest
from conftest import FOREIGN_PLOT

from plotfleet_testlib import run_module

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(not FOREIGN_PLOT, reason="PLOTFLEET_TEST_FOREIGN_PLOT=1 is not set")]


def test_plot_info_sees_the_foreign_plots(tmp_path, foreign_plot):
    for name in ("logs", "state", "tmp"):
        (tmp_path / name).mkdir()
    rc, info = run_module("plot_info", {"log_dir": str(tmp_path / "logs"), "state_dir": str(tmp_path / "state"),
                                        "tmp_dirs": [str(tmp_path / "tmp")]})
    assert rc == 0, info
    foreign = [job for job in info["jobs"] if (job.get("tmp_dir") or "").startswith(os.path.join(foreign_plot, ""))]
    assert foreign and all(job["adopted"] for job in foreign), info["jobs"]
    with_id = [job for job in foreign if job["id"]]
    assert with_id and with_id[0]["log"].startswith(foreign_plot), foreign   # the driver's plot, with its log
    assert [job for job in foreign if job["id"] is None], foreign            # the script's plot, id unknown
