"""plotfleet.chia as an installed collection: the built tarball holds the collection and nothing of
the checkout's users (venvs, demo, inventories), and once installed with ansible-galaxy in a
separate dir its playbooks and its loop work from another dir without the checkout's ansible.cfg,
the fleet table printed as lines under the default callback (JSON and YAML result format)."""

import json
import os
import re
import subprocess
import tarfile

import pytest

from plotfleet_testlib import REPO, VENV_BIN

GALAXY = str(VENV_BIN / "ansible-galaxy")
# Planted in the copy that is built: none of it may end up in the tarball.
DECOYS = [".venv/bin/python", ".venv-chia/lib/site.py", "demo/tmp/plot-k18-x.plot.table1.tmp",
          "demo/status.json", "inventory/mine/hosts.yml", "inventory/mine/group_vars/all.yml",
          "inventory/farm.ini", "inventory/e/hosts.yml", "inventory/exampl/hosts.yml",
          "inventory/examples/hosts.yml", "inventory/example.yml", "tests/output/junit.xml",
          ".ruff_cache/x", ".pytest_cache/x", ".ansible/tmp/x", "plotfleet-chia-0.0.9.tar.gz",
          "plugins/modules/__pycache__/plot_info.cpython-311.pyc"]
MUST_SHIP = ["README.md", "COPYING", "CHANGELOG.md", "meta/runtime.yml", "MANIFEST.json", "FILES.json",
             "plugins/modules/plot_info.py", "plugins/modules/plot_move.py", "plugins/module_utils/policy/start.py",
             "plugins/filter/fleet.py", "plugins/plugin_utils/fleet_status.py", "roles/reconcile/tasks/main.yml",
             "roles/reconcile/meta/argument_specs.yml", "roles/status/tasks/main.yml",
             "playbooks/reconcile.yml", "playbooks/status.yml", "playbooks/setup.yml", "playbooks/stop.yml",
             "bin/plotfleet-loop", "docs/configuration.md", "inventory/example/hosts.yml",
             "inventory/example/group_vars/storage.yml", "requirements.txt"]
# The checkout as a project, not the collection.
MUST_NOT_SHIP = ["ansible.cfg", "reconcile.yml", "status.yml", "group_vars/all.yml", "Makefile",
                 "inventory/localhost.yml", "bin/plotfleet-demo", "collections", "tests", "bench"]


def clean_env(**extra):
    """The caller's environment without anything pointing at the checkout."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("ANSIBLE_"))
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PATH="%s:%s" % (VENV_BIN, env.get("PATH", "")))
    env.update(extra)
    return env


def run(cmd, cwd, env, timeout=300):
    proc = subprocess.run(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout)
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The checkout's files (tracked and new, as `make sanity` copies them) plus the decoys, built."""
    root = tmp_path_factory.mktemp("build")
    source = root / "src"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=str(REPO),
                            stdout=subprocess.PIPE, check=True).stdout.decode().split("\0")
    for name in listed:
        path = REPO / name
        if not name or name.startswith("collections/") or not path.is_file():
            continue
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        target.chmod(path.stat().st_mode & 0o777)
    for name in DECOYS:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("decoy\n")
    out = root / "dist"
    proc = run([GALAXY, "collection", "build", "--output-path", str(out), str(source)], root, clean_env())
    assert proc.returncode == 0, proc.stdout
    tarballs = list(out.glob("plotfleet-chia-*.tar.gz"))
    assert len(tarballs) == 1, proc.stdout
    return tarballs[0]


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory):
    collections = tmp_path_factory.mktemp("installed") / "collections"
    proc = run([GALAXY, "collection", "install", "-p", str(collections), str(built)], collections.parent, clean_env())
    assert proc.returncode == 0, proc.stdout
    return collections


def test_tarball_holds_the_collection_and_nothing_else(built):
    with tarfile.open(str(built)) as tar:
        names = set(member.name.rstrip("/") for member in tar.getmembers())
    missing = [name for name in MUST_SHIP if name not in names]
    assert not missing, sorted(names)
    leaked = sorted(n for n in names for bad in DECOYS + MUST_NOT_SHIP if n == bad or n.startswith(bad + "/"))
    assert not leaked
    assert not [n for n in names if n.startswith((".venv", "demo", ".git", "tests/"))]
    assert sorted(n for n in names if n.startswith("inventory/")) == [
        "inventory/example", "inventory/example/group_vars", "inventory/example/group_vars/plotters.yml",
        "inventory/example/group_vars/storage.yml", "inventory/example/hosts.yml"]
    with tarfile.open(str(built)) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["license"]) == ("plotfleet", "chia", ["GPL-3.0-or-later"])


