"""The package's public API is what `connector.__all__` names: pinned here, so a change is deliberate."""

from __future__ import annotations

import connector
from connector.errors import ConnectorError
from connector.smpp.codec import FramingError
from connector.smpp.encoding import EncodingError
from connector.smpp.receipts import ReceiptError
from connector.webhook.parsing import CallbackError


def test_public_api_is_pinned() -> None:
    assert sorted(connector.__all__) == [
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
    assert all(hasattr(connector, name) for name in connector.__all__)


def test_every_error_the_package_raises_is_a_connector_error() -> None:
    for error in (EncodingError, FramingError, ReceiptError, CallbackError):
        assert issubclass(error, ConnectorError) and issubclass(error, ValueError), error
    public_errors = [getattr(connector, name) for name in connector.__all__ if name.endswith("Error")]
    assert all(issubclass(error, ConnectorError) for error in public_errors)
