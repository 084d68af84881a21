"""Many clients, one server, one SQLite file: concurrent executions and competing callbacks
lose no update, in memory or in the file, and every history is well formed; a second server
process on the same file is refused."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from tests.server import handlers as h
from tests.server.test_store_restart import ROOT, processes, serve  # noqa: F401 (a fixture)

from async_durable_execution_runner import DurableFunctionTestRunner, DurableServiceServer, Event
from async_durable_execution_runner._harness.oracles.builtin import check_history_events
from async_durable_execution_runner._service.persistence import execution_document
from async_durable_execution_runner._store import SqliteStore

EXECUTIONS = 16
CLIENTS = 8
FUNCTIONS = {"pricing": h.pricing}


def lambda_client(url: str) -> Any:
    return boto3.session.Session().client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 0}),
    )


def test_concurrent_clients_lose_no_update(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    outcomes: dict[str, str] = {}
    errors: list[str] = []
    with (
        DurableFunctionTestRunner(
            h.workflow, function_name="workflow", functions=FUNCTIONS, store=store
        ) as runner,
        DurableServiceServer(runner, drive=True) as server,
    ):
        work: queue.SimpleQueue[int] = queue.SimpleQueue()
        for n in range(EXECUTIONS):
            work.put(n)

        def one_execution(client: Any, rival: Any, n: int) -> None:
            payload = json.dumps({"id": n, "quantity": 1 + n % 3}).encode()
            started = client.invoke(
                FunctionName="workflow",
                InvocationType="Event",
                DurableExecutionName=f"stress-{n}",
                Payload=payload,
            )
            # Read: an unread stream holds its connection out of the pool, where closing the
            # client does not reach it, and its socket warned "unclosed" in whichever later
            # test the collector freed it (a clean-clone CI run in session 30).
            started["Payload"].read()
            arn = started["DurableExecutionArn"]

            def callback_id() -> str | None:
                ids = runner.executor.callback_ids(arn)
                return next(iter(ids), None)

            assert server.wait_until(lambda: callback_id() is not None, timeout=120), arn
            with runner.lock:
                cid = callback_id()
            assert cid is not None
            # Two clients answer the same callback at once: exactly one answer counts.
            start = threading.Barrier(2)
            answers: dict[str, str] = {}

            def answer(who: str, call: Any) -> None:
                start.wait()
                try:
                    call()
                    answers[who] = "accepted"
                except ClientError as error:
                    answers[who] = str(error.response["Error"]["Code"])

            rival_thread = threading.Thread(
                target=answer,
                args=(
                    "failure",
                    lambda: rival.send_durable_execution_callback_failure(
                        CallbackId=cid, Error={"ErrorType": "Refused", "ErrorMessage": "no"}
                    ),
                ),
            )
            rival_thread.start()
            answer(
                "success",
                lambda: client.send_durable_execution_callback_success(
                    CallbackId=cid, Result=b'{"approved": true}'
                ),
            )
            rival_thread.join()
            assert sorted(answers.values()) == ["CallbackTimeoutException", "accepted"], answers
            winner = "success" if answers["success"] == "accepted" else "failure"
            with runner.lock:
                server.wait_for_end(arn)
            status = client.get_durable_execution(DurableExecutionArn=arn)["Status"]
            assert status == ("SUCCEEDED" if winner == "success" else "FAILED"), (winner, status)
            outcomes[arn] = winner

        def client_loop() -> None:
            client, rival = lambda_client(server.url), lambda_client(server.url)
            try:
                while True:
                    try:
                        n = work.get_nowait()
                    except queue.Empty:
                        return
                    try:
                        one_execution(client, rival, n)
                    except Exception as error:  # reported below with the execution
                        errors.append(f"execution {n}: {type(error).__name__}: {error}")
            finally:
                client.close()
                rival.close()

        threads = [threading.Thread(target=client_loop) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with runner.lock:
            executions = list(runner.executor.executions.values())
            in_memory = [json.loads(json.dumps(execution_document(e))) for e in executions]
            for execution in executions:
                invocations = len(execution.invocations)
                check_history_events(list(execution.events), invocations, True, execution.arn)
                assert not execution.is_open
    store.close()
    assert len(outcomes) == EXECUTIONS
    # Every execution and its chained pricing execution, in the file exactly as in memory.
    stored = SqliteStore(tmp_path / "store.db")
    documents = stored.load()
    stored.close()
    assert len(documents) == len(in_memory) >= EXECUTIONS
    assert sorted(documents, key=lambda d: d["arn"]) == sorted(in_memory, key=lambda d: d["arn"])
    for document in documents:
        events = [Event.from_dict(e) for e in document["events"]]
        assert [e.event_id for e in events] == list(range(1, len(events) + 1))


def test_a_second_server_on_the_same_file_is_refused(
    tmp_path: Path,
    processes: list[Any],  # noqa: F811
) -> None:
    db = tmp_path / "store.db"
    first, _ = serve(db, "approval=tests.server.handlers:approval")
    processes.append(first)
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "async_durable_execution_runner",
            "serve",
            "approval=tests.server.handlers:approval",
            "--store",
            str(db),
            "--port",
            "0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert second.returncode == 2
    assert "in use by another process" in second.stderr
    assert "Traceback" not in second.stderr
