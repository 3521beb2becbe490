"""Every JMESPath query example in README.md and docs/*.md, run as written.

Each documented `ansible-playbook ... plotfleet_query ...` command goes through a shell's word
splitting (shlex) and the real ansible-playbook, with the status role reporting a recorded fleet
(plot_info-shaped results of three hosts, given as inventory vars) instead of gathering one; query
files (```yaml blocks starting `# <name>.yml`) are written where the command runs, for `-e @<name>`.
Each must exit 0 and select exactly what the query is documented to select, computed here in plain
Python from the status document that run wrote. A documented query that this file does not know
fails the test (add its expected selection to EXPECTED), as does one that is no longer documented.
"""

import json
import re
import shlex
import subprocess

import pytest
import yaml
from ansible.parsing.splitter import parse_kv

from plotfleet_testlib import REPO, VENV_BIN, ansible_env

DOCS = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md"))
QUERY_TASK = "Show what plotfleet_query selects"
ID_RUN, ID_STALL, ID_M = "3f2a9c1e" + "0" * 56, "ab" * 32, "5c" * 32

# query -> what it selects from the status document, in plain Python.
EXPECTED = {
    "failures": lambda doc: doc["failures"],
    "summary.jobs_by_state": lambda doc: doc["summary"]["jobs_by_state"],
    "hosts[].{host: name, why: start.reasons}": lambda doc: [
        {"host": h["name"], "why": h["start"]["reasons"]} for h in doc["hosts"]],
    "jobs[?bad].[host, id_short, state, log]": lambda doc: [
        [j["host"], j["id_short"], j["state"], j["log"]] for j in doc["jobs"] if j["bad"]],
    "jobs[?state=='stalled'].[host, id_short, step, log]": lambda doc: [
        [j["host"], j["id_short"], j["step"], j["log"]] for j in doc["jobs"] if j["state"] == "stalled"],
    "hosts[?name=='plotter1'].dirs[] | [?role=='tmp']": lambda doc: [
        d for h in doc["hosts"] if h["name"] == "plotter1" for d in h["dirs"] if d["role"] == "tmp"],
    "jobs[?state=='stalled']": lambda doc: [j for j in doc["jobs"] if j["state"] == "stalled"],
}


# ------------------------------------------------------------------ what the docs say

def fenced_blocks(text):
    """(language, body) of every ``` block."""
    return re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)


def inline_spans(text):
    outside = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", outside)


def query_files():
    """{name: yaml text} of the documented query files."""
    files = {}
    for path in DOCS:
        for language, body in fenced_blocks(path.read_text()):
            first = body.splitlines()[0] if body.strip() else ""
            match = re.match(r"#\s*(\S+\.ya?ml)\s*$", first)
            if language == "yaml" and match and "plotfleet_query" in body:
                files[match.group(1)] = body
    return files


def is_query_command(line, files):
    if "ansible-playbook" not in line:
        return False
    return "plotfleet_query" in line or any("@" + name in line for name in files)


def documented_commands():
    files = query_files()
    commands = []
    for path in DOCS:
        text = path.read_text()
        lines = [line for _, body in fenced_blocks(text) for line in body.splitlines()] + inline_spans(text)
        commands += [(path.name, line.strip()) for line in lines if is_query_command(line, files)]
    return commands


def documented_extra_vars():
    """`plotfleet_query: "..."` given as YAML extra variables (AWX), outside query files."""
    found = []
    for path in DOCS:
        for span in inline_spans(path.read_text()):
            if span.startswith("plotfleet_query:"):
                found.append((path.name, yaml.safe_load(span)))
    return found


def query_of(argv, files):
    """The plotfleet_query an argv sets, read the way ansible-playbook reads -e (JSON/YAML, @file,
    key=value)."""
    query = None
    for flag, value in zip(argv, argv[1:]):
        if flag not in ("-e", "--extra-vars"):
            continue
        if value.startswith("@"):
            data = yaml.safe_load(files[value[1:]])
        elif value[:1] in "{[":
            data = yaml.safe_load(value)
        else:
            data = parse_kv(value)
        query = data.get("plotfleet_query", query)
    return query


