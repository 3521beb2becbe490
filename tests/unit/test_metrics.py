"""Prometheus textfile metrics (plot_info metrics_path): the real prometheus_client parser reads them,
counters count each plot once across calls, the file is replaced atomically."""

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import metrics

parser = pytest.importorskip("prometheus_client.parser", reason="prometheus_client (requirements-test.txt)")

NOW = 1764380000.0
ID_A, ID_B, ID_C = "aa" * 32, "bb" * 32, "cc" * 32


def state(history=(), transfers=(), jobs=()):
    return {
        "jobs": list(jobs), "history": list(history), "transfers": list(transfers),
        "dirs": [{"path": '/mnt/odd "dir"\\x', "free_bytes": 5 * 2 ** 30, "total_bytes": 10 * 2 ** 30,
                  "temp_bytes": 0, "plots_v1": 2, "plot_bytes_v1": 200, "plots_v2": 1, "plot_bytes_v2": 7}],
    }


def finished(ident, ended=NOW - 100, plotter="chiapos", k=18, launch_id="5f0c"):
    """A plot plotfleet started (its launch record's id); launch_id=None: adopted, another manager's."""
    return {"id": ident, "state": "finished", "plotter": plotter, "k": k, "finished_ts": ended, "ended": ended,
            "plot_file": "/mnt/dst/p-%s.plot" % ident, "launch_id": launch_id, "adopted": False}


OURS = frozenset({"plotter": "chiapos", "k": "18", "adopted": "false"}.items())


def samples(text):
    """{(name, frozenset(labels)): value} through prometheus_client's own text parser."""
    found = {}
    for family in parser.text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def test_every_family_parses_with_prometheus_client(tmp_path):
    jobs = [{"id": ID_C, "plotter": "chiapos", "state": "plotting", "phase": 2},
            {"id": None, "plotter": "madmax", "state": "stalled", "phase": 1}]
    transfers = [{"plot_id": ID_B, "state": "running", "bytes_total": 10}]
    path = str(tmp_path / "plotfleet.prom")
    metrics.write(path, state([finished(ID_A), finished(ID_B)], transfers, jobs), str(tmp_path), ["w"], now=NOW)
    text = open(path).read()
    got = samples(text)
    assert got[("plotfleet_jobs", frozenset({"phase": "2", "plotter": "chiapos", "state": "plotting"}.items()))] == 1
    assert got[("plotfleet_jobs", frozenset({"phase": "1", "plotter": "madmax", "state": "stalled"}.items()))] == 1
    odd = '/mnt/odd "dir"\\x'
    assert got[("plotfleet_dir_free_bytes", frozenset({"path": odd}.items()))] == 5 * 2 ** 30
    assert got[("plotfleet_dir_plots", frozenset({"path": odd, "format": "v2"}.items()))] == 1
    assert got[("plotfleet_dir_plot_bytes", frozenset({"path": odd, "format": "v1"}.items()))] == 200
    assert got[("plotfleet_plots_finished_total", OURS)] == 2
    assert got[("plotfleet_transfer_queue", frozenset())] == 1       # ID_B is moving, ID_A waits
    assert got[("plotfleet_transfers_running", frozenset())] == 1
    assert got[("plotfleet_last_pass_timestamp_seconds", frozenset())] == NOW
    assert got[("plotfleet_host_warnings", frozenset())] == 1
    types = dict((f.name, f.type) for f in parser.text_string_to_metric_families(text))
    assert types["plotfleet_plots_finished"] == "counter" and types["plotfleet_moved_bytes"] == "counter"
    assert text.endswith("\n")


def test_counters_count_each_plot_and_transfer_once(tmp_path):
    path = str(tmp_path / "m.prom")
    done = {"plot_id": ID_A, "state": "done", "bytes_total": 1000, "finished": NOW - 50}
    metrics.write(path, state([finished(ID_A)], [done]), str(tmp_path), now=NOW)
    metrics.write(path, state([finished(ID_A)], [done]), str(tmp_path), now=NOW + 10)   # same plots again
    metrics.write(path, state([finished(ID_B), finished(ID_A)],
                              [done, dict(done, plot_id=ID_B, bytes_total=500)]), str(tmp_path), now=NOW + 20)
    got = samples(open(path).read())
    assert got[("plotfleet_plots_finished_total", OURS)] == 2
    assert got[("plotfleet_moved_bytes_total", frozenset())] == 1500
    assert got[("plotfleet_plots_moved_total", frozenset())] == 2


