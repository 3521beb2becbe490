"""replot.room() reads the journal from its end back to the last hour (plus a clock slack), not the
farm's whole history, with the same result as the full read (issue 13 follow-up); plan() - the deletion
decision under the storage host's lock - still sees every entry of a plot, however old. Real journals
written as append_journal writes them; room() on real k18 plots."""

import json
import os
import time

import replot_lib as lib

from ansible_collections.plotfleet.chia.plugins.module_utils import replot

NOW = 1790000000.0
LINE_EVENTS = ("deleting", "deleted")


def write_history(journal, dirs, lines, first_t, last_t):
    """`lines` journal lines (deleting + deleted pairs) spread over the dirs, in time order, as
    append_journal writes them (one json.dumps(sort_keys) line each; written in one go: fsyncs cost)."""
    with open(str(journal), "a") as handle:
        for n in range(lines // 2):
            t = first_t + n * (last_t - first_t) / max(1, lines // 2 - 1)
            entry = {"dir": os.path.realpath(str(dirs[n % len(dirs)])), "size": 10 ** 6, "ino": n,
                     "name": "plot-k32-2021-06-01-12-30-%064x.plot" % n, "plot_id": "%064x" % n,
                     "why": "v1 k32 replaced by v2 k28", "for": "plot-k28-%064x.plot2" % n}
            for event in LINE_EVENTS:
                line = dict(entry, event=event, t=round(t, 3), at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)))
                handle.write(json.dumps(line, sort_keys=True) + "\n")


def same_counts(journal, dirs, now):
    """(tail read, full read) of each dir's deletions in the hour before now."""
    since = now - replot.HOUR_S - replot.CLOCK_SLACK_S
    tail = [replot.recent_deletions(replot.read_journal_since(str(journal), str(d), since), now) for d in dirs]
    full = [replot.recent_deletions(replot.read_journal(str(journal), str(d)), now) for d in dirs]
    return tail, full


def test_the_tail_read_counts_the_last_hour_as_the_full_read_does(tmp_path):
    dirs = [tmp_path / name for name in ("a", "b", "c")]
    journal = tmp_path / "j.jsonl"
    write_history(journal, dirs, 6000, NOW - 30 * 86400, NOW - 2 * 3600)   # a month, older than the hour
    write_history(journal, dirs, 60, NOW - 3 * 3600, NOW - 1)              # the last hours: several per dir
    for now in (NOW, NOW - 1800, NOW + 1800, NOW + 5 * 3600, NOW - 20 * 86400):
        tail, full = same_counts(journal, dirs, now)
        assert tail == full
    tail, _full = same_counts(journal, dirs, NOW)
    assert all(count > 0 for count in tail)


def test_the_tail_read_stops_at_the_hour_and_keeps_every_line_after_it(tmp_path):
    dirs = [tmp_path / "a", tmp_path / "b"]
    journal = tmp_path / "j.jsonl"
    write_history(journal, dirs, 6000, NOW - 30 * 86400, NOW - 4 * 3600)
    write_history(journal, dirs, 40, NOW - 3 * 3600, NOW - 1)
    since = NOW - 2 * 3600
    full = replot.read_journal(str(journal), str(dirs[0]))
    tail = replot.read_journal_since(str(journal), str(dirs[0]), since)
    assert [e for e in full if e["t"] >= since] == [e for e in tail if e["t"] >= since]
    assert tail == full[-len(tail):]   # a suffix of the full read, in order
    assert len(tail) < 100 < len(full)   # the month before was not read


def test_a_torn_last_line_and_a_line_an_append_ran_into_are_skipped_as_by_the_full_read(tmp_path):
    dirs = [tmp_path / "a", tmp_path / "b"]
    journal = tmp_path / "j.jsonl"
    write_history(journal, dirs, 4000, NOW - 10 * 86400, NOW - 2 * 3600)
    write_history(journal, dirs, 20, NOW - 1800, NOW - 10)
    with open(str(journal), "a") as handle:   # a kill mid-write
        handle.write('{"dir": %s, "event": "deleting", "name": "plot-k32' % json.dumps(os.path.realpath(str(dirs[0]))))
    tail, full = same_counts(journal, dirs, NOW)
    assert tail == full and full[0] > 0
    replot.append_journal(str(journal), {"event": "deleting", "dir": os.path.realpath(str(dirs[0])),
                                         "name": "x", "ino": 1, "size": 1}, now=NOW)   # runs into the torn line
    replot.append_journal(str(journal), {"event": "deleting", "dir": os.path.realpath(str(dirs[1])),
                                         "name": "y", "ino": 2, "size": 1}, now=NOW)
    tail, full = same_counts(journal, dirs, NOW + 1)
    assert tail == full


