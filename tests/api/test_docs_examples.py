"""Every ```python block in docs/ (every page, in every folder) runs, and the tests it
defines pass.

How a document's blocks run (in document order, in one temporary directory per document,
with that directory and ``examples/`` importable):

- A block fenced ```python title="name.py"``` is a file the reader writes: it is saved as
  ``name.py``, so later blocks can import it (and the harness's cold sandboxes re-import it,
  as they would the reader's own module). A later block with the same title is the reader
  editing that file: the modules imported so far are forgotten, as a new pytest run would.
- Any other ```python block is saved as a module of its own and imported (which runs it).
- Then its tests run: every ``test_*`` function defined in it is called, and every ``Test*``
  ``unittest.TestCase`` (a state machine's ``.TestCase``) is run. A block whose tests take
  pytest fixtures (the plugin's ``durable_runner``, ``run_scenario``) runs under pytest, in
  a subprocess, as the reader would run it.
- ``raises="Name"`` in the fence means the block's tests are meant to fail (a tutorial
  showing a failing property): they must raise an exception of that class (or a subclass).

Hypothesis runs repeatably here (derandomized, no example database, no explain phase), so
that a page showing a failing property fails the same way every time.

A block that is not meant to run is fenced ```text or ```console.

Two more forms, for pages that build on others:

- A block whose lines are all ``--8<-- "PATH"`` (pymdownx.snippets, as the gallery pages use)
  shows a file of the repository verbatim on the site. It does not run here: its file is a
  module or test that the suite itself runs (the gallery's tests run from tests/examples/).
  The test checks that every such file exists under ``examples/`` or ``tests/``.
- ``<!-- docs-test: continues PATH -->`` on a page (PATH relative to docs/) means it goes on
  from another page: that page's files (its titled blocks, in their last version) are written
  first, as the reader who followed it has them.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import shlex
import subprocess
import sys
import unittest
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import Phase, settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

_OPEN = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_ATTR = re.compile(r'(\w+)="([^"]*)"')
#: Info strings that would hide Python from this test.
_PYTHON_ALIASES = {"py", "py3", "python3", "pycon", "ipython"}
_SNIPPET = re.compile(r'^--8<-- "(?P<path>[^"]+)"$')
_CONTINUES = re.compile(r"<!-- docs-test: continues (?P<path>\S+) -->")


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # 1-based line of the opening fence
    language: str
    attrs: dict[str, str]
    code: str

    @property
    def title(self) -> str | None:
        return self.attrs.get("title")

    @property
    def module_name(self) -> str:
        if self.title:
            return Path(self.title).stem
        stem = re.sub(r"\W", "_", str(self.doc.relative_to(DOCS).with_suffix("")))
        return f"docs_{stem}_line_{self.line}"

    @property
    def snippets(self) -> list[str]:
        """The files a snippet-only block shows (empty for any other block)."""
        lines = [line.strip() for line in self.code.splitlines() if line.strip()]
        found = [_SNIPPET.match(line) for line in lines]
        if not lines or not all(found):
            return []
        return [m["path"] for m in found if m]

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def fenced_blocks(doc: Path) -> list[Block]:
    """Every fenced block of a Markdown file (fences of three or more backticks or tildes)."""
    blocks: list[Block] = []
    lines = doc.read_text().splitlines()
    i = 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, info = len(match["indent"]), match["fence"], match["info"].strip()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                break
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        language = info.split()[0] if info else ""
        attrs = dict(_ATTR.findall(info))
        blocks.append(Block(doc, i + 1, language, attrs, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def _docs() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def _doc_id(doc: Path) -> str:
    return str(doc.relative_to(DOCS))


def _python_docs() -> list[Path]:
    return [d for d in _docs() if any(b.language == "python" for b in fenced_blocks(d))]


# --- running a document ------------------------------------------------------------------


Cases = list[type[unittest.TestCase]]


def _tests_of(module: ModuleType) -> tuple[list[Any], Cases]:
    functions, cases = [], []
    for name, obj in vars(module).items():
        if not name.lower().startswith("test"):
            continue
        if inspect.isfunction(obj) and obj.__module__ == module.__name__:
            functions.append(obj)
        elif isinstance(obj, type) and issubclass(obj, unittest.TestCase):
            cases.append(obj)
    return functions, cases


def _needs_pytest(functions: list[Any]) -> bool:
    return any(inspect.signature(fn).parameters for fn in functions)


def _run_in_process(block: Block, functions: list[Any], cases: Cases) -> None:
    for fn in functions:
        fn()
    for case in cases:
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(case)
        result = unittest.TestResult()
        suite.run(result)
        problems = [text for _, text in result.errors + result.failures]
        if problems:
            raise AssertionError(f"{block.where}: {case.__name__} failed:\n" + "\n".join(problems))


def _run_under_pytest(block: Block, path: Path, work: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(work), str(EXAMPLES), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
    done = subprocess.run(
        command, cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        msg = (
            f"{block.where}: `{shlex.join(command)}` exited {done.returncode}:\n"
            f"{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
        )
        raise AssertionError(msg)


def _expected_failure(block: Block) -> type[BaseException] | None:
    name = block.attrs.get("raises")
    if name is None:
        return None
    import builtins

    from async_durable_execution_runner import oracles

    found = getattr(builtins, name, None) or getattr(oracles, name, None)
    if not (isinstance(found, type) and issubclass(found, BaseException)):
        msg = f"{block.where}: raises={name!r} names no builtin exception or oracle failure"
        raise AssertionError(msg)
    return found


@pytest.fixture
def doc_modules() -> Iterator[list[str]]:
    """Names of the modules a document's blocks imported; forgotten afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        sys.modules.pop(name, None)


