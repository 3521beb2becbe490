"""chiapos' cold-call short cuts by str methods: _dirname (posixpath.dirname), _phase3_path's quoted path (the
regex `"([^"]*)"` and posixpath's split) and _progress (_float inline), against what they replace."""

import posixpath
import random
import re

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import chiapos, model

PATHS = ["", "/", "//", "///x", "a", "a/", "a/b", "/a/b", "/a/b/", "/a//b", "//a", "a//", "/tmp/t1/plot-k18.plot.2.tmp",
         "./x", "../x/", "x y/z", "/a and /b/c"]


def _random_paths(count, seed):
    rnd = random.Random(seed)
    for _ in range(count):
        yield "".join(rnd.choice("/a. ") for _ in range(rnd.randrange(0, 9)))


def test_dirname_is_posixpath_dirname():
    for path in PATHS + list(_random_paths(5000, 15)):
        assert chiapos._dirname(path) == posixpath.dirname(path), path
        cut = path.rfind("/") + 1
        assert chiapos._dirname(path, cut) == posixpath.dirname(path), path
        assert path[cut:] == posixpath.basename(path), path


def _phase3_reference(plot, ctx, line):
    """_phase3_path as it was: the regex and posixpath."""
    m = re.search(r'"([^"]*)"', line)
    if not m:
        return
    path = m.group(1)
    tmp2, name = posixpath.dirname(path), posixpath.basename(path)
    if name.endswith(".2.tmp"):
        plot["plot_name"] = name[:-6]
    text = ctx.get("dirs_text") or ""
    if tmp2 and text.endswith(" and " + tmp2):
        plot["tmp_dir"] = text[:-len(" and " + tmp2)]
        plot["tmp2_dir"] = tmp2


def test_phase3_path_as_the_regex():
    start = 'Starting phase 3/4: Compression from tmp files into '
    lines = [start + '"/t2/plot-k18-x.plot.2.tmp" ... Sun Nov 29 01:58:47 2026', start + '"/t2/x.plot.2.tmp', start,
             start + '""', start + '"" "/t2/y.plot.2.tmp"', start + '"/t2//"', start + '"plot.2.tmp"',
             start + '"/a and /t2/p.plot.2.tmp" "/t2/q.plot.2.tmp"', start + 'x" y "/t2/z.plot.2.tmp"']
    rnd = random.Random(7)
    lines += ["".join(rnd.choice('"/ at.2.tmp') for _ in range(rnd.randrange(0, 14))) for _ in range(3000)]
    for dirs in ("/t1 and /t2", "/a and /t2", "/t1", "/t1 and /t2//", None):
        for line in lines:
            parser = chiapos.ChiaposParser()
            plot = parser.start_plot()
            if dirs is not None:
                parser.ctx["dirs_text"] = dirs
            expected = dict(plot)
            _phase3_reference(expected, parser.ctx, line)
            parser._phase3_path(plot, line)
            assert plot == expected, (dirs, line)


def test_progress_as_float_and_round4():
    values = ["0.5", " 0.123456 ", "1", "1.0", "0.99995", "0.99994", "0", "-0.1", "1.01", "nan", "inf", "x", "",
              "0.00005", "0.00015", "1e-3", "0.2500049999"]
    rnd = random.Random(3)
    values += ["%.*f" % (rnd.randrange(1, 9), rnd.random()) for _ in range(3000)]
    for state in ("plotting", "finished", "failed"):
        for before in (0.0, 0.3, 0.9999):
            for text in values:
                parser = chiapos.ChiaposParser()
                plot = parser.start_plot()
                plot["state"], plot["progress"] = state, before
                expected = dict(plot)
                try:
                    value = float(text.strip())
                except ValueError:
                    value = None
                if value is not None and 0 <= value <= 1:   # the code before: _float, then bump()'s steps
                    if value > 0.9999 and state != "finished":
                        value = 0.9999
                    value = model.round4(value)
                    if value > expected["progress"]:
                        expected["progress"] = value
                parser._progress(plot, text)
                assert plot == expected, (state, before, text)
