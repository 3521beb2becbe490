"""The custom plotter template: validation with clear errors, argv rendering, process recognition."""

import os
import subprocess
import sys
import time

import pytest
import yaml

from ansible_collections.plotfleet.chia.plugins.filter import variables
from ansible_collections.plotfleet.chia.plugins.module_utils import custom_plotter, launch, options, processes
from plotfleet_testlib import REPO

ARGV = ["/opt/plotter/bin/myplot", "-k", "{k}", "-n", "{count}", "-t", "{tmp_dir}", "-d", "{dst_dir}"]


def plotter(custom=None, **over):
    spec = {"name": "myplot", "argv": list(ARGV), "process": {"name": "myplot"}}
    spec.update(custom or {})
    return dict({"kind": "custom", "k": 28, "count": 3, "custom": spec}, **over)


def test_a_good_template_validates_and_keys_are_optional():
    assert launch.validate_plotter(plotter()) == []
    keyed = plotter({"argv": ARGV + ["-f", "{farmer_public_key}", "-c", "{pool_contract_address}"]},
                    farmer_public_key="a" * 96, pool_contract_address="xch1" + "q" * 58)
    assert launch.validate_plotter(keyed) == []


@pytest.mark.parametrize("custom,error", [
    ({"argv": []}, "plotter.custom.argv: kind custom needs an argv template (a list: program, then its arguments)"),
    ({"argv": ["p", "-o", "{out_dir}", "{dst_dir}"]}, "plotter.custom.argv[2]: unknown placeholder {out_dir} (known: "
     "{tmp_dir}, {tmp2_dir}, {dst_dir}, {k}, {count}, {threads}, {buckets}, {buffer_mib}, {stripe}, {strength}, "
     "{compression}, {farmer_public_key}, {pool_public_key}, {pool_contract_address}, {python}, {binary})"),
    ({"argv": ["p", "-f", "{farmer_public_key}", "{dst_dir}"]},
     "plotter.custom.argv[2]: {farmer_public_key} has no value (set plotter.farmer_public_key, or take it out of "
     "the template)"),
    ({"argv": ["p", "-t", "{tmp_dir}"]},
     "plotter.custom.argv must pass {dst_dir}: plotfleet chooses the output dir of every plot"),
    ({"patterns": {"id": "ID: [0-9a-f]{64}"}},
     "plotter.custom.patterns.id must capture the 64-hex plot id: (?P<id>[0-9a-f]{64})"),
    ({"patterns": {"progress": "([0-9.]+"}},
     "plotter.custom.patterns.progress: '([0-9.]+' is not a valid regular expression "
     "(missing ), unterminated subpattern at position 0)"),
    ({"patterns": {"done": "x"}},
     "plotter.custom.patterns.done: unknown pattern (known: start, id, phase, progress, finished, failed)"),
    ({"process": {"name": "/usr/bin/myplot"}},
     "plotter.custom.process.name: '/usr/bin/myplot' must be an executable name, not a path"),
    ({"name": "my plot"}, "plotter.custom.name: 'my plot' must be 1..64 letters, digits or ._+- (it names the "
     "plotter in logs and status)"),
])
def test_bad_templates_are_refused_with_an_error_naming_the_option(custom, error):
    assert launch.validate_plotter(plotter(custom)) == [error]


def test_k_range_of_the_custom_kind():
    assert launch.validate_plotter(plotter(k=12)) == [
        "plotter.k: 12 is out of range for plotter kind custom (16..40)"]


def test_render_fills_every_placeholder_and_keeps_spaces_in_one_argument():
    settings = plotter({"argv": ARGV + ["--threads={threads}"]}, threads=8)
    argv = custom_plotter.render(settings, "/opt/plotter/bin/myplot", "/nv me/t", None, "/hdd 1/")
    assert argv == ["/opt/plotter/bin/myplot", "-k", "28", "-n", "3", "-t", "/nv me/t", "-d", "/hdd 1/", "--threads=8"]
    assert custom_plotter.program(plotter({"argv": ["{python}", "x.py", "{dst_dir}"]}, python="/usr/bin/python3")) \
        == "/usr/bin/python3"


def test_its_processes_are_recognised_by_name_and_argv_pattern_with_dirs_read_back():
    spec = plotter({"process": {"name": "myplot", "argv_pattern": r"-k \d+ "}})["custom"]
    live = ["/opt/plotter/bin/myplot", "-k", "28", "-n", "3", "-t", "/nv me/t", "-d", "/hdd 1"]
    assert custom_plotter.matches(live, spec)
    assert not custom_plotter.matches(["/usr/bin/otherplot"] + live[1:], spec)
    assert not custom_plotter.matches(["/opt/plotter/bin/myplot", "--version"], spec)
    assert custom_plotter.dirs_from_argv(live, spec) == {"k": 28, "count": 3, "tmp_dir": "/nv me/t",
                                                         "dst_dir": "/hdd 1"}
    assert custom_plotter.dirs_from_argv(live[:3] + ["-N", "3"] + live[5:], spec) == {}   # another layout


def test_plotter_processes_adopts_a_live_process_of_a_template(tmp_path):
    """A real process whose executable is named like the template's program (a python3 symlink)."""
    exe = tmp_path / "myplot"
    exe.symlink_to(sys.executable)
    dst = str(tmp_path / "dst")
    proc = subprocess.Popen([str(exe), "-c", "import time; time.sleep(60)", "-k", "28", "-d", dst])
    spec = {"name": "myplot", "argv": ["myplot", "-c", "{python}", "-k", "{k}", "-d", "{dst_dir}"],
            "process": {"name": "myplot", "argv_pattern": "time.sleep"}}
    try:
        deadline = time.time() + 10
        found = []
        while not found and time.time() < deadline:
            found = [(p, i) for p, i in processes.plotter_processes(processes.list_processes(), custom=[spec])
                     if p["pid"] == proc.pid]
        ((_proc, info),) = found
        assert (info["plotter"], info["kind"], info["custom"], info["k"], info["dst_dir"]) == (
            "custom", "custom", "myplot", 28, dst)
        assert [p for p, _i in processes.plotter_processes(processes.list_processes()) if p["pid"] == proc.pid] == []
    finally:
        proc.kill()
        proc.wait()
    assert os.path.basename(str(exe)) == "myplot"


