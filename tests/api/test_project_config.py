"""The contributor set-up the README promises: hatch environments (``hatch test``, ``hatch run
lint:all``, ``types:check``, ``docs:check``) that run what CI runs. CI itself uses plain venv
and pip, so this reads the configuration rather than running hatch."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _config() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _envs() -> dict[str, dict[str, object]]:
    envs: dict[str, dict[str, object]] = _config()["tool"]["hatch"]["envs"]
    return envs


def test_hatch_environments_exist_for_tests_lint_types_and_docs() -> None:
    envs = _envs()
    assert {"hatch-test", "lint", "types", "docs"} <= set(envs)
    for name in ("hatch-test", "lint", "types", "docs"):
        assert envs[name].get("features") == ["dev"], name
    # ``hatch test`` runs what ``pytest`` (and so CI) runs: the configured test paths.
    testpaths = _config()["tool"]["pytest"]["ini_options"]["testpaths"]
    assert envs["hatch-test"]["default-args"] == testpaths
    scripts = envs["lint"]["scripts"]
    assert isinstance(scripts, dict)
    assert scripts["all"] == ["style", "format", "typing"]
    assert set(scripts["all"]) <= set(scripts)
    assert "check" in envs["types"]["scripts"]  # type: ignore[operator]
    assert "check" in envs["docs"]["scripts"]  # type: ignore[operator]


def test_lint_checks_what_ci_checks() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    scripts = _envs()["lint"]["scripts"]
    assert isinstance(scripts, dict)
    targets = "src tests examples benchmarks strategies"
    assert f"ruff check {targets}" in ci
    assert targets in str(scripts["style"])
    assert "mypy" in ci
    assert scripts["typing"] == "mypy"
