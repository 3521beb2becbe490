# Used by `make sanity` as ~/.ansible/test/cache/get_pip_<version>.py.
# Offline stand-in for ansible-test's get-pip bootstrap (ci-files.testing.ansible.com is unreachable):
# bootstrap pip from the interpreter's ensurepip, then install the requested pip from PyPI.
import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if not a.startswith("-")] or ["pip==24.2"]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q", "--cert", "/etc/ssl/certs/ca-certificates.crt"] + args)
