"""Request bodies exactly as the seed shows them. Credentials are added by the client, and the
idempotency field (`rest.request_id_fields`, not in the seed) by the router."""

from __future__ import annotations

from typing import Any

from connector.gsm7 import fits_gsm
from connector.requests import SendRequest, SmsMessage, ViberMessage, VoiceFile, VoiceOtp

VIBER_CHANNEL_TYPE = 16
VOICE_OTP_TYPE = 1
VOICE_FILE_TYPE = 2

# Seed body types by which of (text, image, button) are set: 1 text+image+button, 2 text+button,
# 3 image only, 4 text only.
_BODY_TYPES = {(True, True, True): 1, (True, False, True): 2, (False, True, False): 3, (True, False, False): 4}


def viber_body_type(viber: ViberMessage) -> int | None:
    """The seed's body type for what the message holds; None for a shape the API has no type for."""
    return _BODY_TYPES.get((viber.text is not None, viber.image_url is not None, viber.button is not None))


def sms_payload(request: SendRequest, sms: SmsMessage, sender: str | None, sms_type: str | None) -> dict[str, Any]:
    unicode = sms.unicode if sms.unicode is not None else not fits_gsm(sms.content)
    payload: dict[str, Any] = {
        "phone": request.phone,
        "content": sms.content,
        "isUnicode": "1" if unicode else "0",
    }
    if sms.sms_type or sms_type:
        payload["smsType"] = sms.sms_type or sms_type
    if sender:
        payload["originalSender"] = sender
    return payload


def voice_otp_payload(request: SendRequest, otp: VoiceOtp) -> dict[str, Any]:
    return {"phone_number": request.phone, "code": otp.code, "lang": otp.lang, "type": VOICE_OTP_TYPE}


def voice_file_payload(request: SendRequest, voice_file: VoiceFile) -> dict[str, Any]:
    return {"phone_number": request.phone, "type": VOICE_FILE_TYPE, "template_id": voice_file.template_id}


def chat_payload(request: SendRequest, viber: ViberMessage) -> dict[str, Any]:
    body: dict[str, Any] = {"body_type": viber_body_type(viber)}
    if viber.text is not None:
        body["text"] = viber.text
    if viber.image_url is not None:
        body["image"] = viber.image_url
    if viber.button is not None:
        body["buttons"] = [{"caption": viber.button.caption, "action": viber.button.action}]
    return {
        "sender": viber.sender,
        "phone_number": request.phone,
        "channel_type": VIBER_CHANNEL_TYPE,
        "body": body,
    }
