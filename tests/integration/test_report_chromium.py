"""The HTML report as a person sees it: rendered from a recorded fleet state (real plot_info results,
tests/fixtures/report/fleet-hostvars.json), opened in headless Chromium (Debian `chromium`, network
off), screenshot kept as a test artifact (tests/output/report/report.png), and the page Chromium
built checked for every host, every running job and every chart."""

import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest

from ansible_collections.plotfleet.chia.plugins.filter import fleet, fleet_report
from ansible_collections.plotfleet.chia.plugins.plugin_utils import report_writer
from plotfleet_testlib import REPO

FIXTURE = REPO / "tests" / "fixtures" / "report" / "fleet-hostvars.json"
ARTIFACTS = REPO / "tests" / "output" / "report"
WIDTH, HEIGHT = 1280, 2400
CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)

if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing: `make sysdeps` (as root) installs the Debian package")
    pytestmark = pytest.mark.skip(reason="no chromium here: apt-get install chromium (make sysdeps as root)")


class Dom(HTMLParser):
    def __init__(self):
        HTMLParser.__init__(self)
        self.classes, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.classes += (dict(attrs).get("class") or "").split()

    def handle_data(self, data):
        self.text.append(data)


def chromium(args, profile):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-extensions", "--disable-sync", "--disable-default-apps", "--no-first-run",
           "--hide-scrollbars", "--user-data-dir=%s" % profile] + args
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=120, env=dict(os.environ, HOME=str(profile)))


def png_pixels(path):
    """(width, height, decompressed scanlines) of a PNG, with the standard library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            chunks.append(data[pos + 8:pos + 8 + length])
        pos += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    recorded = __import__("json").loads(FIXTURE.read_text())
    status = fleet.fleet_status(recorded["hostvars"], recorded["hosts"], recorded["plotters"], recorded["storage"],
                                False, recorded["recorded"])
    report = fleet_report.fleet_report(status, recorded["hostvars"], recorded["recorded"])
    out = tmp_path_factory.mktemp("report")
    report_writer.write_files(fleet_report.report_files(report, str(out / "report.html"), str(out / "report.json")))
    return report, out / "report.html", tmp_path_factory.mktemp("chromium-profile")


def test_chromium_renders_every_host_job_and_chart(page):
    report, html, profile = page
    proc = chromium(["--dump-dom", html.as_uri()], profile)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = Dom()
    dom.feed(proc.stdout)
    text = " ".join(dom.text)
    for host in report["hosts"]:
        assert host["name"] in text, host["name"]
    assert report["jobs"] and dom.classes.count("job") == len(report["jobs"])
    for job in report["jobs"]:
        assert job["id_short"] in text
    for chart in ("timeline", "per-day", "phases", "disk", "progress", "legend"):
        assert chart in dom.classes, chart
    assert "port 9: Connection refused" in text           # the unreachable host, and why


def test_screenshot_is_kept_and_shows_the_page(page):
    report, html, profile = page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    if shot.exists():
        shot.unlink()
    proc = chromium(["--window-size=%d,%d" % (WIDTH, HEIGHT), "--screenshot=%s" % shot, html.as_uri()], profile)
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    shutil.copy(str(html), str(ARTIFACTS / "report.html"))
    width, height, pixels = png_pixels(shot)
    assert (width, height) == (WIDTH, HEIGHT)
    # A blank page compresses to almost nothing: charts, bars and text make many distinct scanlines.
    row = len(pixels) // height
    assert len(set(pixels[i * row:(i + 1) * row] for i in range(height))) > 200
