"""replot.unfinished() over several dirs reads the journal once, not once per dir (it runs under the
storage host's lock whenever replot must delete), with the same answers as the per-dir reads it replaced:
checked on a big journal written as append_journal writes it, with interrupted deletions in every dir,
dirs whose names are prefixes of each other, other dirs' lines and a torn last line."""

import functools
import json
import os

import pytest
from test_replot_journal_tail import write_history

from ansible_collections.plotfleet.chia.plugins.module_utils import replot

LINES = 6000   # 3,000 deletions (bench/bench_replot_unfinished.py times 20,000 lines)


@functools.lru_cache(maxsize=None)
def journal_lines(journal):
    """The journal's entries, parsed once per test session (the oracle's own reader; callers do not change them)."""
    entries = []
    with open(journal) as handle:
        for line in handle:
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue   # the torn line
    return entries


def per_dir_reads(journal, directories=None):
    """unfinished() as it was: the whole journal (None), else the journal read once per dir, the dirs in
    sorted order (read here without replot's reader)."""
    if directories is None:
        entries = journal_lines(journal)
    else:
        entries = [e for d in sorted(set(os.path.realpath(d) for d in directories))
                   for e in journal_lines(journal) if e.get("dir") == d]
    done = set((e.get("dir"), e.get("name"), e.get("ino")) for e in entries
               if e.get("event") in ("deleted", "failed", "kept"))
    return [e for e in entries if e.get("event") == "deleting"
            and (e.get("dir"), e.get("name"), e.get("ino")) not in done]


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    """(journal, dirs): LINES lines of finished deletions over d1, d1/sub, d10, d2 and another dir,
    then interrupted ones (deleting, no outcome) in each, some explained later, and a torn line."""
    base = tmp_path_factory.mktemp("farm")
    dirs = [base / "d1", base / "d1" / "sub", base / "d10", base / "d2", base / "other"]
    for d in dirs:
        d.mkdir()
    journal = base / "journal.jsonl"
    write_history(journal, dirs, LINES, 1.7e9, 1.7e9 + 30 * 86400)
    for n, d in enumerate(dirs * 3):
        entry = {"dir": os.path.realpath(str(d)), "name": "plot-k32-left-%d.plot" % n, "size": 1, "ino": n,
                 "plot_id": "%064x" % n, "for": "plot-k28-%064x.plot2" % n}
        replot.append_journal(str(journal), dict(entry, event="deleting"), now=1.8e9 + n)
        if n % 4 == 0:
            replot.append_journal(str(journal), dict(entry, event="kept"), now=1.8e9 + n)
    with open(str(journal), "a") as handle:
        handle.write(json.dumps({"dir": os.path.realpath(str(dirs[0])), "event": "deleting"})[:30])
    return str(journal), [str(d) for d in dirs]


@pytest.mark.parametrize("pick", [[0, 1, 2, 3], [3, 1, 1], []])
def test_the_same_answers_as_the_per_dir_reads(farm, pick):
    journal, dirs = farm
    chosen = [dirs[i] for i in pick]
    got = replot.unfinished(journal, chosen)
    assert got == per_dir_reads(journal, chosen)
    assert len(got) == sum(1 for n in range(15) if n % 5 in pick and n % 4 != 0)


def test_without_dirs_every_dir_in_journal_order(farm):
    journal, _dirs = farm
    assert replot.unfinished(journal) == per_dir_reads(journal) and len(per_dir_reads(journal)) == 11


def test_several_dirs_are_read_in_one_pass_over_the_journal(farm, monkeypatch):
    journal, dirs = farm
    opened = []

    def counting_open(path, *args, **kwargs):
        opened.append(path)
        return open(path, *args, **kwargs)
    monkeypatch.setattr(replot, "open", counting_open, raising=False)
    assert len(replot.unfinished(journal, dirs[:4])) == 9
    assert opened == [journal], "one read of the journal for four dirs"