def _write_files_of_earlier_pages(doc: Path, work: Path) -> set[str]:
    written: set[str] = set()
    for match in _CONTINUES.finditer(doc.read_text()):
        earlier = DOCS / match["path"]
        assert earlier.is_file(), f"{doc}: continues {match['path']}, which does not exist"
        for block in fenced_blocks(earlier):
            if block.language == "python" and block.title and not block.snippets:
                (work / block.title).write_text(block.code)
                written.add(block.title)
    return written


def _check_snippets(block: Block) -> None:
    for name in block.snippets:
        path = (ROOT / name).resolve()
        assert path.is_file(), f"{block.where}: shows {name}, which does not exist"
        assert path.is_relative_to(EXAMPLES) or path.is_relative_to(ROOT / "tests"), (
            f"{block.where}: shows {name}; only files the suite runs (examples/, tests/) may be "
            "shown instead of run"
        )


def run_document(doc: Path, work: Path, imported: list[str]) -> int:
    blocks = [b for b in fenced_blocks(doc) if b.language == "python"]
    # A file the earlier page wrote and this one rewrites is an edit, as below.
    written = _write_files_of_earlier_pages(doc, work)
    imported.extend(Path(title).stem for title in written)  # forgotten with this page's
    ran = 0
    for block in blocks:
        if block.snippets:
            _check_snippets(block)
            ran += 1
            continue
        path = work / (block.title or f"{block.module_name}.py")
        if block.title in written:
            # The reader edits a file they wrote earlier: whatever imported the old version is
            # imported afresh from now on, as a new pytest run would.
            for name in imported:
                sys.modules.pop(name, None)
        path.write_text(block.code)
        written.add(block.title or "")
        importlib.invalidate_caches()
        imported.append(block.module_name)
        try:
            module = importlib.import_module(block.module_name)
        except BaseException as error:
            error.add_note(f"raised by the block at {block.where}")
            raise
        functions, cases = _tests_of(module)
        expected = _expected_failure(block)
        try:
            if expected is not None:
                assert functions or cases, f"{block.where}: raises= on a block without tests"
                with pytest.raises(expected):
                    _run_in_process(block, functions, cases)
            elif _needs_pytest(functions):
                _run_under_pytest(block, path, work)
            else:
                _run_in_process(block, functions, cases)
        except BaseException as error:
            error.add_note(f"raised by the tests of the block at {block.where}")
            raise
        ran += 1
    return ran


@pytest.fixture
def repeatable_hypothesis() -> Iterator[None]:
    """The current profile, made repeatable and quick: the same examples on every run, no
    example database, no explain phase. The docs' own ``@settings`` still apply on top."""
    previous = settings.get_current_profile_name()
    settings.register_profile(
        "docs-examples",
        parent=settings.get_profile(previous),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )
    settings.load_profile("docs-examples")
    try:
        yield
    finally:
        settings.load_profile(previous)


@pytest.mark.parametrize("doc", _python_docs(), ids=_doc_id)
@pytest.mark.usefixtures("repeatable_hypothesis")
def test_python_blocks_of_the_document_run(
    doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doc_modules: list[str]
) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.syspath_prepend(str(tmp_path))
    # A block may rewrite a file within the same second: never import a stale .pyc.
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert run_document(doc, tmp_path, doc_modules) > 0


def _nav_pages(entry: object) -> list[str]:
    if isinstance(entry, str):
        return [entry]
    if isinstance(entry, dict):
        return [page for value in entry.values() for page in _nav_pages(value)]
    if isinstance(entry, list):
        return [page for item in entry for page in _nav_pages(item)]
    return []


def test_every_page_is_in_the_site_navigation() -> None:
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = _nav_pages(config["nav"])
    pages = {_doc_id(doc) for doc in _docs()}
    assert sorted(pages - set(nav)) == [], "pages missing from mkdocs.yml's nav"
    assert sorted(set(nav) - pages) == [], "nav entries without a page"
    for section in ("Tutorials", "How-to guides", "Explanation", "Gallery", "Reference"):
        assert any(isinstance(e, dict) and section in e for e in config["nav"]), section


@pytest.mark.parametrize("doc", _docs(), ids=_doc_id)
def test_no_python_hides_behind_another_fence(doc: Path) -> None:
    hidden = [b.where for b in fenced_blocks(doc) if b.language.lower() in _PYTHON_ALIASES]
    assert not hidden, (
        f"fence these as ```python (they run) or ```text (they do not): {', '.join(hidden)}"
    )


def test_block_extraction(tmp_path: Path) -> None:
    doc = DOCS / "index.md"
    fake = Block(doc, 3, "python", {"title": "m.py", "raises": "AssertionError"}, "x = 1\n")
    assert fake.module_name == "m"
    assert Block(doc, 7, "python", {}, "").module_name == "docs_index_line_7"
    nested = Block(DOCS / "how-to" / "faults.md", 9, "python", {}, "")
    assert nested.module_name == "docs_how_to_faults_line_9"
    shown = Block(doc, 1, "python", {}, '--8<-- "examples/gallery/trip.py"\n')
    assert shown.snippets == ["examples/gallery/trip.py"]
    assert Block(doc, 1, "python", {}, '--8<-- "a.py"\nx = 1\n').snippets == []
    sample = (
        '# t\n```python title="a.py"\nx = 1\n```\n\n````text\n```python\nnot run\n```\n````\n'
        "   ```python\n   y = 2\n   ```\n"
    )
    path = tmp_path / "sample.md"
    path.write_text(sample)
    found = fenced_blocks(path)
    assert [(b.language, b.title, b.code) for b in found] == [
        ("python", "a.py", "x = 1\n"),
        ("text", None, "```python\nnot run\n```\n"),
        ("python", None, "y = 2\n"),
    ]
