"""Fixtures for the SSH fleet tests: one namespace fleet per session, reset before every test."""

import os
import sys
from pathlib import Path

import fleetlib
import fleetlock
import pytest
import suite_order
from fleetcheck import Ledger


def _unavailable(reason):
    # CI runs as root on Linux: a fleet that cannot be built there is a failure, not a skip.
    if os.environ.get("CI") or os.environ.get("PLOTFLEET_REQUIRE_FLEET"):
        pytest.fail("SSH fleet required (CI/PLOTFLEET_REQUIRE_FLEET set) but unavailable: %s" % reason)
    pytest.skip("SSH fleet unavailable: %s" % reason)


@pytest.fixture(scope="session")
def fleet_session():
    reason = fleetlib.unavailable_reason()
    if reason:
        _unavailable(reason)
    # Fixed bridge and namespace names (per fleet index): one fleet of each index on the machine at a time.
    with fleetlock.held(fleetlib.LOCK_PATH):
        yield from _built_fleet()


def _built_fleet():
    fleet = fleetlib.Fleet()
    try:
        fleet.build()
    except Exception as exc:
        problems = fleet.teardown()
        extra = "; teardown: %s" % problems if problems else ""
        _unavailable("building the namespace fleet failed: %s%s" % (exc, extra))
    try:
        yield fleet
    finally:
        problems = fleet.teardown()
        if problems:
            sys.stderr.write("fleet teardown problems: %s\n" % "; ".join(problems))


def pytest_collection_modifyitems(config, items):
    """The fleet tests longest first, dealt out to the workers' shares (suite_order.py)."""
    places = [i for i, item in enumerate(items) if item.nodeid.startswith("tests/fleet/")]
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    fleet_items = dict((items[i].nodeid, items[i]) for i in places)
    seconds = suite_order.known_seconds(Path(__file__).resolve().parent / "durations.json")
    order = suite_order.dealt(list(fleet_items), workers, seconds)
    for place, nodeid in zip(places, order):
        items[place] = fleet_items[nodeid]


# How long each fleet waited for its lock (another run had it): the suite's time is not all its own then.
LOCK_WAITS = {}


def pytest_sessionfinish(session):
    if fleetlock.waited["s"]:
        LOCK_WAITS[fleetlib.LOCK_PATH] = fleetlock.waited["s"]
    if hasattr(session.config, "workeroutput"):  # a pytest-xdist worker: tell the controller
        session.config.workeroutput["fleet_lock_waits"] = dict(LOCK_WAITS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    LOCK_WAITS.update(getattr(node, "workeroutput", {}).get("fleet_lock_waits", {}))


def pytest_terminal_summary(terminalreporter):
    for path, waited in sorted(LOCK_WAITS.items()):
        if waited:
            terminalreporter.write_line("fleet lock: waited %.0fs for another fleet run (%s)" % (waited, path))


@pytest.fixture
def fleet(fleet_session):
    """The fleet, idle and with empty dirs."""
    fleet_session.reset()
    return fleet_session


@pytest.fixture
def ledger(fleet):
    """Watches the fleet's dirs during a test; the invariants are checked with ledger.assert_invariants()."""
    book = Ledger(fleet)
    book.start()
    try:
        yield book
    finally:
        book.stop()
