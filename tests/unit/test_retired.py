"""Which retired sandboxes wait for a burial (``_sandbox/retired.py``): only those whose
module state holds something that may say it was never closed; a burial costs two full
collections, and most handlers' modules hold data and configuration only."""

from __future__ import annotations

import socket
import tempfile
from typing import Any

from async_durable_execution_runner._sandbox.retired import holds_resources


class _Pool:
    def __init__(self, item: Any) -> None:
        self.slots = [{"item": item}]


def test_data_and_configuration_are_no_resource() -> None:
    state = {"CONFIG": {"region": "eu-west-1", "retries": [1, 2, 3]}, "CACHE": {}, "N": 3}
    assert not holds_resources(state)


def test_a_socket_deep_in_a_client_is_one() -> None:
    with socket.socket() as sock:
        assert holds_resources({"CLIENT": _Pool(_Pool(sock))})


def test_an_object_with_a_finaliser_is_one() -> None:
    with tempfile.TemporaryFile() as file:
        assert holds_resources({"LOG": _Pool(file)})

    class Session:
        def __del__(self) -> None:
            pass

    assert holds_resources({"SESSION": Session()})


def test_module_dunders_and_shared_code_are_not_searched() -> None:
    # The module's own attributes (its loader, its builtins) and functions, classes and
    # modules it binds are shared code, not its state.
    assert not holds_resources({"__builtins__": __builtins__, "socket": socket, "f": print})