# ------------------------------------------------------------------ a recorded fleet

def job(**over):
    base = {"id": ID_RUN, "plotter": "chiapos", "k": 32, "pid": 100, "state": "plotting", "phase": 2,
            "step": "2:3", "progress": 0.48, "elapsed_s": 3723, "eta_s": 5000, "tmp_dir": "/mnt/nvme1",
            "tmp2_dir": "/mnt/nvme1", "dst_dir": "/mnt/dst", "log": "/var/log/plotfleet/a.log"}
    base.update(over)
    return base


def dirs(*rows):
    return [dict({"exists": True, "free_bytes": 500 * 2 ** 30, "total_bytes": 1000 * 2 ** 30}, path=p) for p in rows]


def recorded_hosts(tmp_path):
    common = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
    plotter1 = dict(common, plotfleet_tmp_dirs=["/mnt/nvme1", "/mnt/nvme2"], plotfleet_dst_dirs=["/mnt/dst"],
                    plotfleet_host_state={
                        "jobs": [job(), job(id=ID_STALL, state="stalled", step="1:7", progress=0.13,
                                            tmp_dir="/mnt/nvme2", log="/var/log/plotfleet/b.log")],
                        "history": [job(id="cd" * 32, state="finished")], "transfers": [],
                        "dirs": dirs("/mnt/nvme1", "/mnt/nvme2", "/mnt/dst"),
                        "load": {"load1": 3.2, "cpus": 16}},
                    plotfleet_start_result={"started": [], "reasons": ["tmp /mnt/nvme1: 2 jobs before phase 2:1"]})
    plotter2 = dict(common, plotfleet_tmp_dirs=["/mnt/fast"], plotfleet_dst_dirs=["/mnt/dst"],
                    plotfleet_host_state={
                        "jobs": [job(id=ID_M, plotter="madmax", state="failed", error="Only wrote 0 of 1 bytes",
                                     tmp_dir="/mnt/fast", log="/var/log/plotfleet/m.log")],
                        "history": [], "transfers": [], "dirs": dirs("/mnt/fast", "/mnt/dst"), "load": {}},
                    plotfleet_start_result={"started": [], "reasons": ["max_jobs: 1 running (limit 1)"]})
    nas1 = dict(common, plotfleet_storage_dirs=["/srv/plots"],
                plotfleet_failure={"task": "Gather plots, transfers and disks", "msg": "unreachable: timed out"})
    return {"plotter1": plotter1, "plotter2": plotter2, "nas1": nas1}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The inventory of the recorded fleet and a playbook that reports it (status.yml minus gather)."""
    root = tmp_path_factory.mktemp("docs-queries")
    inventory = root / "inventory.yml"
    inventory.write_text(json.dumps({"all": {
        "vars": {"plotfleet_status_file": str(root / "status.json"), "plotfleet_status_table_file": None,
                 "plotfleet_fail_on_host_errors": False},  # nas1's recorded failure is data here
        "hosts": recorded_hosts(root),
        "children": {"plotters": {"hosts": {"plotter1": {}, "plotter2": {}}}, "storage": {"hosts": {"nas1": {}}}}}}))
    playbook = root / "recorded-status.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Report the recorded fleet", "hosts": "plotters:storage", "gather_facts": False,
        "tasks": [{"name": "Report the fleet",
                   "ansible.builtin.include_role": {"name": "plotfleet.chia.status"}}]}]))
    return {"root": root, "inventory": inventory, "playbook": playbook}


def run_as_written(argv, recorded, cwd):
    """argv with the recorded fleet's playbook and inventory in place of the documented ones."""
    cmd = [str(VENV_BIN / "ansible-playbook"), str(recorded["playbook"]), "-i", str(recorded["inventory"])]
    rest = iter(argv[1:])
    for arg in rest:
        if arg in ("-i", "--inventory"):
            next(rest)
        elif arg.endswith(".yml") and "/" not in arg and not arg.startswith("@") or arg.startswith("plotfleet.chia."):
            continue  # the playbook: status.yml or plotfleet.chia.status
        else:
            cmd.append(arg)
    proc = subprocess.run(cmd, cwd=str(cwd), env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default"}),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    return proc


def selection(stdout):
    """The msg of the query task in the default callback's output (JSON result format)."""
    marker = "TASK [plotfleet.chia.status : %s]" % QUERY_TASK
    assert marker in stdout, "the query task did not run:\n" + stdout[-3000:]
    after = stdout[stdout.index(marker):]
    result = after[after.index("=> ") + 3:]
    return json.JSONDecoder().raw_decode(result.strip())[0]["msg"]


# ------------------------------------------------------------------ the tests

def distinct(commands):
    """One run per distinct command (its words, comments dropped): README.md and configuration.md show
    the same bad-jobs command, which is one test named by both places."""
    places = {}
    for where, line in commands:
        places.setdefault(tuple(shlex.split(line, comments=True)), ([], line))[0].append(where)
    return [(" + ".join(wheres), line) for wheres, line in places.values()]


COMMANDS = documented_commands()
RUNS = distinct(COMMANDS)
EXTRA_VARS = documented_extra_vars()


def test_the_docs_have_query_examples_and_each_one_is_known():
    files = query_files()
    documented = set(query_of(shlex.split(line, comments=True), files) for _, line in COMMANDS)
    documented |= set(data["plotfleet_query"] for _, data in EXTRA_VARS)
    assert len(COMMANDS) >= 6 and {"stalled.yml", "plotter1-tmp.yml"} <= set(files)
    assert documented == set(EXPECTED), "documented queries and EXPECTED differ: %s" % (documented ^ set(EXPECTED))


@pytest.mark.parametrize("where,line", RUNS, ids=["%s: %s" % c for c in RUNS])
def test_documented_query_command_works_as_written(recorded, tmp_path, where, line):
    files = query_files()
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    argv = shlex.split(line, comments=True)
    query = query_of(argv, files)
    assert query in EXPECTED, "%s: %r is not a query this test knows" % (where, query)
    proc = run_as_written(argv, recorded, tmp_path)
    assert proc.returncode == 0, (line, proc.stdout[-3000:], proc.stderr[-2000:])
    doc = json.loads((recorded["root"] / "status.json").read_text())
    expected = EXPECTED[query](doc)
    assert expected, "the recorded fleet must give %r something to select" % query
    assert selection(proc.stdout) == expected, line


@pytest.mark.parametrize("where,data", EXTRA_VARS, ids=["%s: %s" % (w, d) for w, d in EXTRA_VARS])
def test_documented_extra_variables_work(recorded, tmp_path, where, data):
    proc = run_as_written(["ansible-playbook", "status.yml", "-e", json.dumps(data)], recorded, tmp_path)
    assert proc.returncode == 0, (data, proc.stdout[-3000:], proc.stderr[-2000:])
    doc = json.loads((recorded["root"] / "status.json").read_text())
    expected = EXPECTED[data["plotfleet_query"]](doc)
    assert expected and selection(proc.stdout) == expected


def test_the_recorded_fleet_tells_a_right_query_from_a_near_miss(recorded):
    """Each selection is a strict part of the fleet: the broken examples gave every dir of plotter1
    (rc 0), so a query that selects too much must not pass."""
    proc = run_as_written(["ansible-playbook", "status.yml"], recorded, recorded["root"])
    assert proc.returncode == 0, proc.stdout[-3000:]
    doc = json.loads((recorded["root"] / "status.json").read_text())
    tmp_dirs = EXPECTED["hosts[?name=='plotter1'].dirs[] | [?role=='tmp']"](doc)
    every_dir = [d for h in doc["hosts"] if h["name"] == "plotter1" for d in h["dirs"]]
    assert tmp_dirs and len(tmp_dirs) < len(every_dir)
    assert 0 < len(EXPECTED["jobs[?state=='stalled']"](doc)) < len(doc["jobs"])
    assert 0 < len(EXPECTED["jobs[?bad].[host, id_short, state, log]"](doc)) < len(doc["jobs"])
    assert doc["failures"] and doc["summary"]["jobs_by_state"]
