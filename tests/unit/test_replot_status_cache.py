"""The replot journal's summary cache (module_utils/replot_status.py): each plot_info call reads only the
journal lines appended since the last one, with the same result as reading it all; a torn last line waits
for its end; a replaced or shortened journal is read again from its start; a cache that cannot be written
costs a full read, never an error."""

import json
import os

from ansible_collections.plotfleet.chia.plugins.module_utils import replot, replot_status

NOW = 1796126400.0
DIR = "/mnt/d1"


def deletion(journal, n, t=NOW - 60, size=1000, outcome="deleted", directory=DIR):
    entry = {"dir": directory, "name": "plot-k32-%064x.plot" % n, "size": size, "plot_id": "%064x" % n, "ino": n,
             "why": "v1 replaced", "for": "plot-k28-%064x.plot2" % n}
    replot.append_journal(journal, dict(entry, event="deleting"), now=t)
    if outcome:
        replot.append_journal(journal, dict(entry, event=outcome), now=t)


def test_only_the_appended_lines_are_read_and_the_result_is_a_full_read(tmp_path):
    journal, cache = str(tmp_path / "j.jsonl"), str(tmp_path / "state" / "cache" / "replot-journal.json")
    for n in range(5):
        deletion(journal, n)
    deletion(journal, 5, outcome=None)          # left open by a kill
    first = replot_status.journal_summary(journal, cache, NOW)
    assert first[DIR]["deleted_total"] == {"count": 5, "bytes": 5000} and len(first[DIR]["open"]) == 1
    assert json.load(open(cache))["offset"] == os.path.getsize(journal)
    # an early line changed in place (same length): only a full read would see it
    lines = open(journal).readlines()
    assert '"event": "deleted"' in lines[1]
    lines[1] = lines[1].replace('"size": 1000', '"size": 9999')
    open(journal, "r+").write("".join(lines))
    replot.append_journal(journal, {"event": "kept", "dir": DIR, "name": "plot-k32-%064x.plot" % 5, "ino": 5,
                                    "size": 1000}, now=NOW - 30)
    deletion(journal, 6, size=2000)
    deletion(journal, 7, directory="/mnt/d2")
    second = replot_status.journal_summary(journal, cache, NOW)
    assert second[DIR]["deleted_total"] == {"count": 6, "bytes": 7000}   # the changed line was not read again
    assert second[DIR]["open"] == [] and second[DIR]["recent"][-1]["name"] == "plot-k32-%064x.plot" % 6
    assert second["/mnt/d2"]["deleted_total"] == {"count": 1, "bytes": 1000}
    full = replot_status.journal_summary(journal, None, NOW)               # no cache: everything read
    assert full[DIR]["deleted_total"] == {"count": 6, "bytes": 7000 + 8999}
    full[DIR]["deleted_total"] = second[DIR]["deleted_total"]
    full[DIR]["deleted_window"][0][1] = full[DIR]["recent"][0]["size"] = 1000   # that line, as first read
    assert full == second


def test_a_torn_last_line_waits_for_its_end(tmp_path):
    journal, cache = str(tmp_path / "j.jsonl"), str(tmp_path / "c.json")
    deletion(journal, 1)
    line = json.dumps({"event": "deleted", "dir": DIR, "name": "plot-k32-%064x.plot" % 2, "size": 500, "ino": 2,
                       "t": NOW - 10}) + "\n"
    with open(journal, "a") as handle:
        handle.write(line[:40])                  # a writer still writing (or killed mid-line)
    assert replot_status.journal_summary(journal, cache, NOW)[DIR]["deleted_total"]["count"] == 1
    with open(journal, "a") as handle:
        handle.write(line[40:])
    assert replot_status.journal_summary(journal, cache, NOW)[DIR]["deleted_total"] == {"count": 2, "bytes": 1500}


def test_a_replaced_or_shortened_journal_is_read_from_its_start(tmp_path):
    journal, cache = str(tmp_path / "j.jsonl"), str(tmp_path / "c.json")
    for n in range(4):
        deletion(journal, n)
    assert replot_status.journal_summary(journal, cache, NOW)[DIR]["deleted_total"]["count"] == 4
    rotated = str(tmp_path / "new.jsonl")
    deletion(rotated, 10)
    os.replace(rotated, journal)                 # a new file (another inode)
    assert replot_status.journal_summary(journal, cache, NOW)[DIR]["deleted_total"] == {"count": 1, "bytes": 1000}
    for n in range(3):
        deletion(journal, 20 + n)
    assert replot_status.journal_summary(journal, cache, NOW)[DIR]["deleted_total"]["count"] == 4
    with open(journal, "r+") as handle:          # cut in place (same inode, shorter than the offset)
        lines = handle.readlines()
        handle.seek(0)
        handle.truncate()
        handle.writelines(lines[:2])
    assert replot_status.journal_summary(journal, cache, NOW)[DIR]["deleted_total"]["count"] == 1


def test_deletions_leave_the_window_and_no_cache_is_no_error(tmp_path):
    journal = str(tmp_path / "j.jsonl")
    deletion(journal, 1, t=NOW - 2 * 86400)
    deletion(journal, 2, t=NOW - 3600)
    (tmp_path / "state").write_text("a file where the cache dir would go")
    summary = replot_status.journal_summary(journal, str(tmp_path / "state" / "cache" / "r.json"), NOW)
    assert [size for _t, size in summary[DIR]["deleted_window"]] == [1000]
    assert summary[DIR]["deleted_total"]["count"] == 2
    assert replot_status.journal_summary(str(tmp_path / "missing.jsonl"), None, NOW) == {}
