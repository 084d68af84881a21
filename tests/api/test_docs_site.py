"""The documentation site builds with ``mkdocs build --strict`` (broken links, pages left out
of the navigation, missing snippet files and docstring problems all fail it), offline, and
what it builds is whole: every page, the API reference rendered from the public modules'
docstrings, the gallery showing the files the suite runs, and nothing fetched from a CDN."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # material's banner, not a warning of ours
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, (
        f"`{' '.join(command)}` exited {done.returncode} (is the dev extra installed? it "
        f"brings mkdocs, mkdocs-material and mkdocstrings):\n{done.stdout}\n{done.stderr}"
    )
    return out


def test_every_page_is_built(site: Path) -> None:
    docs = ROOT / "docs"
    for doc in docs.rglob("*.md"):
        relative = doc.relative_to(docs)
        name = "index.html" if relative.stem == "index" else f"{relative.stem}/index.html"
        assert (site / relative.parent / name).is_file(), f"{doc} was not built"


def test_the_reference_is_rendered_from_docstrings(site: Path) -> None:
    scenarios = (site / "reference" / "scenarios" / "index.html").read_text()
    # Scenario.crash_points' docstring, rendered under its signature.
    assert "crash_points" in scenarios
    assert "Run this scenario once per crash point and judge each run" in scenarios
    strategies = (site / "reference" / "strategies" / "index.html").read_text()
    assert "durable_scenarios" in strategies and "fault_plans" in strategies


def test_the_gallery_shows_the_files_the_suite_runs(site: Path) -> None:
    page = (site / "gallery" / "checkout" / "index.html").read_text()
    text = re.sub(r"<[^>]+>", "", page)
    assert "async def checkout(order: dict[str, Any])" in text.replace("&quot;", '"')
    assert "def test_checkout_takes_the_money_once_and_only_when_it_may" in text
    assert "--8&lt;--" not in page  # every snippet was resolved


def test_nothing_is_fetched_from_elsewhere(site: Path) -> None:
    external = re.compile(r"""<(?:script|link)\b[^>]*(?:src|href)=["']https?://""", re.I)
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert not external.search(text), f"{page} loads something from the network"
        assert "fonts.googleapis.com" not in text and "fonts.gstatic.com" not in text, page


def test_the_readme_points_only_at_docs_that_exist() -> None:
    text = README.read_text()
    named = set(re.findall(r"\bdocs/[\w/.-]+\.md\b", text))
    assert "docs/index.md" in named
    linked = {
        target.split("#")[0]
        for target in re.findall(r"\]\(([^)\s]+)\)", text)
        if not re.match(r"[a-z]+:", target) and not target.startswith("#")
    }
    missing = sorted(p for p in named | linked if not (ROOT / p).exists())
    assert missing == [], f"README.md points at files that do not exist: {missing}"
