"""Request bodies exactly as the seed shows them. Credentials are added by the client, and the
idempotency field (`rest.request_id_fields`, not in the seed) by the router."""

from __future__ import annotations

from typing import Any

from connector.dispatcher.validation import viber_body_type
from connector.smpp.encoding import fits_gsm

VIBER_CHANNEL_TYPE = 16
VOICE_OTP_TYPE = 1
VOICE_FILE_TYPE = 2


def sms_payload(request: dict[str, Any], sender: str | None, sms_type: str | None) -> dict[str, Any]:
    sms = request["sms"]
    unicode = sms["unicode"] if sms["unicode"] is not None else not fits_gsm(sms["content"])
    payload: dict[str, Any] = {
        "phone": request["phone"],
        "content": sms["content"],
        "isUnicode": "1" if unicode else "0",
    }
    if sms["sms_type"] or sms_type:
        payload["smsType"] = sms["sms_type"] or sms_type
    if sender:
        payload["originalSender"] = sender
    return payload


def voice_otp_payload(request: dict[str, Any]) -> dict[str, Any]:
    otp = request["voice_otp"]
    return {
        "phone_number": request["phone"],
        "code": otp["code"],
        "lang": otp["lang"],
        "type": VOICE_OTP_TYPE,
    }


def voice_file_payload(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "phone_number": request["phone"],
        "type": VOICE_FILE_TYPE,
        "template_id": request["voice_file"]["template_id"],
    }


def chat_payload(request: dict[str, Any]) -> dict[str, Any]:
    viber = request["viber"]
    body: dict[str, Any] = {"body_type": viber_body_type(viber)}
    if viber["text"] is not None:
        body["text"] = viber["text"]
    if viber["image_url"] is not None:
        body["image"] = viber["image_url"]
    if viber["button"] is not None:
        body["buttons"] = [{"caption": viber["button"]["caption"], "action": viber["button"]["action"]}]
    return {
        "sender": viber["sender"],
        "phone_number": request["phone"],
        "channel_type": VIBER_CHANNEL_TYPE,
        "body": body,
    }
