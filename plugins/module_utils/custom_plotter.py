# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `custom` plotter kind: any plotter described by a template (plot_start's plotter.custom).

The template: `argv` (a list; elements may hold placeholders such as `{tmp_dir}` or `{k}`, never a
shell string), `process` (how to recognise its processes: executable `name`, `argv_pattern` regex)
and optional line `patterns` (regexes for start/id/phase/progress/finished/failed lines).

A launch runs `[python, -S, -c, EXEC_CODE, <header line>, <rendered argv>...]`: that tiny stdlib
program prints the header line (`plotfleet-custom: {json}`: name, k, count, dirs and patterns) as the
first line of the log, then exec()s the plotter in the same process (same pid, same log fd, nothing
stays between the plotter and its log). The log thus describes itself: logs/template.py reads its
patterns from that line, in plot_info, long after plot_start has gone, and in any later pass.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import re

from ansible_collections.plotfleet.chia.plugins.module_utils import records

__metaclass__ = type

TEMPLATES = "plotters"   # <state_dir>/plotters/<name>.json: the templates plot_start used (process recognition)

HEADER_PREFIX = "plotfleet-custom: "
PATTERN_NAMES = ("start", "id", "phase", "progress", "finished", "failed")
# The named group each pattern may capture (else its first group, if it has one).
PATTERN_GROUPS = {"id": "id", "phase": "phase", "progress": "progress", "finished": "file", "failed": "error"}
PLACEHOLDER_RE = re.compile(r"\{([a-z0-9_]+)\}")
# Placeholders from plotter options (plotter.<name>); the dirs come from the slot plotfleet chose.
OPTION_PLACEHOLDERS = ("k", "count", "threads", "buckets", "buffer_mib", "stripe", "strength", "compression",
                       "farmer_public_key", "pool_public_key", "pool_contract_address", "python", "binary")
DIR_PLACEHOLDERS = ("tmp_dir", "tmp2_dir", "dst_dir")
PLACEHOLDERS = DIR_PLACEHOLDERS + OPTION_PLACEHOLDERS
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
ID_RE = re.compile(r"^[0-9a-fA-F]{64}$")

# Runs in the plotter's place: the header first (flushed), then exec (the plotter keeps this pid and fd 1).
EXEC_CODE = (
    "import os, sys\n"
    "sys.stdout.write(sys.argv[1] + '\\n')\n"
    "sys.stdout.flush()\n"
    "try:\n"
    "    os.execvp(sys.argv[2], sys.argv[2:])\n"
    "except OSError as exc:\n"
    "    sys.stdout.write('plotfleet-custom: cannot run %s: %s\\n' % (sys.argv[2], exc))\n"
    "    sys.exit(127)\n"
)


def template(plotter):
    return plotter.get("custom") or {}


def _values(plotter, tmp_dir=None, tmp2_dir=None, dst_dir=None):
    values = dict((name, plotter.get(name)) for name in OPTION_PLACEHOLDERS)
    values.update(tmp_dir=tmp_dir, tmp2_dir=tmp2_dir or tmp_dir, dst_dir=dst_dir)
    return values


# ---------------------------------------------------------------- validation

def validate(plotter):
    """Errors (naming plotter.custom.*) that make the template unusable. No I/O."""
    spec = plotter.get("custom")
    if not isinstance(spec, dict) or not spec.get("argv"):
        return ["plotter.custom.argv: kind custom needs an argv template (a list: program, then its arguments)"]
    errors = []
    if spec.get("name") is not None and not NAME_RE.match(str(spec["name"])):
        errors.append("plotter.custom.name: %r must be 1..64 letters, digits or ._+- (it names the plotter in "
                      "logs and status)" % spec["name"])
    errors.extend(_argv_errors(plotter, spec["argv"]))
    errors.extend(_process_errors(spec.get("process") or {}))
    errors.extend(_pattern_errors(spec.get("patterns") or {}))
    return errors


def _argv_errors(plotter, argv):
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return ["plotter.custom.argv must be a list of strings (one per argument, no shell quoting)"]
    errors, used = [], set()
    values = _values(plotter, "tmp", "tmp2", "dst")
    for i, arg in enumerate(argv):
        for name in PLACEHOLDER_RE.findall(arg):
            used.add(name)
            if name not in PLACEHOLDERS:
                errors.append("plotter.custom.argv[%d]: unknown placeholder {%s} (known: %s)"
                              % (i, name, ", ".join("{%s}" % p for p in PLACEHOLDERS)))
            elif values[name] is None:
                errors.append("plotter.custom.argv[%d]: {%s} has no value (set plotter.%s, or take it out of "
                              "the template)" % (i, name, name))
    if "dst_dir" not in used:
        errors.append("plotter.custom.argv must pass {dst_dir}: plotfleet chooses the output dir of every plot")
    if argv and not argv[0].strip():
        errors.append("plotter.custom.argv[0] (the program) is empty")
    return errors


def _process_errors(process):
    errors = []
    if process.get("name") and ("/" in process["name"]):
        errors.append("plotter.custom.process.name: %r must be an executable name, not a path" % process["name"])
    if process.get("argv_pattern"):
        errors.extend(_regex_error("plotter.custom.process.argv_pattern", process["argv_pattern"]))
    return errors


