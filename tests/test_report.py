"""``git run report``: a self-contained HTML report (checked in headless Chromium) and markdown."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import gitrun
from tests.run_fixtures import isolated_env, shared_project

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    ids = shared_project(tmp_path_factory)
    repo = Path(ids["repo"])
    with pytest.MonkeyPatch.context() as patch:
        isolated_env(patch, tmp_path_factory.mktemp("report-home"))
        gitrun(repo, "journal", "add", f"lr sweep: run:{ids['b'][:12]} beats run:{ids['a'][:12]} on loss")
        gitrun(repo, "journal", "add", "decided against: mixup, unrelated to these runs")
        gitrun(repo, "note", "run-b", "-m", "promising; next try warmup <script>alert(1)</script> & co")
        gitrun(repo, "tag", "run-b", "candidate")
        yield ids


@pytest.fixture(scope="module")
def html_report(project: dict[str, str]) -> Path:
    repo = Path(project["repo"])
    target = repo.parent / "report.html"
    out = gitrun(repo, "report", "run-a", "run-b", "run-c", "-o", str(target)).stdout
    assert "wrote" in out and "3 runs, 2 charts" in out
    return target


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_html_report_is_self_contained(html_report: Path, project: dict[str, str]) -> None:
    text = html_report.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text  # opens without JavaScript
    # No network: nothing is loaded from anywhere (the SVG namespace is an identifier, not a fetch).
    assert not re.search(r"""(src|href)=["'](https?:)?//""", text)
    assert "@import" not in text and "url(" not in text
    for key in ("a", "b", "c"):
        assert f'id="run-{project[key]}"' in text
    assert text.count('<tr id="run-') == 3
    assert text.count('<polyline class="series"') == 4  # loss and acc for run-a and run-b
    assert 'data-metric="loss"' in text and "loss (lower is better)" in text
    # The journal entry that links these runs, with working links; the unrelated entry left out.
    assert "lr sweep" in text and "decided against: mixup" not in text
    assert f'<a href="#run-{project["b"]}">run:{project["b"][:12]} (run-b)</a>' in text
    assert "promising; next try warmup &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text  # escaped
    assert '<span class="tag">candidate</span>' in text
    # Parameters side by side, the differing row marked; the best metric value highlighted.
    assert re.search(r'<tr class="differs"><th>lr</th>', text)
    assert '<th>batch</th><td class="num">32</td><td class="num">32</td><td class="num">–</td>' in text
    assert re.search(r'<td class="num best">0.3</td>', text)


def test_report_by_where_and_markdown(project: dict[str, str]) -> None:
    repo = Path(project["repo"])
    target = repo.parent / "report.md"
    out = gitrun(repo, "report", "--where", "metrics.acc > 0", "-o", str(target), "--metrics", "loss").stdout
    assert "2 runs, 1 chart" in out
    text = target.read_text()
    assert text.startswith("# gitrun report")
    assert "| `" in text and "run-a" in text and "run-b" in text and "run-c" not in text
    assert "### loss" in text and "▁" in text  # a sparkline per run
    assert "| lr | 0.01 | 0.1 |" in text
    assert "| loss | **0.3** | 0.5 |" in text
    assert "> lr sweep" in text


def test_report_errors(project: dict[str, str]) -> None:
    repo = Path(project["repo"])
    proc = gitrun(repo, "report", "-o", "report.pdf", check=False)
    assert proc.returncode == 2 and "use -o report.html or -o report.md" in proc.stderr
    proc = gitrun(repo, "report", "--where", "status == nothing", "-o", str(repo.parent / "x.html"), check=False)
    assert proc.returncode == 2 and "no runs to report on" in proc.stderr


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(html_report: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={tmp_path / 'p'}"]
    proc = subprocess.run([*args, "--dump-dom", html_report.as_uri()], capture_output=True, text=True,
                          timeout=60, check=False)
    dom = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    # What the browser parsed and laid out, not just the file: the table rows and the SVG charts.
    assert len(re.findall(r'<tr id="run-[0-9a-z]{26}" class="run">', dom)) == 3
    assert len(re.findall(r"<svg[^>]*class=\"chart\"", dom)) == 2
    assert len(re.findall(r'<polyline class="series"[^>]*points="[-0-9., ]+"', dom)) == 4
    shot = tmp_path / "report.png"
    proc = subprocess.run([*args, f"--screenshot={shot}", "--window-size=1200,1600", html_report.as_uri()],
                          capture_output=True, text=True, timeout=60, check=False)
    assert shot.exists() and shot.stat().st_size > 10_000  # something was painted
