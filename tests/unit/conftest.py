"""Fixtures shared by the unit tests of the storage host's side."""

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import storage_slots


@pytest.fixture
def home(tmp_path, monkeypatch):
    """The storage user's home: where the agent (HOME=home) and the reader keep the slots file."""
    monkeypatch.delenv(storage_slots.STATE_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    return tmp_path / "home"
