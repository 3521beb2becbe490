# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: plotfleet developers
"""A compiled copy of the collection's module_utils in the user's cache dir, for AnsiballZ runs.

AnsiballZ imports module_utils from a zip, and zipimport compiles every file from source on every module
call (it writes no .pyc). Every module imports this first: when this package came from a zip, its files
are extracted once per content into $XDG_CACHE_HOME (or ~/.cache)/plotfleet/module_utils/<key>/, compiled
there, and that dir goes first on the package's __path__, so the module's other imports load their .pyc.
The key hashes the zip's entries under module_utils (name, CRC, size), so a changed file makes a new key.
A cache dir that is not ours alone, or any error, leaves the zip as it was: the module never fails
because of this. PLOTFLEET_MODULE_CACHE=off turns it off. Standard library only (a worker's Python).
"""

from __future__ import absolute_import, division, print_function

import hashlib
import os
import shutil
import stat
import sys
import tempfile
import time
import zipfile
import zipimport

__metaclass__ = type

OPT_OUT = "PLOTFLEET_MODULE_CACHE"
OFF_VALUES = ("off", "0", "no", "false")
MARKER = ".plotfleet-module-cache"  # written first into every dir this mechanism makes
KEY_LENGTH = 32
HEX = frozenset("0123456789abcdef")
TEMP_PREFIX = ".tmp-"
KEEP_NEWEST = 8  # key dirs kept after an upgrade (one per module payload and version)
KEEP_USED_SECONDS = 3600  # a key dir used this recently is never removed (a run may be using it; a run
# whose dir goes later imports the rest from its zip, which stays on __path__)
STALE_TEMP_SECONDS = 3600  # a temp dir this old was left by a run that died


def zip_archive(package):
    """The zip the package was imported from (AnsiballZ), or None when it came from a dir."""
    loader = getattr(package, "__loader__", None)
    if isinstance(loader, zipimport.zipimporter):
        return loader.archive
    return None


def cache_root(environ):
    """<cache>/plotfleet/module_utils, or None: no HOME, or a HOME (or XDG_CACHE_HOME) that is not ours
    (become without a login shell may keep the other user's HOME)."""
    xdg = environ.get("XDG_CACHE_HOME") or ""
    anchor = xdg if os.path.isabs(xdg) else environ.get("HOME") or ""
    if not os.path.isabs(anchor) or os.stat(anchor).st_uid != os.geteuid():
        return None
    base = xdg if os.path.isabs(xdg) else os.path.join(anchor, ".cache")
    return os.path.join(base, "plotfleet", "module_utils")


def ours_alone(path):
    """A real dir owned by us that nobody else can write: a cache another user can write is code
    execution as us."""
    info = os.lstat(path)
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022


def package_entries(archive, prefix):
    """[(relative parts, ZipInfo)] of the files under prefix; names that could leave the dir are skipped."""
    entries = []
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            parts = info.filename[len(prefix):].split("/")
            if info.filename.startswith(prefix) and all(p not in ("", ".", "..") for p in parts):
                entries.append((parts, info))
    return entries


def content_key(entries):
    """Hash of the central directory entries (no decompression): name, CRC and size of each file."""
    digest = hashlib.sha256()
    for parts, info in sorted(entries, key=lambda entry: entry[0]):
        digest.update(("%s\0%d\0%d\n" % ("/".join(parts), info.CRC, info.file_size)).encode("utf-8"))
    return digest.hexdigest()[:KEY_LENGTH]


def is_key(name):
    return len(name) == KEY_LENGTH and set(name) <= HEX


def write_marker(path):
    with open(os.path.join(path, MARKER), "w") as marker:
        marker.write("plotfleet compiled module_utils cache (plugins/module_utils/compiled_cache.py)\n")


def extract(archive, entries, path):
    with zipfile.ZipFile(archive) as zipped:
        for parts, info in entries:
            target = os.path.join(path, *parts)
            parent = os.path.dirname(target)
            if not os.path.isdir(parent):
                os.makedirs(parent, 0o700)
            with open(target, "wb") as out:
                out.write(zipped.read(info))


