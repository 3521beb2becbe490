"""Replot in the storage agent over a real sshd on loopback: a storage dir on a real full disk (tmpfs) of
real k18 v1 plots, .plot2 arrivals (chia_rs) sent with rsync. Check mode lists what a session then
deletes; an unverifiable arrival deletes nothing; two senders at once each delete for their own room
only, the deletion and the slot decided under the storage host's lock; a copy that fails after its
deletion is retried into that room without a second deletion. The agent runs from its text, with
replot.py's text defined before it (what the worker must ship for a replot session)."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import replot_lib as lib  # noqa: E402

import plotfleet_testlib  # noqa: E402,F401  (puts collections/ on sys.path)
from ansible_collections.plotfleet.chia.plugins.module_utils import plotfile, replot, transfer_worker  # noqa: E402

pytestmark = pytest.mark.skipif(not (lib.plotmove_lib.Sshd.available() and lib.plotmove_lib.can_mount()),
                                reason="needs root (tmpfs), /usr/sbin/sshd and rsync")
PAGE = 4096
RSYNC_DIR = plotfile.RSYNC_PARTIAL_DIR


def program():
    """The program the transfer worker ships for replot ops: the agent with replot.py defined first."""
    return transfer_worker.replot_agent_source()


class Agent:
    def __init__(self, sshd, directory, policy, min_free):
        self.sshd, self.dir, self.policy, self.min_free = sshd, str(directory), policy, min_free

    def argv(self, op, source, *extra):
        args = ["python3", "-S", "-c", program(), op, self.dir, source.name, plotfile.partial_name(source.name)]
        return self.sshd.ssh_argv() + ["root@127.0.0.1", " ".join(shlex.quote(a) for a in args + [
            str(x) for x in extra])]

    def request(self, arrival):
        return json.dumps({"policy": self.policy, "arrival": arrival})

    def plan(self, source, arrival=None):
        out = subprocess.run(self.argv("replot-plan", source, self.request(arrival or lib.arrival(source)),
                                       source.stat().st_size, self.min_free),
                             stdout=subprocess.PIPE, universal_newlines=True, timeout=60, check=True).stdout
        return json.loads(out)

    def start(self, source, arrival=None):
        """A replot-session (cap 2), which holds its slot until it ends."""
        request = self.request(arrival or lib.arrival(source))
        return subprocess.Popen(self.argv("replot-session", source, request, 1024, 0.2, RSYNC_DIR, 2,
                                          source.stat().st_size, self.min_free),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)

    def session(self, source, arrival=None):
        proc = self.start(source, arrival)
        return proc, json.loads(proc.stdout.readline())

    def send_and_commit(self, proc, source):
        ssh = " ".join(shlex.quote(a) for a in self.sshd.ssh_argv())
        subprocess.run(["rsync", "-e", ssh, str(source), "root@127.0.0.1:%s" % os.path.join(
            self.dir, plotfile.partial_name(source.name))], check=True, timeout=60)
        size = source.stat().st_size
        head, tail_at, tail_sha = transfer_worker.source_fingerprint(str(source), size)
        proc.stdin.write(json.dumps(["commit", size, head, tail_at, tail_sha]) + "\n")
        proc.stdin.flush()
        result = json.loads(proc.stdout.readline())
        proc.wait(timeout=30)
        return result


@pytest.fixture
def full_disk(tmp_path):
    sources = lib.og_plots(4)
    total = sum(-(-p.stat().st_size // PAGE) for p in sources) + 1 + 40
    with lib.plotmove_lib.tmpfs(tmp_path / "disk", size="%dk" % (total * PAGE // 1024)) as disk:
        for src, date in zip(sources, ["2021-01-01-00-00", "2020-01-01-00-00", "2022-01-01-00-00", "2019-01-01-00-00"]):
            lib.place(disk, src, date)
        (disk / "notes.txt").write_text("farm notes\n")
        yield disk


def test_replot_over_ssh_check_mode_bad_arrivals_two_senders_at_once_and_a_retry(full_disk, tmp_path):
    journal = str(tmp_path / "journal.jsonl")
    policy = {"enabled": True, "storage_dirs": [str(full_disk)], "journal": journal, "protect": ["*2019-*"]}
    first, second = lib.v2_plots(2)
    before = sorted(os.listdir(str(full_disk)))
    (oldest,) = [full_disk / n for n in before if "2020-" in n]   # the oldest plot that is not protected
    free = lib.free_bytes(full_disk)
    # Real plots differ by a few KB (659,250 vs 651,264 bytes on one machine): the room is sized by the
    # larger arrival, and either arrival alone needs a deletion while both need two.
    sizes = [-(-p.stat().st_size // PAGE) * PAGE for p in (first, second)]
    arriving = max(sizes)
    assert free < min(sizes) and sum(sizes) > arriving + arriving // 2, (free, sizes)
    # Bytes kept free such that one old plot makes room for one arrival but not for two: the second
    # sender needs a deletion of its own only if the first one's reservation is counted.
    min_free = free + oldest.stat().st_size - arriving - arriving // 2
    with lib.plotmove_lib.Sshd(tmp_path / "sshd") as sshd:
        agent = Agent(sshd, full_disk, policy, min_free)
        # check mode: the oldest plot that is not protected, and nothing deleted
        shown = agent.plan(first)
        assert shown["delete"] == [oldest.name] and len(shown["listing"]) == 1, shown
        assert sorted(os.listdir(str(full_disk))) == before and not os.path.exists(journal)
        # an arrival whose header is not that plot's, or whose size is not the copy's: nothing deleted,
        # the plain arbitration decides (the probe then finds the dir full)
        head = bytearray.fromhex(lib.arrival(first)["head"])
        head[10] ^= 0xFF
        for bad, why in ((dict(lib.arrival(first), head=head.hex()), "not a verified plot"),
                         (dict(lib.arrival(first), bytes=first.stat().st_size + 1), "is not the copy's")):
            proc, answer = agent.session(first, bad)
            proc.stdin.close()
            proc.wait(timeout=30)
            assert why in json.dumps(answer["replot"]) and answer["free"] < first.stat().st_size, answer
            assert sorted(os.listdir(str(full_disk))) == before
        # two senders at once: each arrival deletes one old plot, for its own room
        procs = [agent.start(first), agent.start(second)]   # both arbitrate at about the same time
        sessions = [(proc, json.loads(proc.stdout.readline())) for proc in procs]
        for (_proc, answer), source in zip(sessions, (first, second)):
            assert answer["granted"] == str(full_disk) and len(answer["replot"]["deleted"]) == 1, answer
            assert answer["replot"]["for"] == source.name
        two_oldest = set(n for n in before if "2020-" in n or "2021-" in n)
        assert set(a["replot"]["deleted"][0] for _p, a in sessions) == two_oldest
        assert agent.send_and_commit(sessions[0][0], first) == {"ok": True}
        # the second copy fails after its deletion (the worker ends the session); its retry uses that room
        sessions[1][0].stdin.close()
        sessions[1][0].wait(timeout=30)
        proc, retry = agent.session(second)
        assert retry["granted"] == str(full_disk) and retry["replot"] is None, retry
        assert agent.send_and_commit(proc, second) == {"ok": True}
    after = set(os.listdir(str(full_disk)))
    assert after == (set(before) - two_oldest) | {first.name, second.name}
    assert lib.free_bytes(full_disk) >= min_free
    deleted = [(e["name"], e["for"]) for e in replot.read_journal(journal) if e["event"] == "deleted"]
    assert sorted(n for n, _for in deleted) == sorted(two_oldest)
    assert set(f for _n, f in deleted) == {first.name, second.name}
