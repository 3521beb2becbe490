"""What a farmer reads: move lines of any plot format, rates that say their window, a header and wait
reasons that agree. Status documents in, table/report lines out."""

import time

from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_status, fleet_table

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
