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
    └── SubmitRejected         the SMSC refused a submit_sm permanently (command status attached)

`retriable` is decided by the class, so callers never parse messages.
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
    retriable = True

    def __init__(self, message: str, *, command_status: int | None = None) -> None:
        super().__init__(message)
        self.command_status = command_status

    @property
    def is_credentials(self) -> bool:
        from connector.smpp.status import CREDENTIAL_STATUSES

        return self.command_status in CREDENTIAL_STATUSES


class SessionClosed(ConnectorError):
    retriable = True


class SubmitRejected(ConnectorError):
    def __init__(self, command_status: int) -> None:
        from connector.smpp.status import status_name

        self.command_status = command_status
        self.status_name = status_name(command_status)
        super().__init__(f"submit_sm rejected with {self.status_name} (0x{command_status:08x})")
