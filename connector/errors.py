"""One exception tree for the connector.

    ConnectorError
    ├── ConfigError            invalid configuration (names the key)
    │   └── TopicError         a topic missing and not creatable, or wrong (names the topic and the fix)
    ├── SerdeError             bytes that cannot be decoded as a record of the topic
    ├── EncodingError          text that cannot be encoded as asked (GSM 03.38 forced, ...); also a ValueError
    ├── FramingError           an SMPP stream that cannot be resynchronised; also a ValueError
    ├── ReceiptError           a delivery receipt that cannot be parsed; also a ValueError
    ├── CallbackError          a callback body missing or mistyping a field (names it); also a ValueError
    ├── ValidationError        a decodable request that must not be sent (names the field)
    ├── BindError              an SMPP bind could not be established (credentials vs network)
    ├── SessionClosed          an SMPP session ended; every pending request fails with the reason
    ├── SubmitRejected         the SMSC refused a submit_sm permanently (command status attached)
    └── KafkaDeliveryError     the broker did not acknowledge a record

`retriable` is decided by the class (True: trying the same thing again may work), so callers never
parse messages: the pool retries a part after a retriable error, and gives up on the others.
"""

from __future__ import annotations


class ConnectorError(Exception):
    retriable: bool = False


class ConfigError(ConnectorError):
    pass


class TopicError(ConfigError):
    def __init__(self, message: str, *, topic: str | None = None) -> None:
        super().__init__(message)
        self.topic = topic


class SerdeError(ConnectorError):
    pass


class ValidationError(ConnectorError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class BindError(ConnectorError):
    """Retried with backoff by the pool's supervisor; `is_credentials` says the SMSC refused the account
    (ESME_RINVPASWD or ESME_RINVSYSID), which no retry fixes by itself, so it is logged as such."""

    retriable = True

    def __init__(self, message: str, *, command_status: int | None = None, is_credentials: bool = False) -> None:
        super().__init__(message)
        self.command_status = command_status
        self.is_credentials = is_credentials


class SessionClosed(ConnectorError):
    retriable = True


class SubmitRejected(ConnectorError):
    def __init__(self, command_status: int, status_name: str) -> None:
        self.command_status = command_status
        self.status_name = status_name
        super().__init__(f"submit_sm rejected with {status_name} (0x{command_status:08x})")


class KafkaDeliveryError(ConnectorError):
    """The broker refused a record or did not acknowledge it in time; producing it again may work."""

    retriable = True
