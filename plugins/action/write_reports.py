# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""write_reports: write report files on the controller; no module is shipped or run on any host.

Documentation: plugins/modules/write_reports.py."""

from __future__ import absolute_import, division, print_function

from ansible.plugins.action import ActionBase

from ansible_collections.plotfleet.chia.plugins.plugin_utils import report_writer

__metaclass__ = type

ARGUMENT_SPEC = dict(
    files=dict(type="list", elements="dict", required=True),
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False   # controller only: never connects to the task's host
    _supports_check_mode = True
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            done = report_writer.write_files(args["files"], check_mode=self._task.check_mode)
        except OSError as exc:
            return dict(result, failed=True, msg="plotfleet: cannot write the report file %s: %s" % (
                exc.filename, exc.strerror))
        result.update(done, changed=bool(done["written"]))
        return result
