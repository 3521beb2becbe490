"""logcache: the index + store cache stays correct (grow, shrink, replace, delete, corrupt or old files,
concurrent writers) and its ETA sums always equal a computation from scratch. Real chiapos logs."""

import json
import os
import shutil
from pathlib import Path

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import eta, logcache
from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"
FIXTURES = ("chiapos-k18-rename.log", "chiapos-k18-two-plots.log", "chiapos-k20-killed-phase1.log")
RENAME_ID = "692e98559e35028d79b50b2ccdb883d6bc2f4eda51d9e4ce0bfa580dbfcae764"


class Dir(object):
    def __init__(self, root):
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True)
        self.state = root / "state"
        self.state.mkdir()

    def write(self, name, fixture, upto=None, plot_id=None):
        lines = (LOGS / fixture).read_text().replace(RENAME_ID, plot_id or RENAME_ID).splitlines(True)
        path = self.logs / name
        path.write_text("".join(lines if upto is None else lines[:upto]))
        return path

    def call(self, live=()):
        """One plot_info-like pass: refresh every log, read every payload, save. -> (cache, {path: plots})"""
        warnings = []
        cache = logcache.LogCache(str(self.state), warnings)
        plots = {}
        for path in sorted(self.logs.iterdir()):
            info = cache.refresh(str(path), os.stat(str(path)), keep_state=str(path) in live)
            if info is not None:
                plots[str(path)] = info.plots
        totals = eta.add_sums({}, cache.totals())
        cache.save({})
        cache.warnings_seen = warnings
        cache.totals_seen = totals
        return cache, plots


def _fresh(path, tmp_path):
    """The plots of one log parsed from scratch in a cache of its own."""
    state = tmp_path / ("fresh-%d" % len(list(tmp_path.iterdir())))
    state.mkdir()
    return logcache.LogCache(str(state)).refresh(str(path), os.stat(str(path))).plots


def _assert_consistent(d, cache, plots, tmp_path):
    for path, got in plots.items():
        assert got == _fresh(path, tmp_path), path
    everything = [p for ps in plots.values() for p in ps]
    assert cache.totals_seen == eta.phase_sums(everything)   # incremental sums == from scratch
    again, plots2 = d.call()
    assert again.changed == set() and plots2 == plots          # nothing left to re-read


@pytest.fixture
def d(tmp_path):
    return Dir(tmp_path / "host")


def test_unchanged_logs_are_not_read_again(d, tmp_path):
    for i, name in enumerate(FIXTURES):
        d.write("%d.log" % i, name)
    first, plots = d.call()
    assert len(first.changed) == 3 and first.warnings_seen == []
    second, plots2 = d.call()
    assert second.changed == set() and plots2 == plots
    _assert_consistent(d, second, plots2, tmp_path)


@pytest.mark.parametrize("live", [True, False])
def test_growing_log_is_resumed_or_reparsed(d, tmp_path, live):
    path = d.write("job.log", "chiapos-k18-two-plots.log", upto=300)
    live_set = (str(path),) if live else ()
    d.call(live=live_set)
    lines = (LOGS / "chiapos-k18-two-plots.log").read_text().splitlines(True)
    for upto in (600, 900, len(lines)):
        path.write_text("".join(lines[:upto]))
        cache, plots = d.call(live=live_set)
        assert cache.changed == {str(path)}
        assert plots[str(path)] == _fresh(path, tmp_path)
    assert [p["state"] for p in plots[str(path)]] == ["finished", "finished"]
    _assert_consistent(d, cache, plots, tmp_path)


def test_shrunk_log_is_parsed_again(d, tmp_path):
    path = d.write("job.log", "chiapos-k18-two-plots.log")
    d.call(live=(str(path),))
    d.write("job.log", "chiapos-k18-two-plots.log", upto=200)
    cache, plots = d.call(live=(str(path),))
    assert len(plots[str(path)]) == 1 and plots[str(path)][0]["state"] == "plotting"
    _assert_consistent(d, cache, plots, tmp_path)