def compiled_mark(path):
    """Written once this interpreter's .pyc are there: each Python (3.8, 3.11, -O) has its own, and an
    import does not write them when PYTHONDONTWRITEBYTECODE is set."""
    tag = sys.implementation.cache_tag
    return tag and os.path.join(path, ".compiled-%s-%d" % (tag, sys.flags.optimize))


def compile_for_this_python(path):
    mark = compiled_mark(path)
    if not mark:
        return  # an interpreter without .pyc files
    import py_compile  # only when a key dir is made or first used by another Python

    for parent, dirs, files in os.walk(path):
        dirs[:] = [name for name in dirs if name != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                try:
                    py_compile.compile(os.path.join(parent, name), doraise=True,
                                       invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
                except (py_compile.PyCompileError, OSError):
                    pass  # its import reports the real error, as from the zip
    with open(mark, "w"):
        pass


def create(archive, entries, root, key):
    """Make root/<key> atomically: built in a temp dir beside it, then renamed. A run that lost the race
    to another removes only its own temp dir and uses the winner's."""
    temp = tempfile.mkdtemp(prefix=TEMP_PREFIX + key + "-", dir=root)
    try:
        write_marker(temp)
        extract(archive, entries, temp)
        compile_for_this_python(temp)  # the first run already leaves them
        try:
            os.rename(temp, os.path.join(root, key))
        except OSError:
            if not os.path.isdir(os.path.join(root, key)):
                raise
        else:
            prune(root, key)
    finally:
        if os.path.isdir(temp):
            shutil.rmtree(temp, ignore_errors=True)


def remove_dir(root, name):
    """Renamed out of the way first (no run finds half of it), then removed."""
    doomed = tempfile.mkdtemp(prefix=TEMP_PREFIX + "old-", dir=root)
    write_marker(doomed)  # a removal cut short is a stale temp dir for a later prune
    os.rename(os.path.join(root, name), os.path.join(doomed, name))
    shutil.rmtree(doomed, ignore_errors=True)


def prune(root, current, now=None):
    """Old key dirs pile up after upgrades: keep the KEEP_NEWEST most recently used and any used within
    KEEP_USED_SECONDS, remove the others, and temp dirs left by runs that died. This is our own cache, under
    our own dir: only entries named as this mechanism names them and holding its marker file are removed
    (the rule that plotfleet deletes only plot temp files is about user data)."""
    now = time.time() if now is None else now
    keys = []
    for name in os.listdir(root):
        try:
            used = os.stat(os.path.join(root, name, MARKER)).st_mtime
            if is_key(name):
                keys.append((used, name))
            elif name.startswith(TEMP_PREFIX) and now - used > STALE_TEMP_SECONDS:
                remove_dir(root, name)
        except OSError:
            continue  # not ours, or another run removed it
    keys.sort(reverse=True)
    for used, name in keys[KEEP_NEWEST:]:
        if name != current and now - used > KEEP_USED_SECONDS:
            try:
                remove_dir(root, name)
            except OSError:
                pass


def cached_dir(package, environ):
    """The key dir for this package's zip (made if absent), or None: use the zip."""
    if (environ.get(OPT_OUT) or "").strip().lower() in OFF_VALUES:
        return None
    archive = zip_archive(package)
    root = cache_root(environ) if archive else None
    if not root:
        return None
    entries = package_entries(archive, package.__name__.replace(".", "/") + "/")
    key = content_key(entries)
    if not os.path.isdir(root):
        os.makedirs(root, 0o700, exist_ok=True)
    if not ours_alone(root):
        return None
    path = os.path.join(root, key)
    if not os.path.lexists(path):
        create(archive, entries, root, key)
    if not ours_alone(path):
        return None
    if not os.path.exists(compiled_mark(path) or path):
        compile_for_this_python(path)
    os.utime(os.path.join(path, MARKER), None)  # when it was last used (prune); no marker: not ours
    return path


def install(package_name):
    """Put the key dir first on the package's __path__; any error: the zip, silently."""
    try:
        package = sys.modules[package_name]
        path = cached_dir(package, os.environ)
        if path and path not in package.__path__:
            package.__path__.insert(0, path)
        return path
    except Exception:
        return None


CACHE_DIR = install(__name__.rpartition(".")[0])
