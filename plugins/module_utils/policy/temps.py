# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one rule for which temp files belong to a plot job (pure: names in, yes/no out).

plot_info counts a job's temp bytes and lists a dead job's leftovers with it (hoststate), plot_stop
deletes exactly those (stopping, which adds: configured dirs only, regular files, not open), and the
mover never takes a temp file (plotfile.is_plot_name never matches one). A temp file is the job's when:
  - its name is a temp name (plotfile.is_temp_name: `*.tmp`, xchplot2's `plot-k*.plot2.partial`,
    plotfleet's `*.plotfleet-partial`), not a transfer's partial copy (those belong to a transfer), and
  - it is in one of the job's tmp/tmp2/dst dirs, and
  - its name holds the job's plot id; or the job is BladeBit (diskplot temp names carry no id: one
    job per temp dir) and the file is in a temp dir, not named like a plot; or the job is xchplot2
    (its log is not parsed, so no id) and the file is one of its `.plot2.partial` files.
"""

from __future__ import absolute_import, division, print_function

from ansible_collections.plotfleet.chia.plugins.module_utils import plotfile

__metaclass__ = type

JOB_DIR_KEYS = ("tmp_dir", "tmp2_dir", "dst_dir")


def is_temp_name(name):
    return plotfile.is_temp_name(name)


def _norm(path):
    return path.rstrip("/") or "/"


def job_dirs(job):
    """[(key, dir)] of the job's own dirs, each dir once (tmp before tmp2 before dst)."""
    seen, out = set(), []
    for key in JOB_DIR_KEYS:
        path = job.get(key)
        if path and _norm(path) not in seen:
            seen.add(_norm(path))
            out.append((key, path))
    return out


def belongs_to_job(job, name, dir_key):
    """The temp file `name`, found in the job's dir `dir_key` (one of JOB_DIR_KEYS), is this job's."""
    if not is_temp_name(name) or name.endswith(plotfile.PARTIAL_SUFFIX):
        return False
    plot_id = (job.get("id") or "").lower()
    if plot_id and plot_id in name.lower():
        return True
    if job.get("plotter") == "bladebit" and dir_key != "dst_dir" and "plot-k" not in name:
        return True
    return job.get("plotter") == "xchplot2" and name.endswith(plotfile.PLOT2_PARTIAL_SUFFIX)


def job_temp_files(job, names_in):
    """[(dir, name)] of the job's temp files; names_in(dir) -> the file names in that dir."""
    return [(path, name) for key, path in job_dirs(job) for name in names_in(path)
            if belongs_to_job(job, name, key)]