def test_replaced_log_same_size_and_mtime_is_parsed_again(d, tmp_path):
    path = d.write("a.log", "chiapos-k18-rename.log")
    st = os.stat(str(path))
    d.call()
    path.unlink()
    other = d.write("other.log", "chiapos-k18-two-plots.log")   # keeps the old inode from being reused
    d.write("a.log", "chiapos-k18-rename.log", plot_id="ab" * 32)   # same size, other content
    os.utime(str(path), ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(str(path)).st_size == st.st_size
    cache, plots = d.call()
    assert str(path) in cache.changed and plots[str(path)][0]["id"] == "ab" * 32
    assert str(other) in plots
    _assert_consistent(d, cache, plots, tmp_path)


def test_deleted_log_leaves_index_and_sums(d, tmp_path):
    a = d.write("a.log", "chiapos-k18-rename.log")
    d.write("b.log", "chiapos-k18-two-plots.log")
    first, _plots = d.call()
    assert first.totals_seen[("chiapos", 18)]["1"][1] == 3
    a.unlink()
    cache, plots = d.call()
    assert list(plots) == [str(d.logs / "b.log")] and cache.totals_seen[("chiapos", 18)]["1"][1] == 2
    index = (d.state / "cache" / logcache.CACHE_NAME).read_text()
    assert str(a) not in index
    _assert_consistent(d, cache, plots, tmp_path)


CURRENT = ('{"version": %d}\nnot\ta\tline\n' % logcache.VERSION).encode()


@pytest.mark.parametrize("content", [b"", b"\x00garbage\n\xff\xfe", CURRENT, b'{"version": 2}\nnot\ta\tline\n',
                                     b'{"version":1,"cpu":[1,2],"means":[]}\n/x\t1:2:3:4\t0\tchiapos\t\t{}\n'])
def test_corrupt_empty_or_old_index_is_rebuilt(d, tmp_path, content):
    """Version 2 cached steps on the grid before plotman's: such an index is rebuilt (the logs parsed again)."""
    for i, name in enumerate(FIXTURES):
        d.write("%d.log" % i, name)
    d.call()
    (d.state / "cache" / logcache.CACHE_NAME).write_bytes(content)
    cache, plots = d.call()
    assert len(plots) == 3
    if content.strip() and content != CURRENT:
        assert any("parser cache" in w for w in cache.warnings_seen)
    assert json.loads((d.state / "cache" / logcache.CACHE_NAME).read_text().splitlines()[0])["version"] == 3
    assert all(p["step"] == "5:3" for p in plots[str(d.logs / "0.log")])   # finished on plotman's grid
    _assert_consistent(d, cache, plots, tmp_path)


@pytest.mark.parametrize("damage", ["delete", "empty", "flip", "truncate", "other-token"])
def test_damaged_store_falls_back_to_parsing(d, tmp_path, damage):
    for i, name in enumerate(FIXTURES):
        d.write("%d.log" % i, name)
    _cache, before = d.call()
    store = d.state / "cache" / logcache.STORE_NAME
    data = store.read_bytes()
    if damage == "delete":
        store.unlink()
    elif damage == "empty":
        store.write_bytes(b"")
    elif damage == "flip":   # overwrite the middle of the records, same size (same token)
        mid = len(data) // 2
        store.write_bytes(data[:mid] + b"X" * 200 + data[mid + 200:])
    elif damage == "truncate":
        store.write_bytes(data[:len(data) - 500])
    else:
        store.write_bytes(data.replace(b'"token": "', b'"token": "0', 1))
    cache, plots = d.call()
    assert plots == before
    _assert_consistent(d, cache, plots, tmp_path)


def test_store_record_of_another_log_is_not_used(d, tmp_path):
    d.write("a.log", "chiapos-k18-rename.log", plot_id="aa" * 32)
    d.write("b.log", "chiapos-k18-rename.log", plot_id="bb" * 32)
    d.call()
    store = d.state / "cache" / logcache.STORE_NAME
    head, first, second, _end = store.read_bytes().split(b"\n")
    assert len(first) == len(second)
    store.write_bytes(b"\n".join([head, second, first]) + b"\n")   # records swapped, same offsets
    cache, plots = d.call()
    assert plots[str(d.logs / "a.log")][0]["id"] == "aa" * 32 and plots[str(d.logs / "b.log")][0]["id"] == "bb" * 32
    _assert_consistent(d, cache, plots, tmp_path)


def test_store_is_compacted_when_mostly_garbage(d, tmp_path, monkeypatch):
    monkeypatch.setattr(logcache, "GARBAGE_MIN_BYTES", 0)
    paths = [d.write("%d.log" % i, FIXTURES[i % 3]) for i in range(9)]
    d.call()
    store = d.state / "cache" / logcache.STORE_NAME
    big = store.stat().st_size
    for path in paths[:6]:
        path.unlink()
    cache, plots = d.call()
    assert store.stat().st_size < big / 2 and len(plots) == 3
    _assert_consistent(d, cache, plots, tmp_path)


def test_live_log_moves_to_the_store_once_closed(d, tmp_path):
    path = d.write("job.log", "chiapos-k18-two-plots.log", upto=500)
    d.call(live=(str(path),))
    index = (d.state / "cache" / logcache.CACHE_NAME).read_text()
    assert "\ti{" in index   # live: payload inline in the index (it changes on every call)
    cache, plots = d.call()  # the process is gone, the log did not change
    assert cache.changed == set()
    index = (d.state / "cache" / logcache.CACHE_NAME).read_text()
    assert "\ti{" not in index and "\ts" in index
    _assert_consistent(d, cache, plots, tmp_path)


def test_concurrent_calls_keep_a_consistent_cache(d, tmp_path, monkeypatch):
    for i in range(6):
        d.write("%d.log" % i, FIXTURES[i % 3])
    d.call()
    # two calls load the same cache; the first compacts the store, the second saves afterwards
    slow = logcache.LogCache(str(d.state))
    for path in sorted(d.logs.iterdir()):
        slow.refresh(str(path), os.stat(str(path)))
    (d.logs / "0.log").unlink()
    (d.logs / "1.log").unlink()
    d.write("new.log", "chiapos-k18-rename.log")
    monkeypatch.setattr(logcache, "GARBAGE_MIN_BYTES", 0)
    d.call()
    monkeypatch.setattr(logcache, "GARBAGE_MIN_BYTES", 1 << 20)
    assert len(slow.seen[str(d.logs / "2.log")].plots) == 1   # still reads its own (replaced) store
    slow.save({})
    cache, plots = d.call()
    assert sorted(os.path.basename(p) for p in plots) == ["2.log", "3.log", "4.log", "5.log", "new.log"]
    _assert_consistent(d, cache, plots, tmp_path)


def test_unreadable_cache_dir_gives_a_warning(d, tmp_path):
    d.write("a.log", "chiapos-k18-rename.log")
    (d.state / "cache").write_text("a file where the cache dir should be")
    cache, plots = d.call()
    assert plots[str(d.logs / "a.log")][0]["state"] == "finished"
    assert any("cannot write parser cache" in w for w in cache.warnings_seen)
    (d.state / "cache").unlink()
    shutil.rmtree(str(d.state / "cache"), ignore_errors=True)


def test_invalid_utf8_in_a_log_is_read_as_replacement_characters(tmp_path):
    """logcache decodes each block from a view of the bytes read, with errors="replace" (as feed() of
    each decoded line): a bad byte in the ID line shows as U+FFFD in the plot id."""
    data = (LOGS / FIXTURES[0]).read_bytes().replace(RENAME_ID.encode(), b"69\xff\xfe" + RENAME_ID[4:].encode())
    path = tmp_path / "bad.log"
    path.write_bytes(data)
    plots = logcache.LogCache(str(tmp_path)).refresh(str(path), os.stat(str(path))).plots
    expected = model.parse_lines(data.decode("utf-8", "replace").splitlines(), "chiapos")
    assert plots == expected
    assert plots[0]["id"] == "69\ufffd\ufffd" + RENAME_ID[4:]


@pytest.mark.parametrize("live", [False, True])
def test_a_line_the_parser_cannot_read_costs_that_line_only(d, tmp_path, live):
    """A garbled number (`1.2.3`) made float() raise out of the parser and failed the whole plot_info;
    now the log is read line by line, that line left out (same plots as the log without it), with a
    warning naming the log. Resumed from its state, the log goes on from there."""
    lines = (LOGS / "chiapos-k18-two-plots.log").read_text().splitlines(True)
    at = next(i for i, line in enumerate(lines) if line.startswith("Time for phase 1 = "))
    garbled = "Time for phase 1 = 1.2.3 seconds. CPU (99.0%) Sat Nov 28 20:25:34 2026\n"
    path = d.logs / "garbled.log"
    path.write_text("".join(lines[:at] + [garbled] + lines[at + 1:at + 40]))
    cache, plots = d.call(live=[str(path)] if live else [])
    without = d.root / "without.log"
    without.write_text("".join(lines[:at] + lines[at + 1:at + 40]))
    assert plots[str(path)] == _fresh(without, tmp_path)
    assert plots[str(path)] and plots[str(path)][0]["id"] and "1" not in plots[str(path)][0]["phase_seconds"], plots
    assert [w for w in cache.warnings_seen if "garbled.log: 1 line(s) left out" in w and "1.2.3" in w]
    path.write_text("".join(lines[:at] + [garbled] + lines[at + 1:]))   # grows: resumed or re-read
    cache, plots = d.call(live=[str(path)] if live else [])
    without.write_text("".join(lines[:at] + lines[at + 1:]))
    assert plots[str(path)] == _fresh(without, tmp_path)
