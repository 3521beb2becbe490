"""plot_info through real Ansible (the module on the system Python, in check mode) on a storage dir of real k18
plots with replot on and a real journal: replot_status is returned, the journal and the dir are left as they
were, no metrics in check mode; a real second call (from the journal cache) says the same, changed=0, and its
Prometheus file carries it."""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import replot_lib as lib  # noqa: E402

from ansible_collections.plotfleet.chia.plugins.module_utils import replot  # noqa: E402
from plotfleet_testlib import run_module  # noqa: E402


def test_plot_info_returns_replot_status_and_writes_its_metrics(tmp_path):
    directory = tmp_path / "d1"
    directory.mkdir()
    old = [lib.place(directory, src, "202%d-01-01-00-00" % i) for i, src in enumerate(lib.og_plots(2))]
    new = lib.place(directory, lib.v2_plots(1)[0])
    journal = str(tmp_path / "journal.jsonl")
    entry = {"dir": os.path.realpath(str(directory)), "name": "plot-k18-2019-01-01-00-00-%s.plot" % ("a" * 64),
             "size": 4242, "plot_id": "a" * 64, "why": "v1 k18 replaced", "for": new.name, "ino": 7}
    replot.append_journal(journal, dict(entry, event="deleting"))
    replot.append_journal(journal, dict(entry, event="deleted"))
    journal_before = Path(journal).read_bytes()
    state_dir, prom = tmp_path / "state", tmp_path / "plotfleet.prom"
    state_dir.mkdir()
    args = {"log_dir": str(tmp_path / "logs"), "state_dir": str(state_dir), "dst_dirs": [str(directory)],
            "metrics_path": str(prom),
            "replot": {"enabled": True, "storage_dirs": [str(directory)], "journal": journal}}
    rc, first = run_module("plot_info", args, check=True)
    assert rc == 0 and first["changed"] is False, first
    row = first["replot_status"][str(directory)]
    assert row["old"] == {"count": 2, "bytes": sum(p.stat().st_size for p in old)}
    assert row["new"] == {"count": 1, "bytes": new.stat().st_size} and row["arrived"]["count"] == 1
    assert row["deleted_total"] == {"count": 1, "bytes": 4242} and row["recent"][0]["name"] == entry["name"]
    assert row["eta_s"] == int(row["old"]["bytes"] / row["arrival_rate_bps"])
    assert not prom.exists() and not (state_dir / "metrics-counters.json").exists()   # check mode: no metrics
    assert Path(journal).read_bytes() == journal_before
    assert sorted(os.listdir(str(directory))) == sorted([p.name for p in old] + [new.name])
    assert (state_dir / "cache" / "replot-journal.json").exists()
    rc, second = run_module("plot_info", args)      # a real call: the same, and its metrics file
    assert rc == 0 and second["changed"] is False
    assert json.dumps(second["replot_status"], sort_keys=True) == json.dumps(first["replot_status"], sort_keys=True)
    text = prom.read_text()
    assert 'plotfleet_replot_old_plots{path="%s"} 2' % directory in text
    assert 'plotfleet_replot_deleted_total{path="%s"} 1' % directory in text
    assert Path(journal).read_bytes() == journal_before
