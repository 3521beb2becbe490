import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plotfleet_testlib  # noqa: E402,F401  (puts collections/ on sys.path for module_utils imports)

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
