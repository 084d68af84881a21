"""The command line shows the history table, writes the timeline, and runs the replay gate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from async_durable_execution_runner.cli import main

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "replay" / "corpus"


def test_run_prints_the_table_and_writes_the_timeline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "seed.html"
    code = main(
        [
            "run",
            str(ROOT / "examples" / "seed.py") + ":function_under_test",
            "--input",
            '"input str"',
            "--html",
            str(page),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "-- invocation 2 (ran 0s, returned)" in out
    assert "      step three-four" in out  # nested inside the child context
    assert f"timeline: {page}" in out
    assert 'aria-label="execution timeline"' in page.read_text()


def test_replay_passes_a_clean_corpus_and_fails_a_divergent_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(CORPUS / "shipping.json", tmp_path / "shipping.json")
    assert main(["replay", str(tmp_path)]) == 0
    assert "1 of 1 replayed clean" in capsys.readouterr().out
    broken = json.loads((CORPUS / "shipping.json").read_text())
    broken["handler"] = "tests.replay.handlers:changed_reordered_wait"
    (tmp_path / "reordered.json").write_text(json.dumps(broken))
    assert main(["replay", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED replay of" in out and "event #4 ContextStarted 'pack'" in out
    assert "1 of 2 replayed clean" in out


def test_replay_of_a_bare_export_needs_a_handler(capsys: pytest.CaptureFixture[str]) -> None:
    export = str(CORPUS / "shipping_cli_export.json")
    assert main(["replay", export]) == 1
    assert "no handler to replay against" in capsys.readouterr().out
    assert main(["replay", export, "--handler", "tests.replay.handlers:shipping"]) == 0
