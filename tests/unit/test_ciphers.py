"""SSH cipher choice for transfers: AES in hardware on this host (cpuinfo), and on the storage host."""

import sys
from pathlib import Path

import pytest

from ansible_collections.plotfleet.chia.plugins.filter import fleet
from ansible_collections.plotfleet.chia.plugins.module_utils import cpu, transfer_worker
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import move as transfer

CPUINFO = Path(__file__).resolve().parents[1] / "fixtures" / "cpuinfo"


@pytest.mark.parametrize("name, expected", [
    ("linux-x86_64-aes.txt", True),     # real: this VM's x86_64 flags
    ("linux-arm64-rpi4.txt", False),    # synthetic: Cortex-A72 without crypto extensions
    ("linux-arm64-aes.txt", True),      # synthetic: arm64 Features with aes
])
def test_aes_from_cpuinfo(name, expected):
    assert cpu.aes_in_cpuinfo(str(CPUINFO / name)) is expected


def test_aes_unknown_without_cpuinfo(tmp_path):
    assert cpu.aes_in_cpuinfo(str(tmp_path / "missing")) is None
    (tmp_path / "empty").write_text("processor\t: 0\n")
    assert cpu.aes_in_cpuinfo(str(tmp_path / "empty")) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/cpuinfo")
def test_this_host_answers():
    assert cpu.has_aes() in (True, False)


REMOTE = {"host": "nas1", "path": "/srv/plots"}


@pytest.mark.parametrize("choice, local_aes, remote_aes, expected", [
    ("auto", True, True, transfer.AES_FIRST_CIPHERS),
    (None, True, True, transfer.AES_FIRST_CIPHERS),
    ("auto", True, False, None),     # a Raspberry Pi 4 at the far end: chacha20 (ssh's default) is faster
    ("auto", True, None, None),      # unknown counts as no
    ("auto", False, True, None),
    ("default", True, True, None),
    ("aes256-ctr", False, False, "aes256-ctr"),
])
def test_cipher_choice(choice, local_aes, remote_aes, expected):
    dest = dict(REMOTE, cpu_aes=remote_aes)
    assert transfer.ssh_ciphers(choice, dest, local_aes=local_aes) == expected


def test_local_destination_needs_no_cipher():
    assert transfer.ssh_ciphers("auto", {"host": None, "path": "/mnt/hdd"}, local_aes=True) is None


def test_users_ssh_options_win_over_the_chosen_ciphers():
    rec = {"host": "nas1", "ssh_options": ["-o", "Ciphers=aes256-ctr"], "ssh_ciphers": transfer.AES_FIRST_CIPHERS}
    argv = transfer_worker.ssh_argv(rec)
    ciphers = [argv[i + 1] for i, a in enumerate(argv) if a == "-o" and argv[i + 1].startswith("Ciphers=")]
    assert ciphers == ["Ciphers=aes256-ctr", "Ciphers=" + transfer.AES_FIRST_CIPHERS]  # ssh keeps the first
    assert "Ciphers" not in " ".join(transfer_worker.ssh_argv(dict(rec, ssh_options=[], ssh_ciphers=None)))


def test_storage_offer_carries_the_storage_hosts_aes_to_remote_destinations_only():
    state = {"dirs": [{"path": "/srv/plots", "free_bytes": 10 ** 12, "total_bytes": 2 * 10 ** 12}],
             "load": {"cpu_aes": False}}
    offer = fleet.storage_offer(state, ["/srv/plots"], "10.0.0.9")
    assert offer[0]["cpu_aes"] is False
    hostvars = {"nas1": {"plotfleet_storage_offer": offer}, "plot1": {"plotfleet_storage_offer": offer}}
    remote, local = fleet.move_destinations(hostvars, ["nas1", "plot1"], "plot1")
    assert remote["host"] == "10.0.0.9" and remote["cpu_aes"] is False
    assert local["host"] is None and local["cpu_aes"] is None


@pytest.mark.parametrize("answers, expected", [
    ({"hw.optional.arm.FEAT_AES": "1\n"}, True),                                   # Apple silicon
    ({"machdep.cpu.features": "FPU VME DE PSE TSC MSR PAE AES PCLMULQDQ SSE4.2\n"}, True),  # Intel Mac
    ({"machdep.cpu.features": "FPU VME DE PSE TSC MSR PAE SSE4.2\n"}, False),
    ({}, None),
])
def test_aes_on_macos_from_sysctl(monkeypatch, answers, expected):
    # Mocked: no Mac here. The sysctl names and value shapes are those macOS documents and prints.
    monkeypatch.setattr(cpu.sys, "platform", "darwin")
    monkeypatch.setattr(cpu, "_sysctl", lambda name: answers.get(name))
    assert cpu.has_aes() is expected
