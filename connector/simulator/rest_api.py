"""ViHAT REST API simulator: the seed's request and response shapes on the connector's default paths,
credentials (101), blocked accounts, a balance spent per message and per SMS part, invalid
destinations, idempotent replay of a repeated request id, injectable failures, and the status
callbacks (SMS, Viber DELIVERED then SEEN) and two-way replies posted to configured URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from connector.httpserver import UvicornServer
from connector.simulator.accounts import DEMO_API_KEY, DEMO_SECRET_KEY
from connector.simulator.outcomes import OutcomePicker
from connector.smpp.encoding import encode_text

log = logging.getLogger(__name__)

VIETNAM_ZONE = timezone(timedelta(hours=7))


@dataclass
class RestSimulatorSettings:
    host: str = "127.0.0.1"
    port: int = 0
    accounts: dict[str, str] = field(default_factory=lambda: {DEMO_API_KEY: DEMO_SECRET_KEY})
    blocked: set[str] = field(default_factory=set)
    balance: float = 1_000_000.0  # per account; one unit per SMS part, per voice call, per chat message
    invalid_prefixes: tuple[str, ...] = ("999",)
    sms_path: str = "/v1/sms/send"
    voice_path: str = "/v1/voice/call"
    upload_path: str = "/v1/voice/upload"
    chat_path: str = "/v1/chatapps/send"
    sms_callback_url: str | None = None
    chat_callback_url: str | None = None
    reply_callback_url: str | None = None  # unset: replies go to chat_callback_url, the sender's one URL
    # The seed's chat-app table says apiKey/secretKey, its sample api_key/secret_key: both are taken.
    chat_credentials: tuple[tuple[str, str], ...] = (("api_key", "secret_key"), ("apiKey", "secretKey"))
    callback_delay: float = 0.2
    callback_retry_delay: float = 0.5
    callback_attempts: int = 60
    seen_ratio: float = 0.5  # Viber messages that get SEEN after DELIVERED
    outcomes: OutcomePicker = field(default_factory=OutcomePicker)


@dataclass
class Failure:
    kind: str  # "status" (HTTP error), "delay" (answer late), "drop" (close mid-response)
    status: int = 503
    seconds: float = 0.0
    retry_after: str | None = None  # the Retry-After header of a "status" failure


@dataclass
class RestStats:
    calls: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)  # messages really sent, per API
    replayed: int = 0  # repeated request ids answered from the first response
    injected: int = 0
    callbacks_posted: int = 0
    callbacks_failed_attempts: int = 0
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # bodies, credentials removed


class _DropConnection(Exception):
    """Raised after the response started: the server closes the connection mid-answer."""


class RestSimulator:
    def __init__(self, settings: RestSimulatorSettings | None = None) -> None:
        self.settings = settings or RestSimulatorSettings()
        self.stats = RestStats()
        self.balances = {key: self.settings.balance for key in self.settings.accounts}
        self.failures: list[Failure] = []
        self._answers: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._processing: set[tuple[str, str, str]] = set()
        self._template_ids = itertools.count(1)
        self._server: UvicornServer | None = None
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = self.settings.port
        s = self.settings
        self.app = Starlette(
            routes=[
                Route(s.sms_path, self._sms, methods=["POST"]),
                Route(s.voice_path, self._voice, methods=["POST"]),
                Route(s.upload_path, self._upload, methods=["POST"]),
                Route(s.chat_path, self._chat, methods=["POST"]),
            ]
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=5.0)
        self._server = UvicornServer(self._asgi, self.settings.host, self.settings.port)
        await self._server.start()
        self.port = self._server.port

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            await self._server.stop()
        if self._client is not None:
            await self._client.aclose()

    def inject(
        self, kind: str, count: int = 1, *, status: int = 503, seconds: float = 0.0, retry_after: str | None = None
    ) -> None:
        """The next `count` calls fail this way (after the message was processed, for delay and drop)."""
        self.failures.extend(Failure(kind, status, seconds, retry_after) for _ in range(count))

    # ---- ASGI wrapper: failure injection -------------------------------------------------------

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.failures:
            await self.app(scope, receive, send)
            return
        failure = self.failures.pop(0)
        self.stats.injected += 1
        if failure.kind == "status":
            headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else None
            await Response("injected failure", status_code=failure.status, headers=headers)(scope, receive, send)
            return
        captured: list[dict[str, Any]] = []

        async def capture(message: Any) -> None:
            captured.append(message)

        await self.app(scope, receive, capture)  # the provider did the work; only the answer is lost or late
        if failure.kind == "delay":
            await asyncio.sleep(failure.seconds)
            for message in captured:
                await send(message)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
        await send({"type": "http.response.body", "body": b'{"partial', "more_body": True})
        raise _DropConnection("injected dropped connection")

    # ---- the APIs ------------------------------------------------------------------------------

    async def _body(self, request: Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _account(self, body: dict[str, Any], *fields: tuple[str, str]) -> str | None:
        """The account whose credentials the body carries under any of the accepted spellings."""
        for key_field, secret_field in fields:
            key = str(body.get(key_field, ""))
            if key and self.settings.accounts.get(key) == str(body.get(secret_field, "")):
                return key
        return None

    def _record(self, api: str, body: dict[str, Any]) -> None:
        self.stats.calls[api] += 1
        self.stats.requests.append({k: v for k, v in body.items() if "key" not in k.lower()} | {"_api": api})

    async def _idempotent(
        self, api: str, key: str, body: dict[str, Any], processing_code: dict[str, Any], work: Any
    ) -> JSONResponse:
        request_id = str(body.get("RequestId") or body.get("request_id") or uuid.uuid4())
        slot = (api, key, request_id)
        if slot in self._answers:
            self.stats.replayed += 1
            return JSONResponse(self._answers[slot])
        if slot in self._processing:
            return JSONResponse(processing_code)
        self._processing.add(slot)
        try:
            answer: dict[str, Any] = work()
        finally:
            self._processing.discard(slot)
        self._answers[slot] = answer
        return JSONResponse(answer)

    async def _sms(self, request: Request) -> JSONResponse:
        body = await self._body(request)
        if body is None:
            return JSONResponse({"CodeResult": "99", "ErrorMessage": "invalid JSON"}, status_code=400)
        self._record("sms", body)
        key = self._account(body, ("apiKey", "secretKey"))
        if key is None:
            return JSONResponse({"CodeResult": "101", "ErrorMessage": "Unauthorize"})
        if key in self.settings.blocked:
            return JSONResponse({"CodeResult": "102", "ErrorMessage": "Account is blocked"})

        def work() -> dict[str, Any]:
            phone, content = str(body.get("phone", "")), str(body.get("content", ""))
            if not phone.isdigit() or phone.startswith(self.settings.invalid_prefixes):
                return {"CodeResult": "103", "ErrorMessage": "Destination not permitted"}
            parts = len(encode_text(content, force_unicode=str(body.get("isUnicode")) == "1", reference=0).parts)
            if self.balances[key] < parts:
                return {"CodeResult": "103", "ErrorMessage": "Balance is insufficient"}
            self.balances[key] -= parts
            sms_id = f"{uuid.uuid4()}{random.randrange(1000)}"
            self.stats.sent["sms"] += 1
            self._later(self._sms_callback(sms_id, phone))
            return {"CodeResult": "100", "CountRegenerate": 0, "SMSID": sms_id}

        return await self._idempotent("sms", key, body, {"CodeResult": "124", "ErrorMessage": "processing"}, work)

    async def _voice(self, request: Request) -> JSONResponse:
        body = await self._body(request)
        if body is None:
            return JSONResponse({"status_code": 104, "reference_id": ""}, status_code=400)
        self._record("voice", body)
        key = self._account(body, ("api_key", "secret_key"))
        if key is None:
            return JSONResponse({"status_code": 101, "reference_id": ""})
        if key in self.settings.blocked:
            return JSONResponse({"status_code": 103, "reference_id": ""})

        def work() -> dict[str, Any]:
            phone = str(body.get("phone_number", ""))
            kind = str(body.get("type", ""))
            if (
                kind not in ("1", "2")
                or (kind == "1" and not str(body.get("code", "")).isdigit())
                or (kind == "2" and not body.get("template_id"))
            ):
                return {"status_code": 104, "reference_id": ""}
            if not phone.isdigit() or phone.startswith(self.settings.invalid_prefixes):
                return {"status_code": 106, "reference_id": ""}
            if self.balances[key] < 1:
                return {"status_code": 102, "reference_id": ""}
            self.balances[key] -= 1
            self.stats.sent["voice"] += 1
            return {"status_code": 100, "reference_id": uuid.uuid4().hex}

        return await self._idempotent("voice", key, body, {"status_code": 105, "reference_id": ""}, work)

    async def _chat(self, request: Request) -> JSONResponse:
        body = await self._body(request)
        if body is None:
            return JSONResponse({"code_result": 105, "error_message": "invalid JSON"}, status_code=400)
        self._record("chat", body)
        key = self._account(body, *self.settings.chat_credentials)
        if key is None:
            return JSONResponse({"code_result": 101, "error_message": "Wrong api_key or secret_key"})
        if key in self.settings.blocked:
            return JSONResponse({"code_result": 112, "error_message": "User credential is not allowed"})

        def work() -> dict[str, Any]:
            phone = str(body.get("phone_number", ""))
            message = body.get("body")
            if (
                body.get("channel_type") != 16
                or not isinstance(message, dict)
                or message.get("body_type") not in (1, 2, 3, 4)
            ):
                return {"code_result": 102, "error_message": "Invalid message type"}
            if len(str(message.get("text") or "")) > 1000 or len(message.get("buttons") or []) > 1:
                return {"code_result": 105, "error_message": "Invalid request body"}
            if not phone.isdigit() or phone.startswith(self.settings.invalid_prefixes):
                return {"code_result": 103, "error_message": "Invalid destination address"}
            if self.balances[key] < 1:
                return {"code_result": 104, "error_message": "Insufficient Balance"}
            self.balances[key] -= 1
            message_id = f"{uuid.uuid4()}{random.randrange(1000)}"
            self.stats.sent["chat"] += 1
            self._later(self._chat_callbacks(message_id, phone))
            return {"code_result": 100, "message_id": message_id, "error_message": ""}

        return await self._idempotent("chat", key, body, {"code_result": 111, "error_message": "processing"}, work)

    async def _upload(self, request: Request) -> JSONResponse:
        self.stats.calls["upload"] += 1
        async with request.form() as form:  # closes the spooled upload files
            key = str(form.get("api_key", ""))
            if not key or self.settings.accounts.get(key) != str(form.get("secret_key", "")):
                return JSONResponse({"status_code": 101, "err_message": "Wrong api_key or secret_key", "payload": None})
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return JSONResponse({"status_code": 203, "err_message": "Request error", "payload": None})
            if not (upload.filename or "").lower().endswith(".mp3"):
                return JSONResponse({"status_code": 201, "err_message": "Not supported", "payload": None})
            content = await upload.read()
        if len(content) > 5 * 1024 * 1024:
            return JSONResponse({"status_code": 202, "err_message": "Max file length is 5MB", "payload": None})
        template_id = f"{uuid.uuid4().hex}{next(self._template_ids)}"
        return JSONResponse({"status_code": 100, "err_message": "", "payload": {"templateId": template_id}})

    # ---- callbacks -----------------------------------------------------------------------------

    def _later(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sms_callback(self, sms_id: str, phone: str) -> None:
        url = self.settings.sms_callback_url
        if url is None:
            return
        await asyncio.sleep(self.settings.callback_delay)
        status = self.settings.outcomes.pick(phone)
        now = datetime.now(VIETNAM_ZONE)
        hour = now.hour % 12 or 12
        await self.post_callback(
            url,
            {
                "phone": phone,
                "reference_id": sms_id,
                "status": status,
                "err_code": "000" if status == "DELIVRD" else "001",
                "delivery_time": f"{now.month}/{now.day}/{now.year} {hour}:{now:%M:%S} {now:%p}",
                "total_price": "0.0500000",
                "currency": "EUR",
                "time_zone": "GMT/UTC +7:00",
            },
        )

    async def _chat_callbacks(self, message_id: str, phone: str) -> None:
        url = self.settings.chat_callback_url
        if url is None:
            return
        await asyncio.sleep(self.settings.callback_delay)
        statuses = ["DELIVERED"] + (["SEEN"] if random.random() < self.settings.seen_ratio else [])
        for status in statuses:
            await self.post_callback(
                url,
                {
                    "status": status,
                    "message_id": message_id,
                    "time": datetime.now(VIETNAM_ZONE).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
                    "phone_number": phone,
                    "channel": "Viber",
                    "time_zone": "GMT/UTC +7",
                },
            )

    async def post_reply(self, phone: str, text: str | None, media: str = "", file_name: str = "") -> None:
        """A user answers on Viber: the two-way message callback."""
        # Seed: "we will send to the URL per sender with the user's replies": the sender's status URL.
        url = self.settings.reply_callback_url or self.settings.chat_callback_url
        if url is None:
            raise ValueError("neither chat_callback_url nor reply_callback_url is configured")
        await self.post_callback(
            url,
            {
                "message": {"text": text, "media": media, "file_name": file_name},
                "message_id": f"{uuid.uuid4()}",
                "time": datetime.now(VIETNAM_ZONE).strftime("%Y-%m-%dT%H:%M:%S"),
                "phone_number": f"+{phone}",
                "channel": "Viber",
                "time_zone": "GMT/UTC +7",
            },
        )

    async def post_callback(self, url: str, body: dict[str, Any]) -> None:
        """Post until answered 200, as the provider retries a callback that was not acknowledged."""
        assert self._client is not None
        for _ in range(self.settings.callback_attempts):
            with contextlib.suppress(httpx.HTTPError):
                response = await self._client.post(url, json=body)
                if response.status_code == 200:
                    self.stats.callbacks_posted += 1
                    self.stats.callbacks.append(body)
                    return
            self.stats.callbacks_failed_attempts += 1
            await asyncio.sleep(self.settings.callback_retry_delay)
        log.warning("callback to %s given up after %d attempts", url, self.settings.callback_attempts)
