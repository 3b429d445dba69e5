"""A SendRequest as the code sees it: frozen and typed, built once right after the Avro record is
decoded, so everything downstream reads attributes mypy checks instead of dictionary keys."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any


class Channel(enum.Enum):
    SMS = "SMS"
    VOICE_OTP = "VOICE_OTP"
    VOICE_FILE = "VOICE_FILE"
    VIBER = "VIBER"


class Route(enum.Enum):
    """How an SMS reaches the provider; AUTO lets the connector choose."""

    AUTO = "AUTO"
    SMPP = "SMPP"
    REST = "REST"


@dataclass(frozen=True, slots=True)
class SmsMessage:
    content: str
    unicode: bool | None = None  # None: detected from the text
    sender: str | None = None  # None: the account default
    sms_type: str | None = None
    route: Route = Route.AUTO


@dataclass(frozen=True, slots=True)
class VoiceOtp:
    code: str
    lang: str


@dataclass(frozen=True, slots=True)
class VoiceFile:
    template_id: str


@dataclass(frozen=True, slots=True)
class Button:
    caption: str
    action: str


@dataclass(frozen=True, slots=True)
class ViberMessage:
    sender: str
    text: str | None = None
    image_url: str | None = None
    button: Button | None = None


Content = SmsMessage | VoiceOtp | VoiceFile | ViberMessage

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SendRequest:
    request_id: str
    channel: Channel
    phone: str
    sms: SmsMessage | None = None
    voice_otp: VoiceOtp | None = None
    voice_file: VoiceFile | None = None
    viber: ViberMessage | None = None
    expires_at: float | None = None  # epoch seconds
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    @property
    def content(self) -> Content | None:
        """The message field that belongs to the channel (None if the caller left it out)."""
        return {
            Channel.SMS: self.sms,
            Channel.VOICE_OTP: self.voice_otp,
            Channel.VOICE_FILE: self.voice_file,
            Channel.VIBER: self.viber,
        }[self.channel]

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> SendRequest:
        """From the decoded Avro record (the schema has already checked types and enum symbols)."""
        sms, otp, voice_file, viber = (record.get(name) for name in ("sms", "voice_otp", "voice_file", "viber"))
        return cls(
            request_id=record["request_id"],
            channel=Channel(record["channel"]),
            phone=record["phone"],
            sms=SmsMessage(sms["content"], sms["unicode"], sms["sender"], sms["sms_type"], Route(sms["route"]))
            if sms is not None
            else None,
            voice_otp=VoiceOtp(otp["code"], otp["lang"]) if otp is not None else None,
            voice_file=VoiceFile(voice_file["template_id"]) if voice_file is not None else None,
            viber=_viber(viber) if viber is not None else None,
            expires_at=_seconds(record.get("expires_at")),
            metadata=MappingProxyType(dict(record.get("metadata") or {})),
        )


def _viber(viber: Mapping[str, Any]) -> ViberMessage:
    button = viber.get("button")
    return ViberMessage(
        viber["sender"],
        viber.get("text"),
        viber.get("image_url"),
        Button(button["caption"], button["action"]) if button is not None else None,
    )


def _seconds(value: datetime | int | None) -> float | None:
    """timestamp-millis as fastavro reads it (datetime) or as a caller writes it (epoch millis)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return value / 1000
