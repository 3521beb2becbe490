"""The storage host's slots per dir (issue 10 item 6), run here as the storage host runs them: the
storage agent's (storage_agent.py) `session` op with a cap, as a local process (no ssh needed to see the rules)."""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import plotfile, storage_agent

NAME = "plot-k18-2025-01-01-00-00-%s.plot"


@pytest.fixture
def dirs(tmp_path):
    made = [tmp_path / "a", tmp_path / "b"]
    for d in made:
        d.mkdir()
    return made


def open_session(home, directory, plot_hex, cap=1, total=1000, alternatives=()):
    """A session of one copy: (process, its first answer). It holds its slot until stdin closes."""
    name = NAME % (plot_hex * 32)
    argv = [sys.executable, "-S", storage_agent.__file__, "session", str(directory), name,
            plotfile.partial_name(name), "0", "30", plotfile.RSYNC_PARTIAL_DIR, str(cap), str(total), "0"]
    proc = subprocess.Popen(argv + [str(a) for a in alternatives], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=dict(os.environ, HOME=str(home)))
    return proc, json.loads(proc.stdout.readline().decode())


def end(proc):
    proc.stdin.close()
    proc.wait(timeout=10)


def test_a_dir_at_its_cap_sends_the_next_copy_to_the_alternative_then_refuses(tmp_path, dirs):
    a, b = dirs
    first, answer = open_session(tmp_path, a, "aa", alternatives=[b])
    assert answer["granted"] == str(a)
    second, answer = open_session(tmp_path, a, "bb", alternatives=[b])
    assert answer["granted"] == str(b) and answer["refused"] == [[str(a), "1 copies running there (cap 1)"]]
    third, answer = open_session(tmp_path, a, "cc", alternatives=[b])
    assert answer == {"granted": None, "refused": [[str(a), "1 copies running there (cap 1)"],
                                                    [str(b), "1 copies running there (cap 1)"]]}
    third.wait(timeout=10)
    end(first)  # its slot is released when its session ends
    fourth, answer = open_session(tmp_path, a, "dd", alternatives=[b])
    assert answer["granted"] == str(a)
    for proc in (second, fourth):
        end(proc)


def test_a_slot_whose_holder_is_gone_is_free_again(tmp_path, dirs):
    a, _b = dirs
    holder, answer = open_session(tmp_path, a, "aa")
    assert answer["granted"] == str(a)
    holder.kill()  # SIGKILL: no release; its pid is gone
    holder.wait()
    other, answer = open_session(tmp_path, a, "bb")
    assert answer["granted"] == str(a), answer
    end(other)


def test_room_beside_the_running_copies_is_needed(tmp_path, dirs):
    """A copy alone is left to the probe (it knows which partial copy it may drop); beside a running copy
    the room it still has to write is taken off the dir's free space."""
    a, _b = dirs
    first, answer = open_session(tmp_path, a, "aa", cap=5, total=10 ** 18)  # more than any disk here
    assert answer["granted"] == str(a)
    second, answer = open_session(tmp_path, a, "bb", cap=5, total=1000)
    assert answer == {"granted": None, "refused": [[str(a), "no room for it beside the copies running there"]]}
    for proc in (first, second):
        end(proc)


def test_without_a_usable_home_the_copy_goes_on_unarbitrated(tmp_path, dirs):
    a, _b = dirs
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    proc, answer = open_session(home, a, "aa")
    assert answer["granted"] == str(a) and answer["refused"][0][1].startswith("no arbitration")
    end(proc)
