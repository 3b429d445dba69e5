"""The REST client as the settings describe it: for the dispatcher and for the upload command alike."""

from __future__ import annotations

from connector.config import Settings
from connector.rest.client import RestClient, RestEndpoint, RestPolicy
from connector.rest.codes import Api


def rest_endpoint(settings: Settings) -> RestEndpoint:
    rest = settings.rest
    return RestEndpoint(
        rest.base_url,
        {Api.SMS: rest.sms_path, Api.VOICE: rest.voice_path, Api.UPLOAD: rest.upload_path, Api.CHAT: rest.chat_path},
        rest.api_key.get_secret_value(),
        rest.secret_key.get_secret_value(),
        rest.chat_credentials,
    )


def rest_policy(settings: Settings) -> RestPolicy:
    rest = settings.rest
    return RestPolicy(rest.max_attempts, rest.backoff_base, rest.backoff_cap, rest.rate_per_endpoint)


def rest_client(settings: Settings) -> RestClient:
    return RestClient.create(
        rest_endpoint(settings), rest_policy(settings), settings.rest.connect_timeout, settings.rest.read_timeout
    )
