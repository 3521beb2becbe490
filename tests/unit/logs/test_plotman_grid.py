"""The step grid is plotman's: after every line of plotman's own test logs, plotfleet's step equals the
one plotman 0.5.3 reports (its `.marked` expectations, plotman_marked/), so plotman stagger settings
(tmpdir_stagger_phase_major:minor) mean the same here. Before a log names its plot, plotman reports a
phase-0 step of its own and plotfleet has no plot yet."""

from pathlib import Path

import pytest
from logs_testlib import fixture_path

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

MARKED = Path(__file__).resolve().parent / "plotman_marked"
KINDS = [("chianetwork", "chiapos"), ("madmax", "madmax"), ("bladebit", "bladebit")]


def _marked(kind):
    log = Path(fixture_path("plotman__%s.plot.log" % kind)).read_bytes().decode("utf-8")
    lines = log.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    steps = (MARKED / ("%s.phases" % kind)).read_text().split()
    assert len(steps) == len(lines)
    return lines, steps


@pytest.mark.parametrize("kind,plotter", KINDS)
def test_step_after_every_line_is_plotmans(kind, plotter):
    lines, steps = _marked(kind)
    parser = model.parser_for(plotter)
    wrong = []
    for line, step in zip(lines, steps):
        parser.feed(line)
        if parser.plots:
            if parser.plots[-1]["step"] != step:
                wrong.append((step, parser.plots[-1]["step"], line[:60]))
        elif not step.startswith("0:"):
            wrong.append((step, None, line[:60]))
    assert wrong == []
    assert parser.plots[-1]["state"] == "finished"


@pytest.mark.parametrize("kind,plotter", KINDS)
def test_blocks_end_on_plotmans_step(kind, plotter):
    """feed_text over any prefix of the log ends on the step plotman gives after that prefix."""
    lines, steps = _marked(kind)
    for cut in range(1, len(lines) + 1, max(1, len(lines) // 97)):
        parser = model.parser_for(plotter)
        parser.feed_text("\n".join(lines[:cut]))
        if parser.plots:
            assert parser.plots[-1]["step"] == steps[cut - 1], "after line %d: %r" % (cut, lines[cut - 1][:60])
