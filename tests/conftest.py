import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import suite_order  # noqa: E402

import plotfleet_testlib  # noqa: E402  (also puts collections/ on sys.path for module_utils imports)

# PLOTFLEET_TEST_FOREIGN_PLOT=1: the integration tests run beside real foreign plots (tests/foreign_plot.py),
# as on a farmer's plotter or a busy CI machine, so that a test that counts "all jobs" fails.
FOREIGN_PLOT = os.environ.get("PLOTFLEET_TEST_FOREIGN_PLOT") == "1"
INTEGRATION = Path(__file__).resolve().parent / "integration"


@pytest.fixture(scope="session")
def foreign_plot():
    """Foreign plotters running for the rest of the session; yields their root dir."""
    import foreign_plot as foreign

    proc, root = foreign.start()
    try:
        foreign.wait_plotting(proc, root)
        yield root
    finally:
        foreign.stop(proc, root)


@pytest.fixture(autouse=True)
def _foreign_plot_beside_integration_tests(request):
    if FOREIGN_PLOT and INTEGRATION in Path(str(request.node.path)).resolve().parents:
        request.getfixturevalue("foreign_plot")


# make test installs .venv-chia beside the integration suite (Makefile, PLOTFLEET_CHIA_VENV_RC): the tests that
# run chia from it wait for the install, the others run meanwhile.
CHIA_VENV_TESTS = ("test_chia_cli_live.py", "test_pos2_chia_id.py")


@pytest.fixture(scope="session")
def chia_venv_installed():
    plotfleet_testlib.wait_chia_venv()
    return plotfleet_testlib.CHIA_VENV


@pytest.fixture(autouse=True)
def _chia_venv_before_its_tests(request):
    if Path(str(request.node.path)).name in CHIA_VENV_TESTS:
        request.getfixturevalue("chia_venv_installed")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`make integration` (--dist loadfile): the longest work units first (suite_order.py)."""
    if config.getoption("dist") != "loadfile":
        return None
    return suite_order.slowest_first_scheduler(config, log, suite_order.known_seconds(INTEGRATION / "durations.json"))


# Each suite's seconds per test (setup + call + teardown) go to tests/output/durations-<suite>.json at the
# end of a run (on the xdist controller): the integration and fleet suites order their tests by the
# copy of it in their durations.json (suite_order.py).
RECORDED_SUITES = ("integration", "fleet")
SECONDS = {}


def pytest_runtest_logreport(report):
    suite = report.nodeid.split("/")[1] if report.nodeid.startswith("tests/") else None
    if suite in RECORDED_SUITES:
        SECONDS.setdefault(suite, {})[report.nodeid] = SECONDS.get(suite, {}).get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput"):
        return
    for suite, seconds in SECONDS.items():
        path = Path(__file__).resolve().parent / "output" / ("durations-%s.json" % suite)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # a run of some tests updates theirs and keeps the others'
            merged = json.loads(path.read_text())
        except (OSError, ValueError):
            merged = {}
        merged.update((k, round(v, 1)) for k, v in seconds.items())
        path.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")
