"""``pytest --durable-replay=DIR``: one test per corpus file, in a real pytest run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _handlers_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))


def test_each_corpus_file_is_one_test(pytester: pytest.Pytester) -> None:
    corpus = pytester.path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "shipping.json", corpus / "shipping.json")
    shutil.copy(CORPUS / "shipping_cli_export.json", corpus / "export.json")
    broken = json.loads((CORPUS / "shipping.json").read_text())
    broken["handler"] = "tests.replay.handlers:changed_renamed_step"
    (corpus / "renamed.json").write_text(json.dumps(broken))
    result = pytester.runpytest_subprocess(
        f"--durable-replay={corpus}",
        "--durable-replay-handler=tests.replay.handlers:shipping",  # for the bare export
        "-v",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*export.json PASSED*",
            "*renamed.json FAILED*",
            "*shipping.json PASSED*",
            "*replay diverged at event #20 StepStarted 'label' (invocation 3)*",
            "*handler: asked for STEP 'print-label' in its place*",
            "*at *handlers.py:* in changed_renamed_step*",
        ]
    )


def test_an_empty_corpus_directory_is_a_usage_error(pytester: pytest.Pytester) -> None:
    (pytester.path / "empty").mkdir()
    result = pytester.runpytest(f"--durable-replay={pytester.path / 'empty'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
