# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""argument_spec fragment matching doc_fragments/host.py (shared by all host modules), and plot_start's
plotter.custom template spec."""

from __future__ import absolute_import, division, print_function

import os

from ansible_collections.plotfleet.chia.plugins.module_utils import custom_plotter

__metaclass__ = type

HOST_ARGUMENT_SPEC = dict(
    log_dir=dict(type="path", required=True),
    state_dir=dict(type="path", required=True),
    tmp_dirs=dict(type="list", elements="path", default=[]),
    dst_dirs=dict(type="list", elements="path", default=[]),
    history_limit=dict(type="int", default=50),
    stall_after_s=dict(type="int"),
)


def host_argument_spec(**extra):
    """A fresh copy of the shared spec with module-specific options added."""
    spec = dict((key, dict(value)) for key, value in HOST_ARGUMENT_SPEC.items())
    spec.update(extra)
    return spec


# plot_start's plotter.custom (kind custom): see custom_plotter.py and plot_start's DOCUMENTATION.
CUSTOM_PLOTTER_SPEC = dict(
    name=dict(type="str", default="custom"),
    argv=dict(type="list", elements="str", required=True),
    process=dict(type="dict", options=dict(name=dict(type="str"), argv_pattern=dict(type="str"))),
    patterns=dict(type="dict", options=dict((name, dict(type="str")) for name in custom_plotter.PATTERN_NAMES)),
)


def prepare_plotter(params, keep_template=True):
    """Kind custom: the binary is the template's program, and a valid template is kept in state_dir (so
    plot_info can recognise its processes, also hand-started ones). Before starting.validate()."""
    plotter = params["plotter"]
    if plotter.get("kind") != "custom" or not plotter.get("custom"):
        return
    plotter["binary"] = custom_plotter.program(plotter)
    if keep_template and not custom_plotter.validate(plotter) and os.path.isdir(params["state_dir"]):
        custom_plotter.save_template(params["state_dir"], plotter)
