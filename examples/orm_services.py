"""The world of ``orm.py``: a directory of sqlite databases replaced per run, and a clerk who
edits an order while a step of the handler holds it.

It lives in a module of its own because the database outlives the Lambda sandbox. The
directory is the world: ``reset`` makes a new one (the last run's removed), so an engine a
sandbox made for the last run's database is never handed this run's.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import sqlite3
import tempfile
from pathlib import Path

ROOT = Path(tempfile.mkdtemp(prefix="durable-orm-"))


@atexit.register
def _remove_the_last_world() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)


#: Orders the clerk has edited (each once, while the handler's step held it).
EDITED: list[str] = []


def reset() -> None:
    """An empty world: a new directory, the last run's removed."""
    global ROOT  # the directory is the world, replaced per run
    old, ROOT = ROOT, Path(tempfile.mkdtemp(prefix="durable-orm-"))
    shutil.rmtree(old, ignore_errors=True)
    EDITED.clear()


def database(name: str) -> Path:
    return ROOT / name


def url(name: str, *, driver: str = "sqlite") -> str:
    """The SQLAlchemy URL of this world's database ``name``."""
    return f"{driver}:///{database(name)}"


def clerk_edits(name: str, order: str) -> bool:
    """The first time it is asked about ``order``, a clerk changes its note from another
    connection (bumping the row's version, as the ORM would); whether they did."""
    if order in EDITED:
        return False
    EDITED.append(order)
    # (The connection's ``with`` commits; ``closing`` closes it, which the ``with`` does not.)
    with contextlib.closing(sqlite3.connect(database(name), timeout=5)) as conn, conn:
        conn.execute(
            "UPDATE orders SET note = 'edited by the desk', version = version + 1 WHERE id = ?",
            (order,),
        )
    return True
