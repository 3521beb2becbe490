"""The selectors' optional parts written `(?:X|)` (and chiapos' phase-4 table lines possessive on 3.11+) match what
the `(?:X)?` / `*` forms match: the same spans, kinds and groups on every fixture log and on variants of them.

`(?:X|)` is there for sre's data stack (no REPEAT, whose tries copy the capture marks: see chiapos_blocks); the
reference here is the same pattern text with each such part turned back into `(?:X)?`.
"""

import random
import re

import logs_testlib
import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import bladebit, chiapos, madmax


def as_repeats(pattern):
    """pattern with every `(?:X|)` (a non-capturing group whose last alternative is empty) as `(?:X)?`, `*+` as `*`."""
    out, opened, i = [], [], 0   # opened: for each open group, whether it is `(?:`
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[":   # a class, as is (it may hold `(`, `)` or `|`)
            j = i + 1 + (pattern[i + 1] == "^")
            j += pattern[j] == "]"
            while pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            out.append(pattern[i:j + 1])
            i = j + 1
            continue
        if c == "(":
            opened.append(pattern.startswith("(?:", i))
        elif c == ")" and opened.pop() and out[-1] == "|":
            out[-1] = ")?"
            i += 1
            continue
        elif c == "*" and pattern[i + 1:i + 2] == "+":
            c = "*"
            i += 1
        out.append(c)
        i += 1
    return "".join(out)


def test_as_repeats():
    assert as_repeats(r"a(?:b(?P<x>c)|)d") == r"a(?:b(?P<x>c))?d"
    assert as_repeats(r"(?:a|b|)(?P<y>x|)[|)](?:\||)(?:\n\t[PC]: [^\n]*)*+") == \
        r"(?:a|b)?(?P<y>x|)[|)](?:\|)?(?:\n\t[PC]: [^\n]*)*"


SELECTORS = {"chiapos": chiapos._SELECT_RE, "madmax": madmax._SELECT_RE, "bladebit": bladebit._SELECT_RE}


def test_the_reference_differs():
    for name, select in SELECTORS.items():
        ref = as_repeats(select.pattern)
        assert ref != select.pattern, name
        assert "|)" not in ref.replace("\\|)", ""), name
        assert re.compile(ref).groups == select.groups


def _variants(text, seed):
    """text, and copies of it with a line dropped, doubled or changed at random places (runs broken)."""
    lines = text.split("\n")
    rnd = random.Random(seed)
    yield text
    for _ in range(12):
        copy = list(lines)
        at = rnd.randrange(len(copy))
        how = rnd.randrange(5)
        if how == 0:
            del copy[at]
        elif how == 1:
            copy.insert(at, copy[at])
        elif how == 2:
            copy[at] = re.sub(r"[0-9]", lambda m: rnd.choice("0123456789."), copy[at], count=1)
        elif how == 3:
            copy.insert(at, "")
        else:
            copy[at] = copy[at][:max(0, len(copy[at]) - rnd.randrange(1, 6))]
        yield "\n".join(copy)


def _matches(select, text):
    return [(m.span(), m.lastgroup, m.groups()) for m in select.finditer(text)]


@pytest.mark.parametrize("name,path", logs_testlib.fixture_logs())
def test_same_matches_as_the_repeat_forms(name, path):
    with open(path, "rb") as handle:
        data = handle.read()
    plotter = chiapos.model.detect_plotter(data[:16384])
    if plotter not in SELECTORS:
        pytest.skip("no selector with optional parts")
    select = SELECTORS[plotter]
    reference = re.compile(as_repeats(select.pattern))
    text = "\n" + data.decode("utf-8", "replace").replace("\r", "")
    for variant in _variants(text, name):
        assert _matches(select, variant) == _matches(reference, variant)
