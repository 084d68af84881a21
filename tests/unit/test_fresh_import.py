"""A cold sandbox drops the handler's module and the listed packages, and nothing else."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from async_durable_execution_runner._sandbox.module_state import fresh_import

_HANDLER = textwrap.dedent(
    """
    from async_durable_execution import durable_execution

    @durable_execution
    async def handler(event):
        return event
    """
)


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """``coldpkg`` (with ``coldpkg.sub`` and ``coldpkg.sub.deep``), ``coldpkg_twin`` (a name
    that starts like the package but is not in it) and the handler's module ``coldhandler``."""
    (tmp_path / "coldpkg" / "sub").mkdir(parents=True)
    (tmp_path / "coldpkg" / "__init__.py").write_text("")
    (tmp_path / "coldpkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "coldpkg" / "sub" / "deep.py").write_text("")
    (tmp_path / "coldpkg_twin.py").write_text("")
    (tmp_path / "coldhandler.py").write_text(_HANDLER)
    monkeypatch.syspath_prepend(str(tmp_path))
    names = ("coldpkg", "coldpkg.sub", "coldpkg.sub.deep", "coldpkg_twin", "coldhandler")
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    loaded = {name: __import__(name, fromlist=["_"]) for name in names}
    yield loaded
    for name in names:
        sys.modules.pop(name, None)


def test_drops_the_handlers_module_and_the_prefixed_packages_only(
    modules: dict[str, object],
) -> None:
    handler = modules["coldhandler"].handler  # type: ignore[attr-defined]

    fresh = fresh_import(handler, ("coldpkg",))

    assert fresh is not handler
    assert fresh.__module__ == "coldhandler"
    assert sys.modules["coldhandler"] is not modules["coldhandler"]
    # The package and everything under it went; they are imported again only when asked for.
    for name in ("coldpkg", "coldpkg.sub", "coldpkg.sub.deep"):
        assert sys.modules.get(name) is not modules[name], name
    # A module whose name merely starts with the prefix is not in the package: kept.
    assert sys.modules["coldpkg_twin"] is modules["coldpkg_twin"]


def test_without_prefixes_only_the_handlers_module_is_dropped(
    modules: dict[str, object],
) -> None:
    handler = modules["coldhandler"].handler  # type: ignore[attr-defined]

    fresh_import(handler, ())

    assert sys.modules["coldhandler"] is not modules["coldhandler"]
    for name in ("coldpkg", "coldpkg.sub", "coldpkg.sub.deep", "coldpkg_twin"):
        assert sys.modules[name] is modules[name], name
