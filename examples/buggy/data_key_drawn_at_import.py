"""Bug: an encryption key drawn when the module is imported, for data sealed in one step and
opened in a later one.

Every Lambda sandbox imports the module afresh and draws a key of its own. Card data sealed
by one sandbox's key before an hour's wait cannot be opened by the next sandbox, whose key
differs: every attempt of the step that opens it fails (``InvalidToken``), and the execution
fails. Warm re-invocations hide it: only a cold one shows it (Lambda starts one whenever it
likes, after a wait more often than not). The fix takes the key from the deployment (a
secret every sandbox reads), not from the import.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from async_durable_execution import durable_execution, step, wait
from cryptography.fernet import Fernet

DRAWN_KEY = Fernet(Fernet.generate_key())  # BUG: each sandbox draws its own
DEPLOYMENT_KEY = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"deployment-data-key").digest()))


async def _sealed_then_opened(key: Fernet, card: dict[str, str]) -> str:
    async def seal() -> str:
        return key.encrypt(json.dumps(card).encode()).decode()

    sealed = await step(seal, name="seal")
    await wait(3600, name="fraud-review")

    async def open_sealed() -> str:
        opened = json.loads(key.decrypt(sealed.encode(), ttl=6 * 3600))
        return f"{opened['brand']} ending {opened['number'][-4:]}"

    return await step(open_sealed, name="open")


@durable_execution
async def buggy(event: Any) -> str:
    return await _sealed_then_opened(DRAWN_KEY, event["card"])


@durable_execution
async def fixed(event: Any) -> str:
    return await _sealed_then_opened(DEPLOYMENT_KEY, event["card"])
