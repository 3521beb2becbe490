# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side filters: the fleet status document, its table, JMESPath queries, and the
storage offers that turn storage hosts' free space into plot_move destinations.

Documentation of each filter: plugins/filter/<filter name>.yml (ansible-doc -t filter plotfleet.chia.<name>).
"""

from __future__ import absolute_import, division, print_function

import json
import time

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.plotfleet.chia.plugins.module_utils import replot as replot_policy
from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_setup as setup
from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_status as status_doc
from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_table as table

__metaclass__ = type

try:
    import jmespath
except ImportError:  # reported when the filter is used, not when Ansible loads the plugin
    jmespath = None


def _plain(data):
    """Plain JSON types (Ansible's tagged/lazy values confuse jmespath's type checks)."""
    return json.loads(json.dumps(data, default=str))


def fleet_status(hostvars, hosts, plotters=None, storage=None, check_mode=False, now=None):
    return _plain(status_doc.build_status(hostvars, hosts, plotters, storage, boolean(check_mode, strict=False), now))


def fleet_table(status, width=100, ascii=False):
    return table.render(_plain(status), width=int(width), ascii=boolean(ascii, strict=False))


def fleet_query(data, expression):
    if jmespath is None:
        raise AnsibleFilterError("fleet_query needs the Python package 'jmespath' on the controller "
                                 "(pip install jmespath, or make venv)")
    if not expression:
        return _plain(data)
    try:
        return jmespath.search(str(expression), _plain(data))
    except jmespath.exceptions.JMESPathError as exc:
        raise AnsibleFilterError("plotfleet_query: invalid JMESPath expression %r: %s" % (expression, exc)) from None


def pass_summary(status, width=100, ascii=False):
    """The small summary the loop wrapper reads, with the rendered table."""
    status = _plain(status)
    return dict(status_doc.pass_summary(status), table=table.render(status, width=int(width),
                                                                     ascii=boolean(ascii, strict=False)))


def progress_bar(progress, width=table.BAR_WIDTH, ascii=False):
    return table.bar(progress, int(width), boolean(ascii, strict=False))


def storage_offer(state, dirs, address, user=None, port=None, must_be_mount=False, min_free_bytes=0, replot=None):
    """What one storage host offers: its storage dirs with the free space, mount state and any problem
    plot_info saw this pass (a dir with a problem is offered with it: only that dir is ruled out).
    replot: the host's plotfleet_replot with storage_dirs; a dir plot_info found replot on for
    (replot_room) is offered with {"room_bytes", "room_plots", "arrivals" (the plot formats that may make
    room there), "policy"} under "replot"."""
    free = {}
    for entry in (state or {}).get("dirs", []) if isinstance(state, dict) else []:
        if isinstance(entry, dict) and entry.get("path"):
            free[str(entry["path"]).rstrip("/")] = entry
    load = (state or {}).get("load") if isinstance(state, dict) else None
    cpu_aes = load.get("cpu_aes") if isinstance(load, dict) else None
    offer = []
    replot = _offered(replot)
    for path in dirs or []:
        seen = free.get(str(path).rstrip("/"), {})
        offer.append({
            "path": str(path), "address": address, "user": user or None, "port": int(port) if port else None,
            "must_be_mount": boolean(must_be_mount, strict=False), "min_free_bytes": int(min_free_bytes or 0),
            "free_bytes": seen.get("free_bytes"), "total_bytes": seen.get("total_bytes"), "cpu_aes": cpu_aes,
            "mounted": _mounted(seen), "problem": _dir_problem(seen),
            "incoming_bytes": _incoming_bytes(state, path), "incoming_plots": _incoming_plots(state, path),
        })
        _add_replot(offer[-1], state, replot)
    return offer


def _incoming_entry(state, path):
    incoming = state.get("storage_incoming") if isinstance(state, dict) else None
    entry = (incoming or {}).get(str(path)) if isinstance(incoming, dict) else None
    return entry if isinstance(entry, dict) else {}


def _incoming_bytes(state, path):
    """What the copies running into path still have to write, as the storage host's slots count them
    (plot_info's storage_incoming: every sender, in this pass or not); 0 when not reported."""
    return int(_incoming_entry(state, path).get("bytes") or 0)


def _incoming_plots(state, path):
    """{plot name: bytes still to write} of those copies (which sender's is told by the plot name)."""
    plots = _incoming_entry(state, path).get("plots")
    return dict((str(n), int(b or 0)) for n, b in plots.items()) if isinstance(plots, dict) else {}


def _own_copies(hostvars, plotter):
    """Names of the plots the plotter itself is still sending (running or interrupted: plot_move reserves
    their bytes itself), from its plot_info when it was gathered before (empty otherwise)."""
    state = status_doc.host_value(hostvars, plotter, "plotfleet_host_state")
    transfers = state.get("transfers") if isinstance(state, dict) else None
    return set(str(t.get("plot_name") or t.get("source") or "").rsplit("/", 1)[-1]
               for t in transfers or [] if isinstance(t, dict) and t.get("state") in ("running", "interrupted"))


def _plots_of(item):
    return item.get("incoming_plots") if isinstance(item.get("incoming_plots"), dict) else {}


def _storage_count(item, own):
    """The storage host's count at this dir without the plotter's own copies (known by plot name)."""
    plots = _plots_of(item)
    return max(0, int(item.get("incoming_bytes") or 0) - sum(int(plots.get(n) or 0) for n in own))


def _offered(replot):
    """The policy as this offer sends it: with the offer's identity (the controller's time, compared only
    for equality), so that a "full" hold found with this very offer is not ended by it (a drain worker
    plans with the pass's offer; transfer.measure_destinations)."""
    if not isinstance(replot, dict):
        return replot
    return dict(replot, **{replot_policy.OFFER_KEY: round(time.time(), 6)})


def replot_enabled_anywhere(config):
    """A storage host's plotfleet_replot turns replot on in some dir (the host's or one dir's enabled)."""
    return replot_policy.enabled_anywhere(config)


def _add_replot(item, state, replot):
    """The dir's replot room (plot_info's replot_room) and the policy a sender puts in its request."""
    rooms = state.get("replot_room") if isinstance(state, dict) else None
    room = (rooms or {}).get(item["path"]) if isinstance(rooms, dict) and isinstance(replot, dict) else None
    if isinstance(room, dict):
        item["replot"] = {"room_bytes": int(room.get("bytes") or 0), "room_plots": int(room.get("plots") or 0),
                          "arrivals": replot_policy.arrivals_for(replot, item["path"]), "policy": _plain(replot)}


def _mounted(entry):
    """The dir is a mount point (plot_info's mount_point is the dir itself); None when not reported."""
    mount_point = entry.get("mount_point")
    if not mount_point or not entry.get("path"):
        return None
    return str(mount_point).rstrip("/") == str(entry["path"]).rstrip("/")


def _dir_problem(entry):
    if entry.get("exists") is False or entry.get("error"):
        return str(entry.get("error") or "does not exist")
    return None


def move_destinations(hostvars, storage_hosts, plotter, ssh_key=None, known_free_only=True, senders=None):
    """plot_move destinations for one plotter from every storage host's offer (see storage_offer).

    A storage dir on the plotter itself is local (host null). Dirs whose free space is unknown
    (their storage host failed this pass) are left out, unless the storage host reported a problem
    with the dir: it then comes with that problem (plot_move skips it and says why). incoming_bytes:
    what running copies still have to write there - the larger of the storage host's count (its offer's
    incoming_bytes: every copy it holds a slot for, but this plotter's own, which plot_move reserves itself:
    taken out by plot name where this plotter's plot_info is known) and the other senders' running transfers
    (their plot_info, when gathered before this plotter; in a reconcile pass they gather in their own plot_pass).
    mounted and problem are only set when the storage host reported them.
    """
    towards = status_doc.incoming(hostvars, [s for s in senders or [] if s != plotter])
    own = _own_copies(hostvars, plotter)
    destinations = []
    for name in storage_hosts or []:
        offer = status_doc.host_value(hostvars, name, "plotfleet_storage_offer") or []
        for item in offer:
            if known_free_only and item.get("free_bytes") is None and not item.get("problem"):
                continue
            local = name == plotter
            senders_bytes = status_doc.incoming_at(towards, [name, item.get("address")], item["path"])[1]
            dest = {
                "path": item["path"], "host": None if local else item.get("address") or name,
                "user": None if local else item.get("user"), "port": None if local else item.get("port"),
                "ssh_key": None if local else (ssh_key or None), "must_be_mount": item.get("must_be_mount", False),
                "free_bytes": item.get("free_bytes"), "min_free_bytes": item.get("min_free_bytes", 0),
                "incoming_bytes": max(_storage_count(item, own), senders_bytes),
                "cpu_aes": None if local else item.get("cpu_aes"),
            }
            dest.update((key, item[key]) for key in ("mounted", "problem") if item.get(key) is not None)
            counted = dict((n, b) for n, b in _plots_of(item).items() if n not in own)
            if counted:  # by plot name: plot_move takes out its own copies the controller did not know (a pass)
                dest.update(incoming_plots=counted, incoming_senders_bytes=senders_bytes)
            if item.get("replot") and not local:  # replot happens in the storage agent's session (remote copies)
                dest["replot"] = item["replot"]
            destinations.append(dest)
    return _plain(destinations)


PER_DIR_VARIABLES = ("plotfleet_storage_dirs",)


def dir_problems(state, configured, per_dir=PER_DIR_VARIABLES):
    """Messages for configured dirs that plot_info found missing or unusable, naming the variable.

    configured: {"plotfleet_tmp_dirs": [paths], ...}. The dirs of the per_dir variables are used one
    by one (a storage host's storage dirs): a problem there rules out that dir alone (storage_offer
    carries it to the plotters), so they are not reported here as a problem of the whole host.
    """
    configured = dict((key, value) for key, value in (_plain(configured) or {}).items()
                      if key not in (per_dir or ()))
    return status_doc.dir_problems(_plain(state), configured)


def setup_dirs(configured):
    return setup.setup_dirs(_plain(configured))


def plotter_probe(plotter):
    return setup.plotter_probe(_plain(plotter))


def ssh_probe(destination, ssh_options=None):
    return setup.ssh_probe(_plain(destination), _plain(ssh_options or []))


def setup_problems(checks):
    return setup.setup_problems(_plain(checks))


class FilterModule(object):
    def filters(self):
        return {
            "fleet_status": fleet_status,
            "fleet_table": fleet_table,
            "fleet_query": fleet_query,
            "pass_summary": pass_summary,
            "progress_bar": progress_bar,
            "storage_offer": storage_offer,
            "replot_enabled_anywhere": replot_enabled_anywhere,
            "move_destinations": move_destinations,
            "dir_problems": dir_problems,
            "setup_dirs": setup_dirs,
            "plotter_probe": plotter_probe,
            "ssh_probe": ssh_probe,
            "setup_problems": setup_problems,
        }