def _pattern_errors(patterns):
    errors = []
    for name in sorted(patterns):
        if name not in PATTERN_NAMES:
            errors.append("plotter.custom.patterns.%s: unknown pattern (known: %s)" % (name, ", ".join(PATTERN_NAMES)))
        elif patterns[name]:
            errors.extend(_regex_error("plotter.custom.patterns.%s" % name, patterns[name]))
    id_pattern = patterns.get("id")
    if id_pattern and not _regex_error("", id_pattern) and re.compile(id_pattern).groups == 0:
        errors.append("plotter.custom.patterns.id must capture the 64-hex plot id: (?P<id>[0-9a-f]{64})")
    progress = patterns.get("progress")
    if progress and not _regex_error("", progress) and re.compile(progress).groups == 0:
        errors.append("plotter.custom.patterns.progress must capture the fraction (0..1) or percentage: "
                      "(?P<progress>[0-9.]+)")
    return errors


def _regex_error(option, pattern):
    try:
        re.compile(pattern)
    except (re.error, TypeError) as exc:
        return ["%s: %r is not a valid regular expression (%s)" % (option, pattern, exc)]
    return []


# ---------------------------------------------------------------- argv and the log header

def _render(arg, values):
    return PLACEHOLDER_RE.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), arg)


def program(plotter):
    """The template's program (argv[0] with its placeholders filled), for resolving it on PATH."""
    argv = template(plotter).get("argv") or []
    return _render(argv[0], _values(plotter)) if argv else None


def render(plotter, binary, tmp_dir, tmp2_dir, dst_dir):
    """The plotter's own argv: the template with every placeholder filled; argv[0] = the resolved binary."""
    values = _values(plotter, tmp_dir, tmp2_dir, dst_dir)
    argv = [_render(arg, values) for arg in template(plotter)["argv"]]
    return [binary or argv[0]] + argv[1:]


# ---------------------------------------------------------------- sizing

# `.plot2` named in a regex (`\.plot2`, `.plot2`): the plotter writes PoS2 plots.
PLOT2_IN_PATTERN_RE = re.compile(r"\.plot2(?![A-Za-z0-9_])")


def plot_format(plotter):
    """Return "v2" when the template's file pattern (its `finished` regex, the file it writes) names `.plot2`
    files, else "v1": the start policy's plot_format, so the space rules size the plots it makes."""
    pattern = (template(plotter).get("patterns") or {}).get("finished") or ""
    return "v2" if PLOT2_IN_PATTERN_RE.search(pattern) else "v1"


def header(plotter, tmp_dir, tmp2_dir, dst_dir):
    """The first line of the log: what logs/template.py needs to follow it (no keys in it)."""
    spec = template(plotter)
    doc = {"version": 1, "name": spec.get("name") or "custom", "k": plotter.get("k"),
           "count": plotter.get("count") or 1, "tmp_dir": tmp_dir, "tmp2_dir": tmp2_dir or tmp_dir,
           "dst_dir": dst_dir, "patterns": dict((k, v) for k, v in (spec.get("patterns") or {}).items() if v)}
    return HEADER_PREFIX + json.dumps(doc, sort_keys=True, separators=(",", ":"))


def exec_argv(python, header_line, plotter_argv):
    """argv that prints header_line and then becomes plotter_argv (exec: same pid, same log)."""
    return [python, "-S", "-c", EXEC_CODE, header_line] + list(plotter_argv)


def parse_header(line):
    """The header dict of a `plotfleet-custom: {...}` line, or None."""
    if not line.startswith(HEADER_PREFIX):
        return None
    try:
        doc = json.loads(line[len(HEADER_PREFIX):])
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


# ---------------------------------------------------------------- recognising its processes

def matches(argv, spec):
    """True when argv is a process of this template: the executable name agrees, and the argv pattern
    matches or, without one, the argv lines up with the template (a bare name such as python3 would
    otherwise claim every python3 process of the host as a plotter job)."""
    process = spec.get("process") or {}
    name = process.get("name") or os.path.basename(_render((spec.get("argv") or [""])[0], {}))
    if not argv or not name:
        return False
    if os.path.basename(argv[0]) != name:
        return False
    pattern = process.get("argv_pattern")
    if pattern:
        return re.search(pattern, " ".join(argv)) is not None
    return _lined_up(argv, spec.get("argv") or []) is not None


def _lined_up(argv, tmpl):
    """{placeholder: value} of the template's whole placeholder arguments when argv is the template's
    layout (its literal arguments in place; extra_args may follow), else None."""
    if len(argv) < len(tmpl):
        return None
    values = {}
    for want, got in zip(tmpl[1:], argv[1:]):
        names = PLACEHOLDER_RE.findall(want)
        if not names:
            if want != got:
                return None   # a literal argument differs: not this template's layout
        elif len(names) == 1 and want == "{%s}" % names[0]:
            values[names[0]] = got
    return values


def dirs_from_argv(argv, spec):
    """k, count and dirs read back from a live argv where it lines up with the template, element by element."""
    values = _lined_up(argv, spec.get("argv") or []) or {}
    info = dict((key, value) for key, value in values.items() if key in DIR_PLACEHOLDERS + ("k", "count"))
    for key in ("k", "count"):
        if key in info:
            try:
                info[key] = int(info[key])
            except ValueError:
                del info[key]
    return info


def save_template(state_dir, plotter):
    """Keep the template in state_dir, so plot_info can recognise its processes (also hand-started ones)."""
    spec = template(plotter)
    name = spec.get("name") or "custom"
    process = dict(spec.get("process") or {})
    # The executable name defaults to the program's: rendered, as "{python}" never names a process.
    process["name"] = process.get("name") or os.path.basename(str(plotter.get("binary") or program(plotter) or ""))
    kept = {"name": name, "argv": spec.get("argv"), "process": process}
    if records.read_json(records.record_path(state_dir, TEMPLATES, name)) != kept:
        records.write_record(state_dir, TEMPLATES, name, kept)


def load_templates(state_dir, warnings=None):
    return [t for t in records.list_records(state_dir, TEMPLATES, warnings) if isinstance(t.get("argv"), list)]
