"""The webhook ASGI app: callbacks in, records in Kafka, 200 only once the broker acknowledged.

Every request is checked in this order: body size (413), source network (403), token (401), body
shape (400 naming the field), then Kafka (503 with Retry-After when it cannot take the record in
time, so the provider retries). No path leads to a 500 for anything a caller can send.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from connector.config import Settings
from connector.correlation import LocalIndex
from connector.errors import KafkaDeliveryError
from connector.kafka.producer import AsyncProducer
from connector.kafka.reports import ReportRecords
from connector.kafka.serde import Serde
from connector.reporting import FINAL_STATUSES, ReportStatus, enrich
from connector.stats import WebhookStats
from connector.webhook.dedup import DeliveryDeduplicator
from connector.webhook.openapi import openapi_document
from connector.webhook.parsing import CallbackError, chat_status_report, inbound_reply, sms_status_report
from connector.webhook.security import SourcePolicy, token_matches

log = logging.getLogger(__name__)
_ACCEPTED = b'{"status":"accepted"}'  # what JSONResponse({"status": "accepted"}) renders, rendered once


class _BodyTooLarge(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Endpoint:
    name: str
    parse: Callable[[dict[str, Any], float], dict[str, Any]]
    is_reply: bool
    takes_replies: bool = False  # seed: one URL per Viber sender gets its statuses and its two-way replies


class WebhookApp:
    def __init__(
        self,
        settings: Settings,
        producer: AsyncProducer,
        reports: ReportRecords,
        reply_serde: Serde,
        index: LocalIndex,
    ) -> None:
        self._settings = settings.webhook
        self._topics = settings.kafka.topics
        self._producer = producer
        self._reports = reports
        self._reply_serde = reply_serde
        self._index = index
        self._token = settings.webhook.token.get_secret_value()
        self._sources = SourcePolicy(
            settings.webhook.allowed_networks, settings.webhook.trusted_proxies, settings.webhook.forwarded_header
        )
        self.dedup = DeliveryDeduplicator(settings.webhook.dedup_capacity)
        self.responses: Counter[tuple[str, int]] = Counter()
        self.accepted: Counter[tuple[str, str]] = Counter()  # (source, status) written to Kafka
        self.correlated_here = 0  # reports it could tie to their request: written to delivery-reports
        self._reply = _Endpoint("reply", inbound_reply, True)
        endpoints = [
            (self._settings.sms_status_path, _Endpoint("sms_status", sms_status_report, False)),
            (self._settings.chat_status_path, _Endpoint("chat_status", chat_status_report, False, True)),
            (self._settings.reply_path, self._reply),
        ]
        routes: list[BaseRoute] = [Route("/openapi.json", self._openapi)]
        self._posts: dict[str, Callable[[Request], Awaitable[Response]]] = {}  # path without its token
        for path, endpoint in endpoints:
            handler = self._handler(endpoint)
            routes.append(Route(path, handler, methods=["POST"]))
            routes.append(Route(path.rstrip("/") + "/{token}", handler, methods=["POST"]))
            self._posts[path.rstrip("/")] = handler
        self.routes = routes
        self._openapi_document = openapi_document(settings.webhook)

    def in_front_of(self, app: ASGIApp) -> ASGIApp:
        """An ASGI app that answers the callback POSTs itself and hands everything else to `app` (which
        has the same routes): the callbacks skip Starlette's middleware and route matching (130 -> 120 us
        of CPU per callback in bench/bench_webhook.py)."""
        posts = self._posts

        async def front(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["method"] == "POST":
                path: str = scope["path"]
                handler, token = posts.get(path), None
                if handler is None:
                    head, _, token = path.rpartition("/")
                    handler = posts.get(head) if token else None
                if handler is not None:
                    scope["path_params"] = {"token": token} if token else {}
                    response = await handler(Request(scope, receive))
                    await response(scope, receive, send)
                    return
            await app(scope, receive, send)

        return front

    def stats(self) -> WebhookStats:
        return WebhookStats(dict(self.responses), dict(self.accepted), self.dedup.absorbed, self.correlated_here)

    async def _openapi(self, _request: Request) -> JSONResponse:
        return JSONResponse(self._openapi_document)

    # ---- callbacks -----------------------------------------------------------------------------

    def _handler(self, endpoint: _Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            response = await self._handle(endpoint, request)
            self.responses[(endpoint.name, response.status_code)] += 1
            return response

        return handle

    def _error(self, status: int, error: str, field: str | None = None) -> JSONResponse:
        body: dict[str, Any] = {"error": error}
        if field is not None:
            body["field"] = field
        headers = {"Retry-After": str(self._settings.retry_after)} if status == 503 else None
        return JSONResponse(body, status_code=status, headers=headers)

    async def _handle(self, endpoint: _Endpoint, request: Request) -> Response:
        try:
            raw = await self._read_body(request)
        except _BodyTooLarge:
            return self._error(413, f"body larger than {self._settings.max_body_bytes} bytes")
        peer = request.client.host if request.client else None
        if not self._sources.admits(peer, request.headers):
            return self._error(403, "source address not allowed")
        given = request.path_params.get("token") or request.headers.get(self._settings.token_header)
        if not token_matches(given, self._token):
            return self._error(401, "missing or wrong token")
        try:
            body = self._decode(raw, request.headers.get("content-type", ""), endpoint.is_reply, endpoint.takes_replies)
            if endpoint.takes_replies and "message" in body and "status" not in body:
                endpoint = self._reply  # a two-way reply posted to the sender's one callback URL
            record = endpoint.parse(body, time.time())
        except CallbackError as exc:
            return self._error(400, str(exc), exc.field)
        delivery = self.dedup.delivery(self._dedup_key(endpoint, record), lambda: self._produce(endpoint, record))
        try:
            await asyncio.wait_for(asyncio.shield(delivery), self._settings.ack_timeout)
        except (TimeoutError, KafkaDeliveryError):
            return self._error(503, "Kafka did not acknowledge the callback in time; retry later")
        if not endpoint.is_reply:
            self.accepted[(record["source"], record["status"])] += 1
        return Response(_ACCEPTED, media_type="application/json")

    async def _read_body(self, request: Request) -> bytes:
        limit = self._settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise _BodyTooLarge
        chunks = bytearray()
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > limit:
                raise _BodyTooLarge
        return bytes(chunks)

    @staticmethod
    def _decode(raw: bytes, content_type: str, is_reply: bool, takes_replies: bool = False) -> dict[str, Any]:
        if content_type.startswith("application/x-www-form-urlencoded"):
            try:
                fields: dict[str, Any] = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError as exc:
                raise CallbackError("body", "form body is not UTF-8") from exc
            nested = any(key.startswith(("message[", "message.")) for key in fields)
            if takes_replies and "status" not in fields and (nested or "message" in fields):
                is_reply = True
            if is_reply and "message" not in fields:
                # A form cannot nest: message.text / message[text] or plain text/media/file_name.
                fields["message"] = {
                    key: fields.get(f"message[{key}]", fields.get(f"message.{key}", fields.get(key)))
                    for key in ("text", "media", "file_name")
                }
            elif is_reply and isinstance(fields.get("message"), str):
                fields["message"] = WebhookApp._decode(fields["message"].encode(), "application/json", False)
            return fields
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CallbackError("body", f"malformed JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise CallbackError("body", "must be a JSON object")
        return document

    @staticmethod
    def _dedup_key(endpoint: _Endpoint, record: dict[str, Any]) -> tuple[str, str, str]:
        if endpoint.is_reply:
            return (endpoint.name, record["provider_message_id"] or "", "")
        return (endpoint.name, record["provider_message_id"], record["raw_status"])

    def _produce(self, endpoint: _Endpoint, record: dict[str, Any]) -> asyncio.Future[object]:
        if endpoint.is_reply:
            value = self._reply_serde.encode(record)
            return self._producer.produce_and_wait(self._topics.inbound_replies, record["phone"], value)  # type: ignore[return-value]
        status = ReportStatus(record["status"])
        # Viber reports DELIVERED then SEEN: keep the entry; an SMS's final status is its last.
        final = endpoint.name == "sms_status" and status in FINAL_STATUSES
        entry = self._index.lookup(record["provider_message_id"], final=final)
        if entry is not None:
            self.correlated_here += 1
        topic, key, value = self._reports.record(enrich(record, entry))
        return self._producer.produce_and_wait(topic, key, value)  # type: ignore[return-value]
