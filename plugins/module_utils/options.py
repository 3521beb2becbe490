# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""argument_spec fragments matching doc_fragments/host.py (every host module), doc_fragments/start.py
(plot_start, plot_pass: the plotter and its custom template) and doc_fragments/move.py (plot_move, plot_pass)."""

from __future__ import absolute_import, division, print_function

import os

from ansible_collections.plotfleet.chia.plugins.module_utils import custom_plotter
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import move as move_policy
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import start as start_policy

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


PLOTTER_SPEC = dict(
    kind=dict(type="str", required=True, choices=["chia", "chiapos", "madmax", "bladebit",
                                                  "bladebit_cuda", "gigahorse", "pos2", "custom"]),
    custom=dict(type="dict", options=CUSTOM_PLOTTER_SPEC),
    binary=dict(type="str"),
    python=dict(type="str", default="python3"),
    k=dict(type="int", default=32),
    count=dict(type="int", default=1),
    threads=dict(type="int"),
    buckets=dict(type="int"),
    buffer_mib=dict(type="int"),
    stripe=dict(type="int"),
    strength=dict(type="int"),
    tmp2_dir=dict(type="path"),
    farmer_public_key=dict(type="str", no_log=False),
    pool_public_key=dict(type="str", no_log=False),
    pool_contract_address=dict(type="str"),
    compression=dict(type="int", default=0),
    bladebit_mode=dict(type="str", default="ramplot", choices=["ramplot", "diskplot", "cudaplot"]),
    extra_args=dict(type="list", elements="str", default=[]),
    nice=dict(type="int"),
)


def start_options():
    """plot_start's own options (doc_fragments/rules.py + start.py)."""
    return dict(
        rules=dict(type="dict", options=start_policy.RULES_SUBOPTIONS, apply_defaults=True),
        plotter=dict(type="dict", required=True, options=PLOTTER_SPEC),
        pause_file=dict(type="path"),
        max_starts=dict(type="int", default=1),
        start_timeout=dict(type="float", default=5.0),
    )


DESTINATION_SPEC = dict(
    path=dict(type="str", required=True),
    host=dict(type="str"),
    user=dict(type="str"),
    port=dict(type="int"),
    ssh_key=dict(type="path"),
    must_be_mount=dict(type="bool", default=False),
    mounted=dict(type="bool"),
    problem=dict(type="str"),
    free_bytes=dict(type="int"),
    min_free_bytes=dict(type="int", default=0),
    incoming_bytes=dict(type="int", default=0),
    incoming_plots=dict(type="dict"),
    incoming_senders_bytes=dict(type="int", default=0),
    cpu_aes=dict(type="bool"),
    replot=dict(type="dict"),
)


def move_options():
    """plot_move's own options (doc_fragments/move.py)."""
    return dict(
        source_dirs=dict(type="list", elements="path", default=[]),
        destinations=dict(type="list", elements="dict", default=[], options=DESTINATION_SPEC),
        max_transfers_per_destination=dict(type="int", default=1),
        max_transfers_per_source=dict(type="int", default=4),
        retry_after_s=dict(type="int", default=move_policy.RETRY_AFTER_S),
        max_attempts=dict(type="int", default=move_policy.MAX_ATTEMPTS),
        bwlimit_kbps=dict(type="int"),
        rsync_path=dict(type="str"),
        ssh_options=dict(type="list", elements="str", default=[]),
        ssh_ciphers=dict(type="str", default="auto"),
        delete_source=dict(type="bool", default=True),
        python=dict(type="str"),
    )


def move_problems(params):
    """What is wrong with the move options, one message each (plot_move fails with the first)."""
    problems = []
    for index, dest in enumerate(params["destinations"]):
        if not dest["path"].startswith("/"):
            problems.append("destinations[%d].path must be absolute, got %r" % (index, dest["path"]))
    if params["retry_after_s"] < 0:
        problems.append("retry_after_s must be 0 or more seconds, got %d" % params["retry_after_s"])
    for name in ("max_transfers_per_destination", "max_transfers_per_source", "max_attempts"):
        if params[name] < 1:
            problems.append("%s must be at least 1, got %d" % (name, params[name]))
    if params["bwlimit_kbps"] is not None and params["bwlimit_kbps"] < 1:
        problems.append("bwlimit_kbps must be a positive number of KiB/s, got %d" % params["bwlimit_kbps"])
    return problems
