"""compliance.html in a real browser (headless Chromium): it renders, its optional script runs without
error, and it prints. (That it is complete without scripts is shown by parsing it: test_report_html.)
Needs Debian's `chromium`, which .ci/run installs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kitemark.reports.html import render_html
from kitemark.results import migrate_v1

SAMPLE = Path(__file__).parent / "data" / "results-sample.json"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = [
    pytest.mark.needs_server("chromium"),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)"),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("browser") / "compliance.html"
    path.write_text(render_html(migrate_v1(json.loads(SAMPLE.read_text()))), encoding="utf-8")
    return path


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_script_runs_and_every_result_is_in_the_page(report: Path, tmp_path: Path) -> None:
    proc = chromium(tmp_path, "--dump-dom", report.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert 'id="js-tools" hidden' not in dom, "the optional script did not run"
    for result in json.loads(SAMPLE.read_text())["results"]:
        assert result["id"] in dom


def test_the_page_prints_and_screenshots(report: Path, tmp_path: Path) -> None:
    pdf, png = tmp_path / "report.pdf", tmp_path / "report.png"
    assert (
        chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", report.as_uri()).returncode == 0
    )
    assert (
        chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,2000", report.as_uri()).returncode == 0
    )
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 20_000