def role_values(**over):
    with open(os.path.join(REPO, "roles", "reconcile", "defaults", "main.yml")) as handle:
        values = yaml.safe_load(handle)
    values.update(plotfleet_plotter="custom", plotfleet_k=28, plotfleet_tmp_dirs=["/mnt/t"], **over)
    return values


def test_the_role_checks_the_template_and_names_its_variable():
    good = {"name": "myplot", "argv": list(ARGV)}
    assert variables.start_problems(role_values(plotfleet_custom_plotter=good)) == []
    assert variables.start_problems(role_values()) == [
        "plotfleet_custom_plotter.argv: kind custom needs an argv template (a list: program, then its arguments)"]
    bad = {"argv": ["p", "{dst_dir}", "{pool_public_key}"], "patterns": {"progress": "[0-9.]+%"}}
    assert variables.start_problems(role_values(plotfleet_custom_plotter=bad)) == [
        "plotfleet_custom_plotter.argv[2]: {pool_public_key} has no value (set plotfleet_pool_public_key, or take it "
        "out of the template)",
        "plotfleet_custom_plotter.patterns.progress must capture the fraction (0..1) or percentage: "
        "(?P<progress>[0-9.]+)"]
    typo = variables.start_problems(role_values(plotfleet_custom_plotter={"argv": ARGV, "paterns": {}}))
    assert len(typo) == 1 and "paterns" in typo[0], typo
    assert variables.start_problems(role_values(plotfleet_custom_plotter=good, plotfleet_strength=1)) == [
        "plotfleet_strength must be 2..255, got 1"]


def test_plot_start_keeps_a_valid_template_for_process_recognition(tmp_path):
    params = {"state_dir": str(tmp_path), "plotter": plotter({"process": {"name": "myplot", "argv_pattern": "-k"}})}
    options.prepare_plotter(params, keep_template=False)   # check mode: nothing kept
    assert params["plotter"]["binary"] == "/opt/plotter/bin/myplot"
    assert custom_plotter.load_templates(str(tmp_path)) == []
    options.prepare_plotter(params)
    (kept,) = custom_plotter.load_templates(str(tmp_path))
    assert (kept["name"], kept["argv"], kept["process"]) == ("myplot", ARGV, {"name": "myplot", "argv_pattern": "-k"})
    live = ["/opt/plotter/bin/myplot", "-k", "28", "-n", "3", "-t", "/t", "-d", "/d"]
    assert processes.identify(live, [kept])["custom"] == "myplot"
    bad = {"state_dir": str(tmp_path / "x"), "plotter": plotter({"argv": ["p"]})}
    (tmp_path / "x").mkdir()
    options.prepare_plotter(bad)
    assert custom_plotter.load_templates(str(tmp_path / "x")) == []   # an invalid template is not kept


def test_extra_args_are_appended_to_the_template():
    argv = launch.build_argv(plotter(extra_args=["--verbose"]), "/opt/plotter/bin/myplot", "/t", None, "/d")
    assert argv[-1] == "--verbose" and argv[5:7] == ["/opt/plotter/bin/myplot", "-k"]


def test_without_an_argv_pattern_only_the_templates_layout_is_its_process():
    """A bare interpreter name must not claim every process of that name (ansible's own python3, ...)."""
    spec = {"name": "pyplot", "argv": ["python3", "/opt/pyplot.py", "-k", "{k}", "-d", "{dst_dir}"]}
    live = ["/usr/bin/python3", "/opt/pyplot.py", "-k", "28", "-d", "/hdd1"]
    assert custom_plotter.matches(live, spec)
    assert custom_plotter.matches(live + ["--verbose"], spec)   # extra_args appended
    assert not custom_plotter.matches(["/usr/bin/python3", "/tmp/ansible_plot_info_payload.zip"], spec)
    assert not custom_plotter.matches(["/usr/bin/python3", "/opt/other.py", "-k", "28", "-d", "/hdd1"], spec)
    assert processes.identify(["/usr/bin/python3", "-m", "http.server"], [spec]) is None


def test_dirs_are_read_back_when_extra_args_follow_the_template():
    spec = plotter()["custom"]
    live = ["/opt/plotter/bin/myplot", "-k", "28", "-n", "3", "-t", "/t", "-d", "/d", "--verbose"]
    assert custom_plotter.dirs_from_argv(live, spec) == {"k": 28, "count": 3, "tmp_dir": "/t", "dst_dir": "/d"}


def test_a_kept_template_names_the_rendered_program_when_process_name_is_not_set(tmp_path):
    """{python} as the program: the kept template recognises the interpreter, not the literal "{python}"."""
    argv = ["{python}", "/opt/pyplot.py", "-k", "{k}", "-d", "{dst_dir}"]
    params = {"state_dir": str(tmp_path), "plotter": dict(plotter({"argv": argv, "process": None}),
                                                          python="/opt/venv/bin/python3")}
    options.prepare_plotter(params)
    (kept,) = custom_plotter.load_templates(str(tmp_path))
    assert kept["process"]["name"] == "python3"
    live = ["/opt/venv/bin/python3", "/opt/pyplot.py", "-k", "28", "-d", "/hdd1"]
    assert processes.identify(live, [kept])["dst_dir"] == "/hdd1"
