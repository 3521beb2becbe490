"""The compiled module_utils cache (plugins/module_utils/compiled_cache.py) on real AnsiballZ payloads.

One real `ansible localhost -m plotfleet.chia.plot_info` run builds the payload (Ansible keeps the file
it ran: no pipelining, ANSIBLE_KEEP_REMOTE_FILES); each test then runs that payload as Ansible does on a
worker, with the system Python and HOME pointed at a dir of the test's own. `python -v` says where each
module was loaded from: a zipimporter, or a .pyc in the cache dir. PYTHONDONTWRITEBYTECODE=1 in every
run: the .pyc there are the cache's own, not the import system's.
"""

import base64
import glob
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ansible_collections.plotfleet.chia.plugins.module_utils import compiled_cache  # noqa: E402
from plotfleet_testlib import SYSTEM_PYTHON, run_module  # noqa: E402

UTILS = "ansible_collections.plotfleet.chia.plugins.module_utils"
PREFIX = UTILS.replace(".", "/") + "/"
OTHER_UID = 65534  # nobody
# Another Python for the same cache: each interpreter has its own .pyc (3.8 is the oldest a worker may have).
OTHER_PYTHONS = sorted(glob.glob("/usr/bin/python3.8") + glob.glob("/root/.pyenv/versions/3.8*/bin/python3.8"))[:1]


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache-host")
    for name in ("logs", "state", "tmp", "dst"):
        (root / name).mkdir()
    return root


@pytest.fixture(scope="module")
def payload(host):
    """A real AnsiballZ payload of plot_info for the test's own dirs."""
    args = {"log_dir": str(host / "logs"), "state_dir": str(host / "state"), "tmp_dirs": [str(host / "tmp")],
            "dst_dirs": [str(host / "dst")]}
    remote_tmp = host / "remote_tmp"
    rc, result = run_module("plot_info", args, env={
        "ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_PIPELINING": "0", "ANSIBLE_REMOTE_TMP": str(remote_tmp),
        "PLOTFLEET_MODULE_CACHE": "off"})
    assert rc == 0, result
    [path] = remote_tmp.glob("*/AnsiballZ_plot_info.py")
    return path


