"""Bug: an upload that a dead sandbox left half done is taken for somebody else's.

The step's body looks for the document's manifest (there: the upload is done, and the
manifest is the answer), then uploads the pages at once with a ``ThreadPoolExecutor``
(``pool.map``: synchronous Lambda code parallelises its boto3 calls so), each with a
conditional ``PutItem``, and writes the manifest. A page already there is taken for one of
another upload of the same document under way: the body refuses to overwrite it, and the
document is REFUSED. But the page may be its own: a sandbox that died between two of the
pool's calls left some pages written, and the attempt, run again, refuses its own upload.
The pool's calls are made on the pool's threads, and the body never waits between them: a
crash at a checkpoint call comes before the upload or after the manifest, and one at a wait
of the body (``body_crash``) has no wait to land at. Only ``aws_call_crash``, which counts
the calls the pool makes for the body, reaches it. The fix writes the uploader into every
page (the upload's id, from the input) and takes a page of its own upload for its own.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fake_dynamodb
from async_durable_execution import durable_callable, durable_execution, step
from botocore.exceptions import ClientError
from fake_dynamodb import reset

__all__ = ["buggy", "fixed", "reset"]

TABLE = fake_dynamodb.client()


def _page_key(document: str, number: int) -> dict[str, Any]:
    return {"pk": {"S": f"{document}#page-{number}"}}


def _upload(upload: dict[str, Any], pages_name_their_upload: bool) -> dict[str, Any]:
    document, upload_id, pages = upload["document"], upload["id"], upload["pages"]
    done = TABLE.get_item(TableName="manifests", Key={"pk": {"S": document}}).get("Item")
    if done is not None:
        return {"document": document, "status": "UPLOADED", "pages": int(done["pages"]["N"])}

    def put_page(numbered: tuple[int, str]) -> bool:
        number, text = numbered
        key = _page_key(document, number)
        try:
            TABLE.put_item(
                TableName="pages",
                Item={**key, "text": {"S": text}, "upload": {"S": upload_id}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            if not pages_name_their_upload:
                return False  # BUG: a dead sandbox of this very upload may have written it
            page = TABLE.get_item(TableName="pages", Key=key)["Item"]
            return bool(page["upload"]["S"] == upload_id)
        return True

    with ThreadPoolExecutor(max_workers=2) as pool:
        written = list(pool.map(put_page, enumerate(pages)))
    if not all(written):
        return {"document": document, "status": "REFUSED", "pages": 0}
    TABLE.put_item(
        TableName="manifests",
        Item={"pk": {"S": document}, "pages": {"N": str(len(pages))}},
    )
    return {"document": document, "status": "UPLOADED", "pages": len(pages)}


@durable_callable
async def upload_pages(upload: dict[str, Any], pages_name_their_upload: bool) -> dict[str, Any]:
    # Blocks the loop's thread while the pool uploads, as synchronous Lambda code does.
    return _upload(upload, pages_name_their_upload)


@durable_execution
async def buggy(upload: dict[str, Any]) -> dict[str, Any]:
    return await step(upload_pages(upload, False), name="upload")


@durable_execution
async def fixed(upload: dict[str, Any]) -> dict[str, Any]:
    return await step(upload_pages(upload, True), name="upload")
