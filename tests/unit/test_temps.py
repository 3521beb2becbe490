"""policy/temps.py: the one rule for a job's temp files. plot_info (hoststate) counts and lists by it
and plot_stop (stopping) deletes by it, so what plot_info shows as a dead job's files is what cleanup
deletes, no more, no less."""

from ansible_collections.plotfleet.chia.plugins.module_utils import hoststate, stopping
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import temps

MINE, OTHER = "a1" * 32, "b2" * 32


def make(directory, names):
    directory.mkdir(exist_ok=True)
    for name in names:
        (directory / name).write_bytes(b"x" * 10)


def both_views(job, dirs):
    listed = sorted(hoststate._temp_usage(job, {})[1])
    deleted = sorted(stopping.temp_files(job, [str(d) for d in dirs]))
    return listed, deleted


def test_plot_info_and_plot_stop_agree_on_a_chiapos_job(tmp_path):
    tmp, dst = tmp_path / "tmp", tmp_path / "dst"
    make(tmp, ["plot-k32-%s.plot.table1.tmp" % MINE, "plot-k32-%s.plot.sort.tmp" % OTHER, "notes.tmp",
               "plot-k32-%s.plot" % MINE])
    make(dst, ["plot-k32-%s.plot.2.tmp" % MINE, ".plot-k32-%s.plot.plotfleet-partial" % MINE])
    job = {"id": MINE, "plotter": "chiapos", "tmp_dir": str(tmp), "tmp2_dir": str(tmp), "dst_dir": str(dst)}
    listed, deleted = both_views(job, [tmp, dst])
    assert listed == deleted == sorted([str(tmp / ("plot-k32-%s.plot.table1.tmp" % MINE)),
                                        str(dst / ("plot-k32-%s.plot.2.tmp" % MINE))])


def test_bladebit_diskplot_temps_without_an_id_belong_to_the_job_of_that_temp_dir(tmp_path):
    tmp, dst = tmp_path / "tmp", tmp_path / "dst"
    make(tmp, ["y0_0.tmp", "table_3.tmp", "plot-k32-%s.plot.tmp" % OTHER])
    make(dst, ["y0_0.tmp"])  # not its temp dir: not its file
    job = {"id": MINE, "plotter": "bladebit", "tmp_dir": str(tmp), "dst_dir": str(dst)}
    listed, deleted = both_views(job, [tmp, dst])
    assert listed == deleted == sorted(str(tmp / n) for n in ("table_3.tmp", "y0_0.tmp"))


def test_the_rule_by_name():
    job = {"id": MINE, "plotter": "chiapos"}
    assert temps.belongs_to_job(job, "plot-k32-%s.plot.table1.tmp" % MINE, "tmp_dir")
    assert not temps.belongs_to_job(job, "plot-k32-%s.plot" % MINE, "dst_dir")  # a finished plot
    assert not temps.belongs_to_job(job, ".plot-k32-%s.plot.plotfleet-partial" % MINE, "dst_dir")  # a transfer's
    xch = {"id": None, "plotter": "xchplot2"}
    assert temps.belongs_to_job(xch, "plot-k28-%s.plot2.partial" % OTHER, "dst_dir")
    assert temps.job_dirs({"tmp_dir": "/t/", "tmp2_dir": "/t", "dst_dir": "/d"}) == [("tmp_dir", "/t/"),
                                                                                     ("dst_dir", "/d")]
