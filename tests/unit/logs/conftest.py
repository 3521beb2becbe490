"""Fixtures shared by the log parser tests."""

import os
import time

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model


@pytest.fixture
def zone():
    """zone(tz) sets the local time zone (TZ + tzset, the parsers' per-hour UTC offsets forgotten);
    the one before is back after the test."""
    def use(tz):
        os.environ["TZ"] = tz
        time.tzset()
        model._UTC_OFFSETS.clear()
    before = os.environ.get("TZ")
    yield use
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()
    model._UTC_OFFSETS.clear()
