# Used by `make sanity` as ~/.ansible/test/cache/get_pip_<version>.py: ansible-test downloads its pip
# bootstrap from ci-files.testing.ansible.com, which this network cannot reach. This stand-in bootstraps
# pip with the interpreter's own ensurepip, then installs the requested pip from PyPI.
import ensurepip
import os
import subprocess
import sys

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # ansible-test drops PIP_CERT from the environment

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if not a.startswith("-")] or ["pip==24.2"]
cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
if os.path.exists(CA_BUNDLE):
    cmd += ["--cert", CA_BUNDLE]
subprocess.check_call(cmd + args)
