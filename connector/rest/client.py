"""One pooled httpx client for all of ViHAT's REST APIs, with explicit timeouts, a token bucket per
endpoint, and retries with exponential backoff and full jitter on transport errors, 429, 5xx and the
"request is processing" codes, bounded by attempts and by the request's deadline.

Credentials travel in the body (seed) and are added here, at the last moment; nothing in this module
logs or raises a payload, so a secret cannot reach a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from connector.departure import Departure
from connector.ratelimit import RateLimit, TokenBucket
from connector.records import ResultStatus
from connector.rest.codes import Api, CodeMeaning

log = logging.getLogger(__name__)


# The seed spells credentials differently per API: SMS takes apiKey/secretKey, voice and upload
# api_key/secret_key, and chat apps both (its table says apiKey/secretKey, its sample api_key/secret_key).
SNAKE_CASE, CAMEL_CASE = ("api_key", "secret_key"), ("apiKey", "secretKey")
CHAT_CREDENTIALS = {"snake_case": (SNAKE_CASE,), "camelCase": (CAMEL_CASE,), "both": (SNAKE_CASE, CAMEL_CASE)}


@dataclass(frozen=True, slots=True)
class RestEndpoint:
    base_url: str
    paths: dict[Api, str]
    api_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    chat_credentials: str = "both"  # a key of CHAT_CREDENTIALS

    def credential_fields(self, api: Api) -> tuple[tuple[str, str], ...]:
        if api is Api.CHAT:
            return CHAT_CREDENTIALS[self.chat_credentials]
        return (CAMEL_CASE,) if api is Api.SMS else (SNAKE_CASE,)


@dataclass(frozen=True, slots=True)
class RestPolicy:
    max_attempts: int = 4
    backoff_base: float = 0.2
    backoff_cap: float = 5.0
    rate_per_endpoint: float = 50.0

    def backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * (2**attempt)))


@dataclass(slots=True)
class RestOutcome:
    code: str | None
    meaning: CodeMeaning
    message_id: str | None = None
    attempts: int = 0
    submitted_at: float | None = None
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> ResultStatus:
        return self.meaning.status


def _transport_failure(description: str) -> CodeMeaning:
    return CodeMeaning(ResultStatus.FAILED, True, "TRANSPORT", description)


class RestClient:
    def __init__(self, endpoint: RestEndpoint, policy: RestPolicy, client: httpx.AsyncClient) -> None:
        self.endpoint = endpoint
        self.policy = policy
        self._client = client
        self._buckets = {api: TokenBucket(RateLimit(policy.rate_per_endpoint, 1.0)) for api in Api}
        self.reachable = True  # last call reached the provider (any HTTP answer)

    @classmethod
    def create(
        cls,
        endpoint: RestEndpoint,
        policy: RestPolicy,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> RestClient:
        client = httpx.AsyncClient(
            base_url=endpoint.base_url,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
            transport=transport,
        )
        return cls(endpoint, policy, client)

    async def close(self) -> None:
        await self._client.aclose()

    def _credentials(self, api: Api) -> dict[str, str]:
        credentials = {}
        for key_field, secret_field in self.endpoint.credential_fields(api):
            credentials[key_field], credentials[secret_field] = self.endpoint.api_key, self.endpoint.secret_key
        return credentials

    async def call(
        self, api: Api, payload: dict[str, Any], deadline: float, departure: Departure | None = None
    ) -> RestOutcome:
        """POST a JSON payload, retrying what the policy allows; never raises for provider answers.
        `departure` is reserved after the first token and marked right before the first call."""
        body = {**self._credentials(api), **payload}
        return await self._retrying(
            api, deadline, lambda: self._client.post(self.endpoint.paths[api], json=body), departure
        )

    async def upload(self, file_name: str, content: bytes, deadline: float) -> RestOutcome:
        data = self._credentials(Api.UPLOAD)
        files = {"file": (file_name, content, "audio/mpeg")}
        return await self._retrying(
            Api.UPLOAD, deadline, lambda: self._client.post(self.endpoint.paths[Api.UPLOAD], data=data, files=files)
        )

    async def _retrying(self, api: Api, deadline: float, send: Any, departure: Departure | None = None) -> RestOutcome:
        outcome = RestOutcome(None, _transport_failure("not sent"))
        for attempt in range(self.policy.max_attempts):
            await self._buckets[api].acquire()
            if departure is not None:
                reserving = departure.before_first_write()
                if reserving is not None:
                    await reserving
                departure.written()
            outcome.attempts += 1
            if outcome.submitted_at is None:
                outcome.submitted_at = time.time()
            retry_after = None
            try:
                response: httpx.Response = await send()
            except httpx.TransportError as exc:
                # The request may have reached the provider: the retry carries the same request id.
                self.reachable = isinstance(exc, httpx.ReadTimeout | httpx.RemoteProtocolError)
                outcome.code, outcome.meaning = None, _transport_failure(f"{type(exc).__name__} calling {api.label}")
            else:
                self.reachable = True
                retry_after = self._parse(api, response, outcome)
            if not outcome.meaning.retriable or attempt + 1 == self.policy.max_attempts:
                break
            delay = max(self.policy.backoff(attempt), retry_after or 0.0)
            if time.monotonic() + delay >= deadline:
                break
            await asyncio.sleep(delay)
        return outcome

    def _parse(self, api: Api, response: httpx.Response, outcome: RestOutcome) -> float | None:
        """Fill `outcome` from an HTTP answer; return the server's Retry-After if it gave one."""
        status = response.status_code
        if status == 429 or status >= 500:
            outcome.code = None
            outcome.meaning = CodeMeaning(
                ResultStatus.FAILED, True, f"HTTP_{status}", f"{api.label} answered HTTP {status}"
            )
            retry_after = response.headers.get("Retry-After", "")
            # ASCII only: str.isdigit() also takes "²", which float() refuses
            return float(retry_after) if retry_after.isascii() and retry_after.replace(".", "", 1).isdigit() else None
        if status >= 400:
            outcome.code = None
            outcome.meaning = CodeMeaning(
                ResultStatus.FAILED, False, f"HTTP_{status}", f"{api.label} answered HTTP {status}"
            )
            return None
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict) or api.code_field not in document:
            outcome.meaning = CodeMeaning(
                ResultStatus.FAILED, False, "BAD_RESPONSE", f"{api.label} answer has no {api.code_field}"
            )
            return None
        outcome.response = document
        outcome.code = str(document[api.code_field])
        outcome.meaning = api.meaning(outcome.code)
        source = document.get("payload") if api is Api.UPLOAD else document
        message_id = source.get(api.id_field) if isinstance(source, dict) else None
        outcome.message_id = str(message_id) if message_id not in (None, "") else None
        return None