def test_a_replaced_journal_is_read_as_it_is_now(tmp_path):
    dirs = [tmp_path / "a"]
    journal, other = tmp_path / "j.jsonl", tmp_path / "other.jsonl"
    write_history(journal, dirs, 2000, NOW - 86400, NOW - 10)
    write_history(other, dirs, 2000, NOW - 86400, NOW - 2 * 3600)
    before, _ = same_counts(journal, dirs, NOW)
    os.replace(str(other), str(journal))
    tail, full = same_counts(journal, dirs, NOW)
    assert tail == full == [0] and before[0] > 0


def test_room_with_the_tail_read_is_room_with_the_whole_journal(tmp_path):
    dirs = []
    for name in ("full", "other"):
        directory = tmp_path / name
        directory.mkdir()
        for src, date in zip(lib.og_plots(3), ["2020-01-01-00-00", "2021-01-01-00-00", "2022-01-01-00-00"]):
            lib.place(directory, src, date)
        dirs.append(directory)
    journal = tmp_path / "j.jsonl"
    write_history(journal, dirs, 4000, NOW - 30 * 86400, NOW - 3 * 3600)
    write_history(journal, dirs, 10, NOW - 1800, NOW - 10)   # 5 "deleting" in the hour: 3 in full, 2 in other
    conf = {"enabled": True, "storage_dirs": [str(d) for d in dirs], "max_per_hour": 5}
    policy = replot.policy_for(conf, str(dirs[0]))
    for directory in dirs:
        full_read = replot.recent_deletions(replot.read_journal(str(journal), str(directory)), NOW)
        plots, _ = replot.scan(str(directory))
        allowed, _ = replot.allowance(policy, len(plots), full_read)
        expected = sorted((p["size"] for p in plots), reverse=True)[:allowed]
        room = replot.room(str(directory), policy, str(journal), NOW)
        assert room == {"bytes": sum(expected), "plots": len(expected)}
    assert [replot.room(str(d), policy, str(journal), NOW)["plots"] for d in dirs] == [2, 3]


def test_plan_still_sees_room_made_for_a_plot_days_ago(tmp_path):
    """The deletion decision reads the whole journal: a retry days after room was made for a plot never
    deletes a second time, however much journal came after."""
    directory = tmp_path / "full"
    directory.mkdir()
    for src, date in zip(lib.og_plots(2), ["2020-01-01-00-00", "2021-01-01-00-00"]):
        lib.place(directory, src, date)
    journal = tmp_path / "j.jsonl"
    arrival = lib.arrival(lib.v2_plots(1)[0])
    replot.append_journal(str(journal), {"event": "deleting", "dir": os.path.realpath(str(directory)),
                                         "name": "gone.plot", "ino": 1, "size": 1, "for": arrival["name"]},
                          now=NOW - 3 * 86400)
    write_history(journal, [directory], 4000, NOW - 3 * 86400 + 60, NOW - 3 * 3600)
    policy = replot.policy_for({"enabled": True, "storage_dirs": [str(directory)]}, str(directory))
    chosen = replot.plan(str(directory), policy, arrival, 10 ** 6, str(journal), now=NOW)
    assert chosen["delete"] == [] and "already made once" in chosen["refused"]


def test_a_clock_stepped_back_less_than_the_slack_counts_as_the_full_read(tmp_path):
    """Lines stamped after a step back of the clock (NTP) are older than the ones before them; the tail
    read goes back an extra CLOCK_SLACK_S, so the count stays the full read's."""
    dirs = [tmp_path / "a", tmp_path / "b"]
    journal = tmp_path / "j.jsonl"
    write_history(journal, dirs, 4000, NOW - 10 * 86400, NOW - 2 * 3600)
    write_history(journal, dirs, 20, NOW - 1800, NOW - 60)                      # before the step
    step = 0.9 * replot.CLOCK_SLACK_S
    write_history(journal, dirs, 600, NOW - step, NOW + 1800)   # after it (more than a read block): 1 h 24 min
    for now in (NOW + 1980, NOW + 1830, NOW):   # the lines right after the step are older than the hour
        tail, full = same_counts(journal, dirs, now)
        assert tail == full and full[0] > 0
