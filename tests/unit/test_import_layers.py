"""The import layers of plugins/module_utils (docs/ARCHITECTURE.md "Layers"), read from the source (ast).

decide (policy/*) is pure: the standard library's pure parts, other policy modules and the shared
definitions (plotfile names, transfer_facts). gather (hoststate, transfer, ...) is read-only and never
reaches act code (starting, moving, stopping, launch, detach, the worker), so plot_info ships none of it.
The worker's files import only the standard library and each other (they are installed flat), and the
storage agent, which runs on the storage host from its text, only the standard library.
"""

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UTILS = REPO / "plugins" / "module_utils"
PREFIX = "ansible_collections.plotfleet.chia.plugins.module_utils"

ACT = {"starting", "moving", "draining", "stopping", "launch", "detach", "transfer_worker", "storage_agent",
       "chiapos_driver", "pos2_driver"}
GATHER_ENTRIES = {"hoststate", "transfer"}
SHARED = {"plotfile", "transfer_facts"}  # names and formats, no state: policy may use them
POLICY_STDLIB = {"__future__", "re", "os", "time", "math", "collections", "itertools", "functools", "heapq"}
WORKER_FILES = {"transfer_worker", "plotfile", "records", "transfer_facts", "process_groups", "storage_agent",
                "replot", "storage_slots"}  # shipped with the storage agent: replot.py for replot sessions,
# storage_slots.py always (the slots file's reading rules, plot_info's too)
# What pure code must not call: I/O and the clock (os.path's string functions are fine).
IMPURE_CALLS = {("os", "stat"), ("os", "listdir"), ("os", "scandir"), ("os", "statvfs"), ("os", "open"),
                ("os", "rename"), ("os", "unlink"), ("os", "kill"), ("time", "time"), ("time", "sleep")}
IMPURE_NAMES = {"open", "print"}


def module_name(path):
    return ".".join(path.relative_to(UTILS).with_suffix("").parts)


def imports_of(path):
    """(collection modules, top-level stdlib/other names) that the file imports."""
    ours, others = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                (ours.add(name[len(PREFIX) + 1:]) if name.startswith(PREFIX + ".") else others.add(name.split(".")[0]))
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module == PREFIX or node.module.startswith(PREFIX + "."):
                base = node.module[len(PREFIX) + 1:]
                ours.update((base + "." + a.name).lstrip(".") for a in node.names)
            else:
                others.add(node.module.split(".")[0])
    return ours, others


def all_modules():
    return dict((module_name(p), p) for p in UTILS.rglob("*.py") if p.name != "__init__.py")


def closure(start, modules):
    """Every collection module reached from start through imports (the worker's flat imports too)."""
    seen, todo = set(), list(start)
    while todo:
        name = todo.pop()
        if name in seen or name not in modules:
            continue
        seen.add(name)
        ours, others = imports_of(modules[name])
        todo += list(ours) + [o for o in others if o in modules]
    return seen


MODULES = all_modules()
POLICY = sorted(name for name in MODULES if name.startswith("policy."))


def test_the_layers_are_there():
    assert {"policy.start", "policy.move", "policy.temps"} <= set(POLICY)
    assert ACT | GATHER_ENTRIES | WORKER_FILES <= set(MODULES)


@pytest.mark.parametrize("name", POLICY)
def test_policy_is_pure(name):
    ours, others = imports_of(MODULES[name])
    assert all(o.startswith("policy.") or o in SHARED for o in ours), ours
    assert others <= POLICY_STDLIB, others - POLICY_STDLIB
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        func = getattr(node, "func", None)
        if isinstance(node, ast.Call) and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            assert (node.func.value.id, node.func.attr) not in IMPURE_CALLS, "line %d" % node.lineno
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in IMPURE_NAMES, "line %d" % node.lineno


@pytest.mark.parametrize("entry", sorted(GATHER_ENTRIES))
def test_gather_reaches_no_act_code(entry):
    assert closure([entry], MODULES) & ACT == set()


def test_plot_info_ships_no_act_code():
    ours, _ = imports_of(REPO / "plugins" / "modules" / "plot_info.py")
    assert closure(ours, MODULES) & ACT == set()


@pytest.mark.parametrize("name", sorted(WORKER_FILES))
def test_worker_files_import_only_each_other(name):
    ours, others = imports_of(MODULES[name])
    stdlib = set(sys.stdlib_module_names)
    assert set(o.split(".")[-1] for o in ours) <= WORKER_FILES
    assert others - stdlib <= WORKER_FILES, others - stdlib


def test_storage_agent_imports_only_the_standard_library():
    """And storage_slots (its program text defines it), which imports only the standard library."""
    ours, others = imports_of(MODULES["storage_agent"])
    assert ours == {"storage_slots"} and others - {"storage_slots"} <= set(sys.stdlib_module_names)
    ours, others = imports_of(MODULES["storage_slots"])
    assert not ours and others <= set(sys.stdlib_module_names)


def test_a_checked_layer_fails_when_crossed(tmp_path):
    """The checker itself: a gather module that imports act code is caught."""
    bad = tmp_path / "module_utils" / "bad_gather.py"
    bad.parent.mkdir()
    bad.write_text("from %s import moving\n" % PREFIX)
    assert closure(["bad_gather"], dict(MODULES, bad_gather=bad)) & ACT == {"moving"} | (
        closure(["moving"], MODULES) & ACT)
