"""Which route a request takes and how it is sent: SMS over the SMPP pool or REST, voice and Viber over
REST. One outcome shape for all, so the dispatcher writes results the same way whatever the channel."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from connector.config import Settings
from connector.departure import Departure
from connector.errors import ConnectorError, SubmitRejected, ValidationError
from connector.records import ResultStatus
from connector.reporting import MessageIdFormat, normalize_message_id
from connector.requests import Channel, Route, SendRequest, SmsMessage, ViberMessage, VoiceFile, VoiceOtp
from connector.rest.client import RestClient, RestOutcome
from connector.rest.codes import Api
from connector.rest.payloads import chat_payload, sms_payload, voice_file_payload, voice_otp_payload
from connector.smpp.encoding import EncodedMessage, EncodingError, encode_text
from connector.smpp.pool import BindPool, SubmitOutcome

OnMessageId = Callable[[int, int, str], None]  # (part number, total parts, provider message id)
# A coroutine for the dispatcher to run in a task, or (SMS over SMPP) a send already under way
Sending = Coroutine[Any, Any, "SendOutcome"] | asyncio.Future["SendOutcome"]
Sender = Callable[[SendRequest, OnMessageId, "Departure | None"], Sending]


@dataclass(slots=True)
class SendOutcome:
    status: ResultStatus
    route: Route | None  # None: nothing was sent
    provider_code: str | None = None
    description: str | None = None
    message_ids: list[str] = field(default_factory=list)
    attempts: int = 0
    submitted_at: float | None = None


class Router:
    """Sends a validated request (see `validation.validate`) on its channel's route."""

    def __init__(self, settings: Settings, pool: BindPool | None, rest: RestClient | None) -> None:
        self._settings = settings
        self._pool = pool
        self._rest = rest
        self._senders: dict[Channel, Sender] = {
            Channel.SMS: self._sms,
            Channel.VOICE_OTP: self._voice_otp,
            Channel.VOICE_FILE: self._voice_file,
            Channel.VIBER: self._viber,
        }

    def sms_route(self, preference: Route) -> Route:
        if preference is Route.AUTO:
            if self._pool is not None and self._pool.any_bound:
                return Route.SMPP
            fallback = self._rest is not None and self._settings.rest.sms_fallback_to_rest
            return Route.REST if fallback or self._pool is None else Route.SMPP
        return preference

    def send(self, request: SendRequest, on_message_id: OnMessageId, departure: Departure | None = None) -> Sending:
        """Send it (raises ValidationError only for what depends on the route: the SMPP part count).

        This and `_sms` hand back the sender's coroutine instead of awaiting it: every frame in the await
        chain is re-entered each time a request resumes, several times per request."""
        return self._senders[request.channel](request, on_message_id, departure)

    def _sms(self, request: SendRequest, on_message_id: OnMessageId, departure: Departure | None) -> Sending:
        assert isinstance(request.sms, SmsMessage)
        sms = request.sms
        sender = sms.sender or self._settings.smpp.default_sender
        if self.sms_route(sms.route) is Route.SMPP:
            return self._smpp(request, sms, sender, on_message_id, departure)
        payload = sms_payload(request, sms, sender, self._settings.rest.sms_type)
        return self._call(Api.SMS, payload, request, on_message_id, departure)

    async def _voice_otp(
        self, request: SendRequest, on_message_id: OnMessageId, departure: Departure | None
    ) -> SendOutcome:
        assert isinstance(request.voice_otp, VoiceOtp)
        return await self._call(
            Api.VOICE, voice_otp_payload(request, request.voice_otp), request, on_message_id, departure
        )

    async def _voice_file(
        self, request: SendRequest, on_message_id: OnMessageId, departure: Departure | None
    ) -> SendOutcome:
        assert isinstance(request.voice_file, VoiceFile)
        payload = voice_file_payload(request, request.voice_file)
        return await self._call(Api.VOICE, payload, request, on_message_id, departure)

    async def _viber(
        self, request: SendRequest, on_message_id: OnMessageId, departure: Departure | None
    ) -> SendOutcome:
        assert isinstance(request.viber, ViberMessage)
        return await self._call(Api.CHAT, chat_payload(request, request.viber), request, on_message_id, departure)

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

    def _smpp(
        self,
        request: SendRequest,
        sms: SmsMessage,
        sender: str | None,
        on_message_id: OnMessageId,
        departure: Departure | None,
    ) -> asyncio.Future[SendOutcome]:
        if self._pool is None:  # validation rejects a forced SMPP route without an account
            raise ValidationError("sms.route", "this connector has no SMPP account (smpp.system_id is empty)")
        encoded = self._encode(sms.content, sms.unicode)
        deadline = self._deadline(request, self._settings.dispatcher.no_bind_timeout)
        ids: list[str] = []  # normalized as each part is accepted, in part order
        accepted = functools.partial(self._accepted, ids, len(encoded.parts), on_message_id)
        concluded = functools.partial(self._smpp_outcome, ids)
        return self._pool.send(encoded, request.phone, sender, deadline, concluded, accepted, departure)

    @staticmethod
    def _smpp_outcome(ids: list[str], result: SubmitOutcome | ConnectorError) -> SendOutcome:
        if isinstance(result, SubmitRejected):
            return SendOutcome(ResultStatus.REJECTED, Route.SMPP, result.status_name, str(result))
        if isinstance(result, ConnectorError):
            return SendOutcome(ResultStatus.FAILED, Route.SMPP, None, str(result))
        return SendOutcome(
            ResultStatus.ACCEPTED, Route.SMPP, "ESME_ROK", None, ids, result.attempts, result.submitted_at
        )

    def _accepted(self, ids: list[str], total: int, on_message_id: OnMessageId, number: int, raw: str) -> None:
        """A part accepted by the SMSC: its id normalized, kept in part order and passed on at once."""
        message_id = normalize_message_id(raw, self._settings.smpp.message_id_format)
        ids.append(message_id)
        on_message_id(number, total, message_id)

    async def _call(
        self,
        api: Api,
        payload: dict[str, Any],
        request: SendRequest,
        on_message_id: OnMessageId,
        departure: Departure | None = None,
    ) -> SendOutcome:
        if self._rest is None:
            raise ValidationError("channel", f"{request.channel.value} needs the REST API, which is not configured")
        deadline = self._deadline(request, self._settings.rest.request_timeout)
        id_field = self._settings.rest.request_id_field(api.label)
        if id_field is not None:
            payload[id_field] = request.request_id
        outcome: RestOutcome = await self._rest.call(api, payload, deadline, departure)
        meaning = outcome.meaning
        if meaning.in_progress:
            # Retries ran out while the provider still said "processing": it has the request and may send it.
            processing = (
                f"the provider still reported code {outcome.code} ({meaning.description}) after {outcome.attempts} "
                "attempts: it has the request and may still send it; do not resend, wait for its delivery report"
            )
            return SendOutcome(ResultStatus.FAILED, Route.REST, "PROCESSING", processing, [], outcome.attempts)
        accepted = outcome.message_id and meaning.status is ResultStatus.ACCEPTED
        ids = (
            [normalize_message_id(outcome.message_id, MessageIdFormat.TEXT)] if accepted and outcome.message_id else []
        )
        if ids:
            on_message_id(1, 1, ids[0])
        code = outcome.code or meaning.name
        description = None if meaning.status is ResultStatus.ACCEPTED else f"{meaning.name}: {meaning.description}"
        return SendOutcome(meaning.status, Route.REST, code, description, ids, outcome.attempts, outcome.submitted_at)

    def resend_is_safe(self, request: SendRequest) -> bool:
        """Whether a request that may already have reached the provider can be sent again without a second
        delivery: only over a REST API that recognises its request id (never SMPP, never AUTO SMS, whose
        earlier attempt may have gone either way)."""
        if request.channel is Channel.SMS:
            assert request.sms is not None
            return request.sms.route is Route.REST and self._settings.rest.resend_is_safe(Api.SMS.label)
        api = Api.CHAT if request.channel is Channel.VIBER else Api.VOICE
        return self._settings.rest.resend_is_safe(api.label)

    @staticmethod
    def _deadline(request: SendRequest, budget: float) -> float:
        deadline = time.monotonic() + budget
        if request.expires_at is not None:
            deadline = min(deadline, time.monotonic() + request.expires_at - time.time())
        return deadline