def test_counters_never_go_down_when_history_shrinks(tmp_path):
    path = str(tmp_path / "m.prom")
    metrics.write(path, state([finished(ID_A), finished(ID_B)]), str(tmp_path), now=NOW)
    metrics.write(path, state([]), str(tmp_path), now=NOW + 10)     # history_limit=0, logs rotated away
    got = samples(open(path).read())
    assert got[("plotfleet_plots_finished_total", OURS)] == 2


def test_old_entries_coming_back_are_not_counted_again(tmp_path):
    path = str(tmp_path / "m.prom")
    metrics.write(path, state([finished(ID_A, ended=NOW)]), str(tmp_path), now=NOW)
    old = finished(ID_B, ended=NOW - 8 * 86400)   # a larger history_limit shows a plot from last week
    metrics.write(path, state([finished(ID_A, ended=NOW), old]), str(tmp_path), now=NOW + 10)
    got = samples(open(path).read())
    assert got[("plotfleet_plots_finished_total", OURS)] == 1
    assert ID_A in json.load(open(str(tmp_path / metrics.COUNTERS_NAME)))["seen_finished"]


def test_adopted_plots_are_counted_apart(tmp_path):
    """Other managers' plots (no launch record) finish on the host too: labelled adopted="true"."""
    path = str(tmp_path / "m.prom")
    metrics.write(path, state([finished(ID_A), finished(ID_B, launch_id=None), finished(ID_C, launch_id=None)]),
                  str(tmp_path), now=NOW)
    got = samples(open(path).read())
    assert got[("plotfleet_plots_finished_total", OURS)] == 1
    theirs = frozenset({"plotter": "chiapos", "k": "18", "adopted": "true"}.items())
    assert got[("plotfleet_plots_finished_total", theirs)] == 2


def test_counters_of_an_older_file_are_plotfleet_plots(tmp_path):
    """A counters file from before the label: its plotter/k keys stay counted, as adopted="false"."""
    counters = dict(metrics._empty_counters(), finished={"madmax/32": 7})
    (tmp_path / metrics.COUNTERS_NAME).write_text(json.dumps(counters))
    path = str(tmp_path / "m.prom")
    metrics.write(path, state([finished(ID_A)]), str(tmp_path), now=NOW)
    got = samples(open(path).read())
    assert got[("plotfleet_plots_finished_total", frozenset({"plotter": "madmax", "k": "32",
                                                             "adopted": "false"}.items()))] == 7
    assert got[("plotfleet_plots_finished_total", OURS)] == 1


def test_write_replaces_the_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "m.prom"
    path.write_text("old\n")
    inode = os.stat(str(path)).st_ino
    metrics.write(str(path), state(), str(tmp_path), now=NOW)
    assert os.stat(str(path)).st_ino != inode          # a new file renamed over the old one
    assert oct(os.stat(str(path)).st_mode & 0o777) == "0o644"
    assert sorted(os.listdir(str(tmp_path))) == ["m.prom", metrics.COUNTERS_NAME]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.prom"
    path.write_text("old\n")

    def broken(*args):
        raise OSError("disk full")
    monkeypatch.setattr(metrics.os, "replace", broken)
    with pytest.raises(OSError):
        metrics.write_atomic(str(path), "new\n")
    assert path.read_text() == "old\n"
    assert os.listdir(str(tmp_path)) == ["m.prom"]


PROMTOOL = os.environ.get("PROMTOOL") or shutil.which("promtool")


@pytest.mark.skipif(not PROMTOOL, reason="no promtool (Debian package prometheus; or PROMTOOL=/path/to/promtool)")
def test_promtool_lints_the_file(tmp_path):
    jobs = [{"id": ID_C, "plotter": "chiapos", "state": "plotting", "phase": 2}]
    path = str(tmp_path / "plotfleet.prom")
    metrics.write(path, state([finished(ID_A)], [{"plot_id": ID_A, "state": "done", "bytes_total": 5,
                                                   "finished": NOW}], jobs), str(tmp_path), now=NOW)
    with open(path) as handle:
        proc = subprocess.run([PROMTOOL, "check", "metrics"], stdin=handle, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout
