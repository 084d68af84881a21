"""The replay gate as a pytest option: ``pytest --durable-replay=DIR`` replays every corpus
file under ``DIR`` against today's handler, one test per file.

Loaded by the package's pytest plugin; nothing happens unless the option is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from async_durable_execution_runner._replay.corpus import corpus_files, replay_file
from async_durable_execution_runner._replay.gate import ReplayDivergenceError
from async_durable_execution_runner._replay.state import HistoryFormatError


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("durable-replay", "durable execution replay gate")
    group.addoption(
        "--durable-replay",
        action="append",
        default=[],
        metavar="DIR",
        help="replay every recorded history / saved scenario (*.json) under DIR against "
        "today's handler, one test per file (repeatable)",
    )
    group.addoption(
        "--durable-replay-handler",
        default=None,
        metavar="MODULE:HANDLER",
        help="handler for corpus files that name none (bare GetDurableExecutionHistory exports)",
    )


class ReplayCorpusCollector(pytest.Collector):
    """All the corpus files of one ``--durable-replay`` directory."""

    def __init__(self, *, directory: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.directory = directory

    def collect(self) -> Iterator[pytest.Item]:
        for path in corpus_files(self.directory):
            name = str(path.relative_to(self.directory))
            yield ReplayItem.from_parent(self, name=name, path=path)


class ReplayItem(pytest.Item):
    """One corpus file: passes when today's handler makes the decisions it recorded."""

    def __init__(self, *, path: Path, **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)

    def runtest(self) -> None:
        fallback = self.config.getoption("durable_replay_handler")
        report = replay_file(self.path, default_handler=fallback)
        self.user_properties.append(("replay", str(report)))

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        if isinstance(excinfo.value, ReplayDivergenceError | HistoryFormatError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"replay {self.name}"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    for directory in config.getoption("durable_replay"):
        root = Path(directory).resolve()
        try:
            files = corpus_files(root)
        except HistoryFormatError as exc:
            raise pytest.UsageError(str(exc)) from exc
        if not files:
            msg = f"--durable-replay {directory}: no corpus files (*.json) in it"
            raise pytest.UsageError(msg)
        collector = ReplayCorpusCollector.from_parent(
            session, name=f"durable-replay[{directory}]", directory=root
        )
        items.extend(collector.collect())