def farm(tmp_path):
    """A user's dir elsewhere: an inventory (this machine as plotter and storage), no ansible.cfg."""
    home = tmp_path / "farm"
    dirs = dict((name, home / name) for name in ("tmp", "dst", "storage", "logs", "state"))
    for path in dirs.values():
        path.mkdir(parents=True)
    host = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
            "plotfleet_log_dir": str(dirs["logs"]), "plotfleet_state_dir": str(dirs["state"]),
            "plotfleet_tmp_dirs": [str(dirs["tmp"])], "plotfleet_dst_dirs": [str(dirs["dst"])],
            "plotfleet_storage_dirs": [str(dirs["storage"])], "plotfleet_plotter": "chiapos",
            "plotfleet_status_file": str(home / "status.json"), "plotfleet_status_table_file": str(home / "status.txt")}
    (home / "inventory.yml").write_text(json.dumps({"all": {"hosts": {"farmhost": host}, "children": {
        "plotters": {"hosts": {"farmhost": {}}}, "storage": {"hosts": {"farmhost": {}}}}}}))
    return home


# Lines of the table as the default callback prints them: one list item each (JSON), or one line
# of a `msg: |-` block each (YAML).
TABLE_LINES = {"json": ['"plotfleet \\d{4}-', '"HOST +ID +PLOTTER', '".* farmhost \\(plotter, storage\\)'],
               "yaml": ["plotfleet \\d{4}-", "HOST +ID +PLOTTER", ".* farmhost \\(plotter, storage\\)"]}


@pytest.mark.parametrize("result_format", ["json", "yaml"])
def test_installed_status_playbook_prints_the_table_as_lines(installed, tmp_path, result_format):
    home = farm(tmp_path)
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_CALLBACK_RESULT_FORMAT=result_format)
    version = run([str(VENV_BIN / "ansible-playbook"), "--version"], home, env).stdout
    assert "config file = None" in version  # not the checkout's ansible.cfg, nor any other
    proc = run([str(VENV_BIN / "ansible-playbook"), "plotfleet.chia.status", "-i", "inventory.yml"], home, env)
    assert proc.returncode == 0, proc.stdout
    shown = proc.stdout[proc.stdout.index("plotfleet.chia.status : Show the fleet"):]
    shown = shown[:shown.index("TASK [", 1)]
    assert "\\n" not in shown, shown  # not one JSON string full of escaped newlines
    assert ('"msg": [' if result_format == "json" else "msg: |-") in shown, shown
    for pattern in TABLE_LINES[result_format]:
        assert re.search(r"^ +%s" % pattern, shown, re.M), (pattern, shown)
    assert len(shown.splitlines()) >= 6, shown
    doc = json.loads((home / "status.json").read_text())
    assert [h["name"] for h in doc["hosts"]] == ["farmhost"] and doc["summary"]["hosts_ok"] == 1, doc["failures"]


def test_installed_loop_reads_the_inventory_from_the_callers_dir(installed, tmp_path):
    """No ANSIBLE_COLLECTIONS_PATH, no ansible.cfg: the loop finds its own collection and reads
    `-i inventory.yml` in the dir it was started from."""
    home = farm(tmp_path)
    loop = installed / "ansible_collections" / "plotfleet" / "chia" / "bin" / "plotfleet-loop"
    proc = run([str(loop), "--max-passes", "1", "--playbook", "status.yml", "--lock", str(home / "loop.lock"),
                "--work-dir", str(home / "work"), "--", "-i", "inventory.yml"], home, clean_env())
    assert proc.returncode == 0, proc.stdout + "".join(p.read_text() for p in (home / "work").glob("pass-*.log"))
    assert "plotfleet.chia.status every" in proc.stdout
    assert re.search(r"pass 1 rc=0 .* hosts=1/1 ", proc.stdout), proc.stdout
    assert json.loads((home / "status.json").read_text())["hosts"][0]["name"] == "farmhost"