def run_payload(path, home, python=SYSTEM_PYTHON, verbose=True, **env):
    """(result, where): the module's result and where its module_utils were loaded from."""
    environ = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    if home is not None:
        environ["HOME"] = str(home)
    environ.update(env)
    proc = subprocess.run([python] + (["-v"] if verbose else []) + [str(path)], env=environ, cwd=str(path.parent),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    result = json.loads(proc.stdout)
    assert "failed" not in result and result["dirs"], result
    return result, loaded_from(proc.stderr)


def loaded_from(stderr):
    """{"zip": modules from the payload zip, "pyc": {module: .pyc path}, "source": {module: .py}} of the
    collection's module_utils, from `python -v` (3.8 words it differently)."""
    zipped = set(re.findall(r"^import '?(%s(?:\.[\w.]+)?)'? # (?:<zipimporter|loaded from Zip)" % re.escape(UTILS),
                            stderr, re.M))
    pyc, source = {}, {}
    for path in re.findall(r"^# code object from '?([^'\n]+?)'?$", stderr, re.M):
        name = cached_module_name(path)
        if name:
            (pyc if path.endswith(".pyc") else source)[name] = path
    return {"zip": set(name[len(UTILS) + 1:] for name in zipped if name != UTILS), "pyc": pyc, "source": source}


def cached_module_name(path):
    """logs.chiapos for <cache>/<key>/logs/__pycache__/chiapos.cpython-311.pyc; None outside a cache dir."""
    match = re.search(r"/plotfleet/module_utils/[0-9a-f]{32}/(.+)$", path)
    if not match:
        return None
    parts = [part for part in match.group(1).split("/") if part != "__pycache__"]
    parts[-1] = parts[-1].split(".")[0]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def cache_root(home):
    return home / ".cache" / "plotfleet" / "module_utils"


def key_dirs(home):
    return sorted(path for path in cache_root(home).iterdir() if compiled_cache.is_key(path.name))


def make_home(tmp_path, name="home"):
    home = tmp_path / name
    home.mkdir()
    return home


@pytest.fixture(scope="module")
def warm_home(payload, tmp_path_factory):
    """A HOME whose cache the payload has made (copied by the tests that spoil it)."""
    home = make_home(tmp_path_factory.mktemp("warm"))
    run_payload(payload, home, verbose=False)
    return home


def copy_home(warm_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(str(warm_home), str(home))  # modes and mtimes kept: the .pyc stay valid
    return home


def pyc_name(python, module):
    tag = subprocess.run([python, "-c", "import sys; print(sys.implementation.cache_tag)"],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.strip()
    return "%s.%s.pyc" % (module, tag)


def test_the_first_run_leaves_the_sources_and_their_pyc(payload, tmp_path):
    home = make_home(tmp_path)
    _, where = run_payload(payload, home)
    [key] = key_dirs(home)
    assert (key / compiled_cache.MARKER).is_file()
    assert (key / "hoststate.py").is_file() and (key / "logs" / "chiapos.py").is_file()
    assert (key / "__pycache__" / pyc_name(SYSTEM_PYTHON, "hoststate")).is_file()
    assert (key / "logs" / "__pycache__" / pyc_name(SYSTEM_PYTHON, "chiapos")).is_file()
    assert oct(key.stat().st_mode & 0o777) == oct(0o700)
    assert {"hoststate", "logs.model", "policy.start"} <= set(where["pyc"]), where  # already this run


@pytest.mark.parametrize("python", [SYSTEM_PYTHON] + OTHER_PYTHONS)
def test_the_next_run_imports_the_module_utils_from_the_cache(payload, warm_home, tmp_path, python):
    home = copy_home(warm_home, tmp_path)  # made by the system Python
    _, where = run_payload(payload, home, python=python)
    [key] = key_dirs(home)
    assert where["zip"] == {"compiled_cache"}, where["zip"]  # only the cache itself, before it is in place
    assert {"hoststate", "options", "logs", "logs.model", "policy", "policy.start"} <= set(where["pyc"]), where["pyc"]
    assert all(path.startswith(str(key)) for path in where["pyc"].values()), where["pyc"]
    assert where["source"] == {}, where["source"]  # compiled once, by the cache, for this Python too
    assert (key / "__pycache__" / pyc_name(python, "hoststate")).is_file()


def changed_payload(payload, tmp_path, module="options.py", text="\n# a changed module_util\n"):
    """The same payload with one module_util changed in its zip (as after an upgrade)."""
    source = payload.read_text()
    old = re.search(r"zip_data='([^']+)'", source).group(1)
    before, after = zipfile.ZipFile(io.BytesIO(base64.b64decode(old))), io.BytesIO()
    with zipfile.ZipFile(after, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for info in before.infolist():
            data = before.read(info)
            zipped.writestr(info, data + text.encode() if info.filename == PREFIX + module else data)
    changed = tmp_path / "changed" / payload.name
    changed.parent.mkdir()
    changed.write_text(source.replace(old, base64.b64encode(after.getvalue()).decode()))
    return changed


def test_a_changed_module_util_makes_a_new_key(payload, warm_home, tmp_path):
    home = copy_home(warm_home, tmp_path)
    [old_key] = key_dirs(home)
    _, where = run_payload(changed_payload(payload, tmp_path), home)
    [new_key] = set(key_dirs(home)) - {old_key}
    assert (new_key / "options.py").read_text().endswith("# a changed module_util\n")
    assert where["pyc"]["options"].startswith(str(new_key)) and where["zip"] == {"compiled_cache"}, where
    assert not (old_key / "options.py").read_text().endswith("# a changed module_util\n")


def plant(key, flag):
    """What another user could do with a cache they can write: code that runs as us."""
    (key / "options.py").write_text("open(%r, 'w').close()\n" % str(flag))
    for pyc in (key / "__pycache__").glob("options.*.pyc"):
        pyc.unlink()


@pytest.mark.parametrize("spoil", ["key dir writable by others", "cache root writable by its group",
                                   "key dir owned by another user", "cache root owned by another user"])
def test_a_cache_that_is_not_ours_alone_is_not_used(payload, warm_home, tmp_path, spoil):
    home = copy_home(warm_home, tmp_path)
    [key] = key_dirs(home)
    target = key if spoil.startswith("key") else cache_root(home)
    if "owned" in spoil:
        if os.geteuid() != 0:
            pytest.skip("giving a dir to another user needs root")
        os.chown(str(target), OTHER_UID, OTHER_UID)
    else:
        target.chmod(0o777 if "others" in spoil else 0o770)
    flag = tmp_path / "planted-code-ran"
    plant(key, flag)
    _, where = run_payload(payload, home)
    assert not flag.exists(), "the planted module ran"
    assert {"hoststate", "options"} <= where["zip"] and where["pyc"] == {}, where


@pytest.mark.parametrize("case", ["HOME unset", "HOME/.cache is a file", "HOME owned by another user"])
def test_without_a_usable_home_the_module_runs_from_the_zip(payload, tmp_path, case):
    home = make_home(tmp_path)
    if case == "HOME/.cache is a file":
        (home / ".cache").write_text("")
    elif case == "HOME owned by another user":
        if os.geteuid() != 0:
            pytest.skip("giving a dir to another user needs root")
        os.chown(str(home), OTHER_UID, OTHER_UID)
    _, where = run_payload(payload, None if case == "HOME unset" else home)
    assert {"hoststate", "options"} <= where["zip"] and where["pyc"] == {}, where
    assert not (home / ".cache").is_dir()


def test_the_opt_out_keeps_the_zip(payload, tmp_path):
    home = make_home(tmp_path)
    _, where = run_payload(payload, home, PLOTFLEET_MODULE_CACHE="off")
    assert {"hoststate", "options"} <= where["zip"] and where["pyc"] == {}, where
    assert list(home.iterdir()) == []


def test_runs_at_once_make_one_key_dir_and_leave_no_temp_dir(payload, tmp_path):
    home = make_home(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    procs = [subprocess.Popen([SYSTEM_PYTHON, str(payload)], env=env, cwd=str(tmp_path), stdout=subprocess.PIPE,
                              universal_newlines=True) for _ in range(2)]
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    assert all(json.loads(out)["dirs"] for out in outputs)
    assert len(key_dirs(home)) == 1 and sorted(os.listdir(str(cache_root(home)))) == [key_dirs(home)[0].name]


def payload_zip(payload, tmp_path):
    path = tmp_path / "payload.zip"
    path.write_bytes(base64.b64decode(re.search(r"zip_data='([^']+)'", payload.read_text()).group(1)))
    return str(path)


def test_a_run_that_lost_the_race_keeps_the_winners_dir_and_removes_its_own(payload, tmp_path):
    archive, root = payload_zip(payload, tmp_path), tmp_path / "root"
    root.mkdir(mode=0o700)
    entries = compiled_cache.package_entries(archive, PREFIX)
    key = compiled_cache.content_key(entries)
    compiled_cache.create(archive, entries, str(root), key)  # the winner
    winner = dict((str(p), p.stat().st_mtime_ns) for p in (root / key).rglob("*"))
    compiled_cache.create(archive, entries, str(root), key)  # finds the name taken when it renames
    assert os.listdir(str(root)) == [key]
    assert dict((str(p), p.stat().st_mtime_ns) for p in (root / key).rglob("*")) == winner


def test_prune_removes_only_old_key_dirs_of_its_own(tmp_path):
    root, now, hour = tmp_path / "root", 2000000000.0, 3600

    def made(name, age, marker=True):
        (root / name).mkdir(parents=True)
        if marker:
            (root / name / compiled_cache.MARKER).write_text("")
            os.utime(str(root / name / compiled_cache.MARKER), (now - age, now - age))
        return name

    recent_age = compiled_cache.KEEP_USED_SECONDS / (compiled_cache.KEEP_NEWEST + 2)
    recent = [made("%032x" % i, (i + 1) * recent_age) for i in range(compiled_cache.KEEP_NEWEST + 1)]  # in use
    old = [made("%032x" % (100 + i), (48 + i) * hour) for i in range(2)]
    foreign = made("%032x" % 200, 100 * hour, marker=False)  # named like a key but not made by the cache
    stale, fresh = made(".tmp-dead-run", 2 * hour), made(".tmp-live-run", 60)
    (root / "notes.txt").write_text("")
    compiled_cache.prune(str(root), recent[0], now=now)
    assert sorted(os.listdir(str(root))) == sorted(recent + [foreign, fresh, "notes.txt"]), (old, stale)
