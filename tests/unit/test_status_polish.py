"""What a farmer reads: move lines of any plot format, rates that say their window, a header and wait
reasons that agree. Status documents in, table/report lines out."""

import re
import time

from test_fleet_table import start_result

from ansible_collections.plotfleet.chia.plugins.plugin_utils import (
    fleet_analyze,
    fleet_analyze_text,
    fleet_report,
    fleet_report_html,
    fleet_status,
    fleet_table,
)

NOW = time.mktime((2026, 11, 29, 14, 0, 0, 0, 0, -1))
ID_V1, ID_V2 = "1a" * 32, "2b" * 32
V1_NAME = "plot-k32-2026-11-29-12-00-%s.plot" % ID_V1
V2_NAME = "plot-k28-%s.plot2" % ID_V2


def table(move=None, start=None, jobs=(), width=100, check_mode=False):
    host = {"plotfleet_tmp_dirs": ["/mnt/nvme1"], "plotfleet_dst_dirs": ["/mnt/dst"],
            "plotfleet_host_state": {"jobs": list(jobs), "history": [], "dirs": [], "transfers": []}}
    if move is not None:
        host["plotfleet_move_result"] = move
    if start is not None:
        host["plotfleet_start_result"] = start
    status = fleet_status.build_status({"p1": host}, ["p1"], ["p1"], [], check_mode=check_mode, now=NOW)
    return status, fleet_table.render(status, width)


def move_lines(text):
    return [line.split(None, 1)[1] for line in text.splitlines() if line.startswith("  move")]


def test_v2_moves_read_like_v1_moves():
    """A rename shows the plot's dirs; a transfer the source dir and host:dir; the name once, v1 or v2."""
    moved, sending, would = [], [], []
    for plot_id, name in ((ID_V1, V1_NAME), (ID_V2, V2_NAME)):
        moved.append({"plot": name, "plot_id": plot_id, "source": "/mnt/dst/" + name,
                      "destination": "/mnt/farm/" + name, "method": "rename"})
        sending.append({"id": plot_id, "plot": name, "plot_id": plot_id, "source": "/mnt/dst/" + name,
                        "destination": "/srv/plots", "host": "nas", "method": "rsync", "pid": 77})
        would.append({"plot": name, "source": "/mnt/dst/" + name, "destination": "/srv/plots", "host": "nas",
                      "method": "rsync", "resume": False})
    _status, text = table(move={"moved": moved, "started": sending, "would_move": would, "reasons": []},
                          check_mode=True)
    lines = move_lines(text)
    for plot_id in (ID_V1, ID_V2):
        short = plot_id[:8]
        assert "moved %s /mnt/dst -> /mnt/farm (rename)" % short in lines
        assert "sending %s /mnt/dst -> nas:/srv/plots (rsync) pid 77" % short in lines
        assert "would move %s /mnt/dst -> nas:/srv/plots (rsync)" % short in lines
    assert not any(".plot" in line for line in lines), lines   # the file name is not repeated as paths


def test_a_custom_format_rename_shows_its_dirs():
    name = "plot-custom-42.dat"
    _status, text = table(move={"moved": [{"plot": name, "plot_id": "3c" * 32, "source": "/a/" + name,
                                           "destination": "/b/" + name, "method": "rename"}], "reasons": []})
    assert move_lines(text) == ["moved 3c3c3c3c /a -> /b (rename)"]


def _analysis(history):
    return fleet_analyze.analyze({"p1": {"plotfleet_host_state": {"history": history, "jobs": [],
                                                                  "transfers": [], "dirs": []}}}, ["p1"], NOW)


def _finished(ident, started, seconds=240):
    return {"id": ident, "state": "finished", "plotter": "chiapos", "k": 18, "tmp_dir": "/mnt/nvme1",
            "started_ts": started, "finished_ts": started + seconds, "ended": started + seconds,
            "phase_seconds": {"1": seconds}, "total_seconds": seconds}


def test_minutes_of_history_give_the_count_and_window_everywhere():
    """3 plots in 14 minutes: no 6821/day extrapolation in analyze's text, the report JSON or the HTML."""
    history = [_finished(c * 64, NOW - 14 * 60 + i * 120) for i, c in enumerate("abc")]
    analysis = _analysis(history)
    assert analysis["plots"]["plots_per_day"] is None
    assert (analysis["plots"]["plots_in_window"], analysis["plots"]["window_s"]) == (3, 14 * 60)
    text = fleet_analyze_text.render(analysis)
    assert "plots 3 in 14m00s (no rate under 1h00m)" in text.splitlines()[0]
    assert "/day" not in text
    host = {"plotfleet_host_state": {"history": history, "jobs": [], "transfers": [], "dirs": []}}
    status = fleet_status.build_status({"p1": host}, ["p1"], ["p1"], [], now=NOW)
    report = fleet_report.build_report({"p1": host}, status, NOW)
    assert report["analysis"]["plots"]["plots_per_day"] is None
    page = fleet_report_html.render(report)
    cards = re.findall(r'<span class="throughput">(.*?)</span>', page)
    assert cards == ["plotted <b>3 in 14m00s (no rate under 1h00m)</b>"]
    assert re.findall(r'<td class="num throughput">(.*?)</td>', page) == ["3 in 14m00s (no rate under 1h00m)"]


def test_a_day_of_history_gives_the_plots_of_the_last_24_h():
    history = [_finished("a" * 64, NOW - 30 * 3600), _finished("b" * 64, NOW - 3 * 3600),
               _finished("c" * 64, NOW - 2 * 3600)]
    text = fleet_analyze_text.render(_analysis(history))
    assert "plots 2.0/day (last 24 h)" in text.splitlines()[0]
    history = [_finished(c * 64, NOW - 4 * 3600 + i * 3600) for i, c in enumerate("abc")]
    assert "plots 18.0/day (3 in 4h00m)" in fleet_analyze_text.render(_analysis(history)).splitlines()[0]


def wait_lines(text):
    lines = text.splitlines()
    start = [i for i, line in enumerate(lines) if line.startswith("  wait")]
    out = []
    for i in start:   # a wrapped reason continues on indented lines
        out.append(lines[i].split(None, 1)[1])
        for line in lines[i + 1:]:
            if not line.startswith("         "):
                break
            out[-1] += " " + line.strip()
    return out


def test_a_job_count_the_start_saw_under_the_lock_is_told_apart_from_the_gather():
    """The gather saw no job; the start decision, gathering again under the host lock, saw 4 (its max_jobs
    check's count, as the real policy returns it)."""
    status, text = table(start=start_result(4, 4))
    assert status["summary"]["jobs"] == 0
    (line,) = [w for w in wait_lines(text) if w.startswith("host: ")]
    assert line.startswith("host: 4 jobs running (limit 4) - the start decision's count under the host lock;")
    assert "the gather above saw 0 (jobs started in between" in line


def test_agreeing_counts_need_no_note():
    jobs = [{"id": c * 64, "plotter": "chiapos", "k": 32, "state": "plotting", "step": "1:2"} for c in "abcd"]
    status, text = table(jobs=jobs, start={"started": [], "reasons": ["host: 4 jobs running (limit 4)",
                                                                        "tmp /mnt/nvme1: 1 job before phase 2:1"]})
    assert status["summary"]["jobs"] == 4
    assert wait_lines(text) == ["host: 4 jobs running (limit 4)", "tmp /mnt/nvme1: 1 job before phase 2:1"]
