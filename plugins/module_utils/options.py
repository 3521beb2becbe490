# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""argument_spec fragment matching doc_fragments/host.py (shared by all host modules)."""

from __future__ import absolute_import, division, print_function

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
