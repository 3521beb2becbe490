"""model.parse_date (chiapos' `Sat Nov 28 20:21:09 2026` at the end of a line) gives time.mktime of the date
its regex finds, for the usual shape it reads at one place (by an hour epoch cached by the hour's text) and
for every other: a day written ` 5` or `5`, trailing spaces, values mktime normalises, DST changes."""

import time

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

CET = "CET-1CEST,M3.5.0,M10.5.0/3"   # DST 29 March 02:00 -> 03:00, 25 October 03:00 -> 02:00 (2026)
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _expected(text):
    """What the date means: its fields as the date regex reads them, through time.mktime."""
    m = model._DATE_RE.search(text)
    if not m:
        return None
    mon, day, hh, mm, ss, year = m.groups()
    return float(time.mktime((int(year), MONTHS.index(mon) + 1, int(day), int(hh), int(mm), int(ss), 0, 0, -1)))


def _dates(year, month, days, hours):
    for day in days:
        for hh in hours:
            for mm, ss in ((0, 0), (7, 59), (59, 1), (30, 30)):
                for day_text in ("%02d" % day, "%2d" % day, "%d" % day):
                    yield "%s %s %s %02d:%02d:%02d %d" % (DAYS[day % 7], MONTHS[month - 1], day_text, hh, mm, ss, year)


@pytest.mark.parametrize("tz", ["UTC0", CET, "EST5EDT,M3.2.0,M11.1.0"])
def test_dates_around_both_dst_changes_read_as_mktime_reads_them(zone, tz):
    zone(tz)
    for month, days in ((3, (7, 8, 9, 28, 29, 30)), (10, (24, 25, 26)), (11, (1, 2))):
        for date in _dates(2026, month, days, range(24)):
            for line in ("Time for phase 1 = 1.0 seconds. CPU (99%) " + date, date, "x" * 70 + date, date + "  "):
                assert model.parse_date(line) == _expected(line), line
                assert model.parse_date(line) == _expected(line), line   # again, from the cache


def test_a_cached_hour_serves_each_of_its_minutes_and_seconds(zone):
    zone(CET)
    for mm in range(60):
        for ss in (0, 1, 29, 59):
            line = "Total time = 1.0 seconds. CPU (99%%) Sun Nov 29 01:%02d:%02d 2026" % (mm, ss)
            assert model.parse_date(line) == _expected(line), line


def test_values_mktime_normalises_and_odd_shapes(zone):
    zone(CET)
    lines = ["Mon Feb 30 10:00:00 2026", "Sun Feb 29 01:00:00 2026", "Thu Feb 29 23:59:59 2024",
             "Fri Apr 31 01:00:00 2026", "Sat Jan 31 24:00:00 2026", "Mon Jun  1 12:75:01 2026",
             "Mon Jun  1 12:00:61 2026", "Mon Jun 01 12:60:00 2026", "Tue Feb 29 01:02:03 2000",
             "Mon Feb 29 01:02:03 2100", "Sun Mar 29 02:30:00 2026", "Sun Oct 25 02:30:00 2026",
             "Sun Oct 25 02:59:59 2026", "Sat Nov 28 20:21:09 2026\t", "Sat Nov  8 20:21:09 2026",
             "Sat Nov 8 20:21:09 2026", "Sat Nov   8 20:21:09 2026", "Xyz Nov 28 20:21:09 2026",
             "Sat Nov 28 20:21:09 26", "Sat Nov 28 20:21 2026", "Sat Nov \u0662\u0668 20:21:09 2026",
             "Sat Nov 28 20:21:09 \u0662\u0660\u0662\u0666", "", "2026",
             "Sat Nov 28 20:21:09 2026 Sat Nov 28 21:21:09 2026", "a" * 100 + "Sat Nov 28 20:21:09 2026" + " " * 50]
    for line in lines:
        assert model.parse_date(line) == _expected(line), line
        assert model.parse_date(line) == _expected(line), line


@pytest.mark.parametrize("tz", [CET, "XST-1XDT,M3.5.0/2:30,M10.5.0/3"])
def test_minutes_and_seconds_past_59_read_as_mktime_normalises_them(zone, tz):
    """An hour's cached epoch stands for that hour only: 01:75 is 02:15, which may be on the other side of a
    DST change (at half past in the second zone)."""
    zone(tz)
    for hh in (0, 1, 2, 3):
        for mm, ss in ((0, 0), (59, 59), (60, 0), (75, 0), (90, 0), (99, 0), (10, 60), (10, 99), (99, 99)):
            line = "Total time = 1.0 seconds. CPU (99%%) Sun Mar 29 %02d:%02d:%02d 2026" % (hh, mm, ss)
            assert model.parse_date(line) == _expected(line), line


def test_a_new_zone_reads_new_values_once_the_cache_is_cleared(zone):
    line = "Time for phase 1 = 1.0 seconds. CPU (99%) Sun Nov 29 01:58:46 2026"
    zone("UTC0")
    utc = model.parse_date(line)
    zone(CET)
    assert model.parse_date(line) == utc - 3600 == _expected(line)
