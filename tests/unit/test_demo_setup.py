"""`make demo` from a fresh clone: the venv it builds holds every plotter the demo runs, and the demo
reads its last pass's PLAY RECAP right (a pass whose recap it cannot read is not `changed=0`)."""

import importlib.machinery
import importlib.util
import os
import re
import subprocess

import pytest

from plotfleet_testlib import REPO


def load_demo():
    loader = importlib.machinery.SourceFileLoader("plotfleet_demo", str(REPO / "bin" / "plotfleet-demo"))
    spec = importlib.util.spec_from_loader("plotfleet_demo", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


demo = load_demo()


def demo_venv_pip_lines(tmp_path):
    """The pip commands `make demo-venv` would run for a venv that does not exist yet (a make of its own:
    not the flags of a `make test` this may run under)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    out = subprocess.run(["make", "-n", "demo-venv", "VENV=%s" % (tmp_path / "venv")], cwd=str(REPO), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=True)
    assert not (tmp_path / "venv").exists(), "make -n created the venv"
    return [line for line in out.stdout.splitlines() if " -m pip install " in line]


def pinned(name):
    text = (REPO / "requirements-test.txt").read_text()
    return re.search(r"^%s==(\S+)" % re.escape(name), text, re.M).group(1)


@pytest.mark.parametrize("fmt", sorted(demo.FORMATS))
def test_demo_venv_installs_the_plotter_the_demo_checks_for(tmp_path, fmt):
    package = demo.FORMATS[fmt]["package"]
    lines = demo_venv_pip_lines(tmp_path)
    assert any("%s==%s" % (package, pinned(package)) in line.split() for line in lines), lines


def test_recap_changed_sums_every_host_of_the_last_recap():
    output = ("PLAY RECAP ***\nlocalhost : ok=3 changed=1\n"  # an earlier play's recap does not count
              "TASK [x] ***\nPLAY RECAP ***\nlocalhost : ok=11 changed=0 unreachable=0\nstorage1 : ok=4 changed=2\n")
    assert demo.recap_changed(output) == 2


def test_a_pass_without_a_recap_is_not_changed_0():
    assert demo.recap_changed("ERROR! the playbook: reconcile.yml could not be found") is None


def test_time_per_plot_counts_only_this_runs_plots():
    recent = [{"state": "finished", "elapsed_s": 9.0, "id": "a" * 64},   # an earlier run (v1)
              {"state": "finished", "elapsed_s": 0.6, "id": "b" * 64},
              {"state": "failed", "elapsed_s": 3.0, "id": "c" * 64}]
    status = {"hosts": [{"recent": recent}]}
    assert demo.seconds_per_plot(status, {"b" * 64, "c" * 64}) == [0.6]
