"""vihat-kafka-connector: SMS, Voice OTP, voice calls and Viber through ViHAT Global, driven by Kafka.

The public API is what `__all__` names (a test pins it): the settings, the exception tree and the
schema names. Everything else is internal and may change between versions.
"""

from importlib.metadata import PackageNotFoundError, version

from connector.config import Settings, load_settings
from connector.errors import (
    BindError,
    ConfigError,
    ConnectorError,
    SerdeError,
    SessionClosed,
    SubmitRejected,
    TopicError,
    ValidationError,
)
from connector.schemas import SchemaName

try:
    __version__ = version("vihat-kafka-connector")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = [
    "BindError",
    "ConfigError",
    "ConnectorError",
    "SchemaName",
    "SerdeError",
    "SessionClosed",
    "Settings",
    "SubmitRejected",
    "TopicError",
    "ValidationError",
    "__version__",
    "load_settings",
]
