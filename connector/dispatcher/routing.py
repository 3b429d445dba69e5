"""Which route a request takes and how it is sent: SMS over the SMPP pool or REST, voice and Viber over
REST. One outcome shape for all, so the dispatcher writes results the same way whatever the channel."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connector.config import Settings
from connector.departure import Departure
from connector.dispatcher.validation import (
    validate_sender,
    validate_sms_content,
    validate_voice_file,
    validate_voice_otp,
)
from connector.errors import ConnectorError, SessionClosed, SubmitRejected, ValidationError
from connector.records import ResultStatus
from connector.reporting import MessageIdFormat, normalize_message_id
from connector.rest.client import RestClient, RestOutcome
from connector.rest.codes import Api
from connector.rest.payloads import chat_payload, sms_payload, voice_file_payload, voice_otp_payload
from connector.smpp.encoding import EncodedMessage, EncodingError, encode_text
from connector.smpp.pool import BindPool

OnMessageId = Callable[[int, int, str], None]  # (part number, total parts, provider message id)


@dataclass(slots=True)
class SendOutcome:
    status: ResultStatus
    route: str
    provider_code: str | None = None
    description: str | None = None
    message_ids: list[str] = field(default_factory=list)
    attempts: int = 0
    submitted_at: float | None = None


class Router:
    def __init__(self, settings: Settings, pool: BindPool | None, rest: RestClient | None) -> None:
        self._settings = settings
        self._pool = pool
        self._rest = rest

    def _sms_route(self, preference: str) -> str:
        if preference == "AUTO":
            if self._pool is not None and self._pool.healthy_binds > 0:
                return "SMPP"
            fallback = self._rest is not None and self._settings.rest.sms_fallback_to_rest
            return "REST" if fallback or self._pool is None else "SMPP"
        return preference

    async def send(
        self, request: dict[str, Any], on_message_id: OnMessageId, departure: Departure | None = None
    ) -> SendOutcome:
        """Validate the channel's content (raises ValidationError, nothing sent), then send it."""
        channel = request["channel"]
        if channel == "SMS":
            sms = request["sms"]
            validate_sms_content(sms["content"])
            sender = sms["sender"] or self._settings.smpp.default_sender
            validate_sender(sender)
            route = self._sms_route(sms["route"])
            if route == "SMPP":
                return await self._smpp(request, sender, on_message_id, departure)
            payload = sms_payload(request, sender, self._settings.rest.sms_type)
            return await self._call(Api.SMS, payload, request, on_message_id, departure)
        if channel == "VOICE_OTP":
            validate_voice_otp(request["voice_otp"], self._settings.rest.voice_languages)
            return await self._call(Api.VOICE, voice_otp_payload(request), request, on_message_id, departure)
        if channel == "VOICE_FILE":
            validate_voice_file(request["voice_file"])
            return await self._call(Api.VOICE, voice_file_payload(request), request, on_message_id, departure)
        return await self._call(Api.CHAT, chat_payload(request), request, on_message_id, departure)

    def _encode(self, content: str, unicode: bool | None) -> EncodedMessage:
        assert self._pool is not None
        smpp, limits = self._settings.smpp, self._settings.dispatcher
        try:
            encoded = encode_text(
                content,
                force_unicode=unicode,
                reference=self._pool.next_reference(),
                reference_bits=smpp.concat_reference_bits,
            )
        except EncodingError as exc:
            raise ValidationError("sms.content", str(exc)) from exc
        if len(encoded.parts) > limits.max_sms_parts:
            raise ValidationError(
                "sms.content", f"needs {len(encoded.parts)} parts, more than max_sms_parts={limits.max_sms_parts}"
            )
        return encoded

    async def _smpp(
        self, request: dict[str, Any], sender: str | None, on_message_id: OnMessageId, departure: Departure | None
    ) -> SendOutcome:
        if self._pool is None:
            raise ValidationError(
                "sms.route", "SMPP was asked for, but this connector has no SMPP account (smpp.system_id is empty)"
            )
        encoded = self._encode(request["sms"]["content"], request["sms"]["unicode"])
        id_format = self._settings.smpp.message_id_format
        total = len(encoded.parts)
        deadline = self._deadline(request, self._settings.dispatcher.no_bind_timeout)
        try:
            outcome = await self._pool.submit(
                encoded,
                request["phone"],
                sender,
                deadline,
                lambda number, raw: on_message_id(number, total, normalize_message_id(raw, id_format)),
                departure,
            )
        except SubmitRejected as exc:
            return SendOutcome(ResultStatus.REJECTED, "SMPP", exc.status_name, str(exc))
        except (SessionClosed, ConnectorError) as exc:
            return SendOutcome(ResultStatus.FAILED, "SMPP", None, str(exc))
        ids = [normalize_message_id(raw, id_format) for raw in outcome.message_ids]
        return SendOutcome(ResultStatus.ACCEPTED, "SMPP", "ESME_ROK", None, ids, outcome.attempts, outcome.submitted_at)

    async def _call(
        self,
        api: Api,
        payload: dict[str, Any],
        request: dict[str, Any],
        on_message_id: OnMessageId,
        departure: Departure | None = None,
    ) -> SendOutcome:
        if self._rest is None:
            raise ValidationError("channel", f"{request['channel']} needs the REST API, which is not configured")
        deadline = self._deadline(request, self._settings.rest.request_timeout)
        id_field = self._settings.rest.request_id_field(api.label)
        if id_field is not None:
            payload[id_field] = request["request_id"]
        outcome: RestOutcome = await self._rest.call(api, payload, deadline, departure)
        meaning = outcome.meaning
        if meaning.in_progress:
            # Retries ran out while the provider still said "processing": it has the request and may send it.
            processing = (
                f"the provider still reported code {outcome.code} ({meaning.description}) after {outcome.attempts} "
                "attempts: it has the request and may still send it; do not resend, wait for its delivery report"
            )
            return SendOutcome(ResultStatus.FAILED, "REST", "PROCESSING", processing, [], outcome.attempts)
        accepted = outcome.message_id and meaning.status is ResultStatus.ACCEPTED
        ids = (
            [normalize_message_id(outcome.message_id, MessageIdFormat.TEXT)] if accepted and outcome.message_id else []
        )
        if ids:
            on_message_id(1, 1, ids[0])
        code = outcome.code or meaning.name
        description = None if meaning.status is ResultStatus.ACCEPTED else f"{meaning.name}: {meaning.description}"
        return SendOutcome(meaning.status, "REST", code, description, ids, outcome.attempts, outcome.submitted_at)

    def resend_is_safe(self, request: dict[str, Any]) -> bool:
        """Whether a request that may already have reached the provider can be sent again without a second
        delivery: only over a REST API that recognises its request id (never SMPP, never AUTO SMS, whose
        earlier attempt may have gone either way)."""
        channel = request["channel"]
        if channel == "SMS":
            return request["sms"]["route"] == "REST" and self._settings.rest.resend_is_safe(Api.SMS.label)
        api = Api.VOICE if channel in ("VOICE_OTP", "VOICE_FILE") else Api.CHAT
        return self._settings.rest.resend_is_safe(api.label)

    @staticmethod
    def _deadline(request: dict[str, Any], budget: float) -> float:
        deadline = time.monotonic() + budget
        expires_at = request.get("expires_at")
        if expires_at is not None:
            deadline = min(deadline, time.monotonic() + expires_at.timestamp() - time.time())
        return deadline
