"""The partner a generated program's step bodies report to, through AWS's API.

Real step bodies call AWS, synchronously, through boto3. So does each generated step body
once (``record``): a ``PutItem`` through a real botocore client, answered in memory by
botocore's own ``before-call`` event, as its ``Stubber`` answers (no network, no
credentials). That gives the faults at a body's AWS calls (``aws_call_crash``,
``aws_call_timeout``) a call to land at in every program. The write is keyed by what it
records, so a re-run of the body writes the same item again: the program's result never
depends on it.
"""

from __future__ import annotations

import threading
from typing import Any

_made: list[Any] = []
_making = threading.Lock()


def record(key: str) -> None:
    """Write ``key`` to the partner's table (one AWS call)."""
    client = _made[0] if _made else _client()
    client.put_item(TableName="program-partner", Item={"pk": {"S": key}})


def _client() -> Any:
    with _making:
        if not _made:
            import botocore.session
            from botocore.awsrequest import AWSResponse

            client = botocore.session.get_session().create_client(
                "dynamodb",
                region_name="us-east-1",
                aws_access_key_id="program",
                aws_secret_access_key="program",
            )

            def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
                answered: dict[str, Any] = {"ResponseMetadata": {"HTTPStatusCode": 200}}
                return AWSResponse(None, 200, {}, None), answered

            client.meta.events.register("before-call.dynamodb.PutItem", answer)
            _made.append(client)
    return _made[0]
