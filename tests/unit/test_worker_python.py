"""Worker code runs on the host's system Python, 3.8 or newer, with the standard library only.

The interpreter here is newer, so this checks the source itself: every file that runs on a worker
(modules, module_utils, the transfer worker) must parse as Python 3.8, import nothing outside the
standard library and the collection, and use none of the 3.9+ library features listed below.
"""

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKER_FILES = sorted(list((REPO / "plugins" / "modules").glob("*.py"))
                      + list((REPO / "plugins" / "module_utils").rglob("*.py")))
# Standard library features that arrived after Python 3.8.
NEWER_METHODS = {"removeprefix", "removesuffix", "is_relative_to", "with_stem", "randbytes", "bit_count"}
NEWER_MODULES = {"zoneinfo", "graphlib"}
NEWER_NAMES = {("functools", "cache"), ("math", "lcm"), ("itertools", "pairwise"), ("typing", "TypeAlias"),
               ("typing", "ParamSpec"), ("os", "waitstatus_to_exitcode")}
BUILTIN_GENERICS = {"list", "dict", "tuple", "set", "frozenset", "type"}  # list[int] fails at run time on 3.8
ALLOWED_TOP = set(getattr(sys, "stdlib_module_names", ())) | {"ansible", "ansible_collections", "__future__",
                                                              "plotfile", "records", "process_groups", "replot",
                                                              "storage_agent", "storage_slots",
                                                              "transfer_facts"}  # the worker's copies


def newer_than_38(source):
    """What in this source needs Python 3.9+ (empty when nothing does)."""
    found = []
    try:
        tree = ast.parse(source, feature_version=(3, 8))
    except SyntaxError as exc:
        return ["syntax newer than 3.8: %s (line %s)" % (exc.msg, exc.lineno)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            base = node.value.id if isinstance(node.value, ast.Name) else None
            if node.attr in NEWER_METHODS or (base, node.attr) in NEWER_NAMES:
                found.append("%s line %d" % (node.attr, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            found += ["from %s import %s" % (node.module, a.name) for a in node.names
                      if (node.module, a.name) in NEWER_NAMES or node.module in NEWER_MODULES]
        elif isinstance(node, ast.Import):
            found += ["import %s" % a.name for a in node.names if a.name in NEWER_MODULES]
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in BUILTIN_GENERICS:
            found.append("%s[...] line %d" % (node.value.id, node.lineno))
    return found


def third_party_imports(source):
    tops = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            tops.add(node.module.split(".")[0])
    return sorted(tops - ALLOWED_TOP)


def ids(paths):
    return [str(p.relative_to(REPO)) for p in paths]


@pytest.mark.parametrize("path", WORKER_FILES, ids=ids(WORKER_FILES))
def test_runs_on_python_38(path):
    assert newer_than_38(path.read_text()) == []


@pytest.mark.parametrize("path", WORKER_FILES, ids=ids(WORKER_FILES))
def test_imports_only_the_standard_library(path):
    assert third_party_imports(path.read_text()) == []


@pytest.mark.parametrize("snippet", [
    "match x:\n    case 1:\n        pass\n",
    "with (open('a') as f, open('b') as g):\n    pass\n",
    "name = 'plot-x'.removeprefix('plot-')\n",
    "import functools\n@functools.cache\ndef f():\n    pass\n",
    "from zoneinfo import ZoneInfo\n",
    "def f(x: list[int]):\n    pass\n",
])
def test_the_check_catches_newer_python(snippet):
    assert newer_than_38(snippet)


def test_the_check_catches_third_party_imports():
    assert third_party_imports("import yaml\nfrom requests import get\nimport os\n") == ["requests", "yaml"]
