"""model.local_epoch (the per-hour UTC offset cache parse_date uses) gives what time.mktime gives."""

import time

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

# Central European time without tzdata (POSIX rule): DST from the last Sunday of March, 02:00 -> 03:00,
# to the last Sunday of October, 03:00 -> 02:00. 2026: 29 March and 25 October.
CET = "CET-1CEST,M3.5.0,M10.5.0/3"


def _mktime(year, month, day, hh, mm, ss):
    return float(time.mktime((year, month, day, hh, mm, ss, 0, 0, -1)))


@pytest.mark.parametrize("tz", ["UTC0", CET, "EST5EDT,M3.2.0,M11.1.0"])
def test_every_few_minutes_around_both_dst_changes(zone, tz):
    zone(tz)
    for month, first_day in ((3, 7), (3, 27), (10, 24), (11, 1)):
        for step in range(0, 3 * 24 * 60, 7):   # three days, every 7 minutes (and a varying second)
            day, minute = first_day + step // 1440, step % 1440
            when = (2026, month, day, minute // 60, minute % 60, step % 60)
            assert model.local_epoch(*when) == _mktime(*when), when


def test_the_skipped_and_repeated_hours_go_to_mktime(zone):
    zone(CET)
    for when in ((2026, 3, 29, 2, 30, 0), (2026, 10, 25, 2, 30, 0), (2026, 10, 25, 2, 59, 59)):
        assert model.local_epoch(*when) == _mktime(*when)
        assert model._UTC_OFFSETS[when[:4]] is False


def test_values_mktime_normalises(zone):
    zone(CET)
    for when in ((2026, 2, 30, 10, 0, 0), (2026, 2, 29, 1, 0, 0), (2026, 4, 31, 1, 0, 0), (2026, 1, 31, 24, 0, 0),
                 (2026, 6, 1, 12, 75, 61), (2024, 2, 29, 23, 59, 59), (2000, 2, 29, 1, 2, 3), (2100, 2, 29, 1, 2, 3)):
        assert model.local_epoch(*when) == _mktime(*when)
    assert model.local_epoch(2026, 13, 1, 0, 0, 0) == _mktime(2026, 13, 1, 0, 0, 0)


def test_parse_date_and_plot_names_use_it(zone):
    zone(CET)
    assert model.parse_date("Time for phase 1 = 1.0 seconds. CPU (99%) Sun Mar 29 03:00:00 2026") == \
        _mktime(2026, 3, 29, 3, 0, 0)
    info = model.plot_name_info("plot-k32-2026-10-25-01-59-" + "a" * 64 + ".plot")
    assert info == (32, _mktime(2026, 10, 25, 1, 59, 0), "a" * 64)
