"""One licence, stated the same way everywhere: galaxy.yml, COPYING and every Python file we ship."""

import pathlib

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
LICENCE_LINE = "# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)"
COPYRIGHT_LINE = "# Copyright: plotfleet developers"
HEADER_LINES = 6  # shebang, coding line, copyright and licence come first


def shipped_python_files():
    """Every .py under plugins/, and every Python script under bin/ (they have no suffix)."""
    files = sorted(REPO.glob("plugins/**/*.py"))
    files += sorted(p for p in (REPO / "bin").iterdir() if p.is_file() and _is_python_script(p))
    return [p for p in files if p.stat().st_size > 0]  # an empty __init__.py holds nothing to license


def _is_python_script(path):
    with open(path, "rb") as handle:
        first = handle.readline()
    return first.startswith(b"#!") and b"python" in first


def test_galaxy_and_copying_say_gpl3_or_later():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert galaxy["license"] == ["GPL-3.0-or-later"]
    assert "GNU GENERAL PUBLIC LICENSE" in (REPO / "COPYING").read_text()[:200]
    assert "Version 3" in (REPO / "COPYING").read_text()[:200]


def test_every_shipped_python_file_states_gpl3_or_later_the_same_way():
    files = shipped_python_files()
    assert any(p.name == "fleet_status.py" for p in files) and any(p.name == "plotfleet-loop" for p in files)
    wrong = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        head = text.splitlines()[:HEADER_LINES]
        problems = []
        if LICENCE_LINE not in head:
            problems.append("no GPL-3.0-or-later line in the first %d lines" % HEADER_LINES)
        if COPYRIGHT_LINE not in head:
            problems.append("no copyright line")
        if "Apache" in text:
            problems.append("mentions another licence (Apache)")
        if problems:
            wrong[str(path.relative_to(REPO))] = problems
    assert not wrong, wrong
