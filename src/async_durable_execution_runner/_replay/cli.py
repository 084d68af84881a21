"""``python -m async_durable_execution_runner replay PATH...``: the replay gate on the command
line, for a deploy pipeline (exit status 0 when every history replays clean, 1 otherwise)."""

from __future__ import annotations

import argparse
from pathlib import Path

from async_durable_execution_runner._replay.corpus import corpus_files, replay_file
from async_durable_execution_runner._replay.state import HistoryFormatError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = sub.add_parser(
        "replay",
        help="replay recorded histories against today's handlers (the replay gate)",
        description="Replay each corpus file (or every *.json under a directory) against the "
        "handler it names, and report the first divergence of each.",
    )
    replay.add_argument("paths", nargs="+", help="corpus files or directories")
    replay.add_argument(
        "--handler",
        help="MODULE:HANDLER or FILE.py:HANDLER for files that name none (bare AWS exports)",
    )
    replay.add_argument(
        "--timeout", type=float, default=30.0, help="wall-clock seconds per invocation"
    )


def run(args: argparse.Namespace) -> int:
    files: list[Path] = []
    for raw in args.paths:
        path = Path(raw)
        files.extend(corpus_files(path) if path.is_dir() else [path])
    if not files:
        print("replay: no corpus files (*.json) found")
        return 1
    failed = 0
    for path in files:
        try:
            report = replay_file(
                path,
                default_handler=args.handler,
                timeout=args.timeout,
                raise_on_divergence=False,
            )
        except HistoryFormatError as exc:
            failed += 1
            print(f"ERROR  {path}: {exc}")
            continue
        if report.ok:
            print(f"ok     {report}")
        else:
            failed += 1
            print(f"FAILED {report}")
    print(f"{len(files) - failed} of {len(files)} replayed clean")
    return 1 if failed else 0
