"""The write_reports action through real Ansible: it writes on the controller without connecting to the
task's host (an ssh host that refuses connections), honours check mode (nothing written, changed),
reports a write as changed and an up-to-date file as not."""

import json

from localhost_lib import recap

from plotfleet_testlib import run_playbook

PLAY = [{
    "name": "Write reports", "hosts": "far", "gather_facts": False,
    "tasks": [{"name": "Write the files", "plotfleet.chia.write_reports": {"files": [
        {"dest": "{{ out }}/sub/status.json", "content": "{{ {'ok': 1} | to_json }}"},
        {"dest": None, "content": "skipped"}]}}],
}]


def test_write_reports_writes_on_the_controller_honours_check_mode_and_reports_changes(tmp_path):
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps(PLAY))
    inventory = tmp_path / "hosts.ini"   # port 1 refuses: any connection attempt makes the host unreachable
    inventory.write_text("far ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n")
    out = tmp_path / "out"
    extra = {"out": str(out)}

    proc = run_playbook(playbook, extra_vars=extra, inventory=inventory, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap(proc.stdout, "far")["changed"] == 1
    assert not out.exists()                           # check mode: nothing written, not even the dir

    proc = run_playbook(playbook, extra_vars=extra, inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap(proc.stdout, "far")["changed"] == 1
    assert json.loads((out / "sub" / "status.json").read_text()) == {"ok": 1}
    assert sorted(p.name for p in (out / "sub").iterdir()) == ["status.json"]   # no temp file left

    proc = run_playbook(playbook, extra_vars=extra, inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap(proc.stdout, "far")["changed"] == 0   # the same content: nothing to do
