"""replot.delete's order of the real system calls (issue 13): for each old plot, its "deleting" entry is
in the journal file and fsynced before the unlink, the dir is fsynced after it, and only then is
"deleted" written - so a crash at any point leaves nothing deleted that the journal on disk does not
explain. The calls are the real ones, recorded on the way (what reached the platter after a power cut
cannot be seen from a test; the order of fsync and unlink can). Real k18 plots."""

import os

import pytest
import replot_lib as lib

from ansible_collections.plotfleet.chia.plugins.module_utils import replot


@pytest.fixture
def calls(monkeypatch):
    """Every os.fsync and os.unlink, in order, still done: ("fsync", path of the fd, the journal's text
    then if it is the journal) or ("unlink", name)."""
    seen, fsync, unlink = [], os.fsync, os.unlink

    def recorded_fsync(fd):
        path = os.readlink("/proc/self/fd/%d" % fd)
        text = None
        if os.path.isfile(path):
            with open(path, "rb") as handle:   # another descriptor: what any reader sees now
                text = handle.read().decode()
        seen.append(("fsync", path, text))
        return fsync(fd)

    def recorded_unlink(name, *args, **kwargs):
        seen.append(("unlink", name, None))
        return unlink(name, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", recorded_fsync)
    monkeypatch.setattr(os, "unlink", recorded_unlink)
    return seen


def test_each_deleting_entry_is_fsynced_before_its_unlink_and_deleted_after_the_dir_fsync(tmp_path, calls):
    directory = tmp_path / "full"
    directory.mkdir()
    for src, date in zip(lib.og_plots(2), ("2020-01-01-00-00", "2021-01-01-00-00")):
        lib.place(directory, src, date)
    journal = str(tmp_path / "journal.jsonl")
    config = {"enabled": True, "storage_dirs": [str(directory)]}
    largest = max(p.stat().st_size for p in directory.iterdir())
    chosen = replot.plan(str(directory), replot.policy_for(config, str(directory)),
                         lib.arrival(lib.v2_plots(1)[0]), largest + 1, journal)   # both plots must go
    assert len(chosen["delete"]) == 2
    del calls[:]
    assert replot.delete(chosen, journal)["error"] is None
    for plot in chosen["delete"]:
        name = plot["name"]
        at = calls.index(("unlink", name, None))
        synced = [c for c in calls[:at] if c[1] == journal]
        assert synced and '"event": "deleting"' in synced[-1][2].splitlines()[-1] and name in synced[-1][2], calls
        after = calls[at + 1:]
        assert after[0][:2] == ("fsync", str(directory)), after[:2]   # the unlink itself on disk
        assert after[1][1] == journal and '"event": "deleted"' in after[1][2].splitlines()[-1]
        assert name in after[1][2].splitlines()[-1] and not (directory / name).exists()
