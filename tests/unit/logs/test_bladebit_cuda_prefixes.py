"""GPU plotter logs behind a wrapper prefix (bladebit_cuda: `[Sep 24 10:50:53] `, journald's `host
bladebit_cuda[4991]: `, chia's `STDERR: `; Gigahorse: `[2023/05/12 17:08:33] `, `[Sep 24 10:50:53] `) give the
plots of the bare log: the parsers strip a prefix only where one can be (a cheap test before the regex)."""

import json

import pytest
from logs_testlib import fixture_path, read_lines

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

CASES = [("synthetic-bladebit-cuda-n3-check.log", "bladebit_cuda", prefix) for prefix in
         ("[Sep 24 10:50:53] ", "Sep 24 10:50:53 host bladebit_cuda[4991]: ", "rig bladebit_cuda[17]: ", "STDERR: ")]
CASES += [("synthetic-gigahorse-n3-copy-overlap.log", "gigahorse", prefix) for prefix in
          ("[2023/05/12 17:08:33] ", "[Sep 24 10:50:53] ")]


def _plots(plotter, lines):
    parser = model.parser_for(plotter)
    parser.feed_text("\n".join(lines))
    return json.dumps(parser.plots, sort_keys=True)


@pytest.mark.parametrize("name,plotter,prefix", CASES)
def test_prefixed_log_gives_the_plots_of_the_bare_log(name, plotter, prefix):
    lines = read_lines(fixture_path(name))
    bare = _plots(plotter, lines)
    assert _plots(plotter, [prefix + line if line else line for line in lines]) == bare
    assert '"finished"' in bare
