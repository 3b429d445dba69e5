"""`vihat-connector upload-voice FILE.mp3`: upload a recording, print the templateId for VoiceFile."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from connector.config import load_settings
from connector.errors import ValidationError
from connector.records import ResultStatus
from connector.rest.configured import rest_client

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # seed: "Max file length is 5MB"


def validate_upload(file_name: str, size: int) -> None:
    if not file_name.lower().endswith(".mp3"):
        raise ValidationError("file", "must be an .mp3 recording")
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError("file", f"is {size} bytes, at most {MAX_UPLOAD_BYTES} (5 MB) allowed")
    if size == 0:
        raise ValidationError("file", "is empty")


def upload_voice(path: Path, config: Path | None) -> int:
    settings = load_settings(config)
    if not path.is_file():
        print(f"error: {path} is not a file", file=sys.stderr)
        return 2
    content = path.read_bytes()
    try:
        validate_upload(path.name, len(content))
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def upload() -> int:
        client = rest_client(settings)
        try:
            outcome = await client.upload(path.name, content, time.monotonic() + settings.rest.request_timeout)
        finally:
            await client.close()
        if outcome.status is ResultStatus.ACCEPTED and outcome.message_id:
            print(outcome.message_id)
            return 0
        message = outcome.response.get("err_message") or outcome.meaning.description
        print(f"error: upload refused with {outcome.code or outcome.meaning.name}: {message}", file=sys.stderr)
        return 1

    return asyncio.run(upload())
