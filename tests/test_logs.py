from __future__ import annotations

import json
import logging

from connector.logs import JsonFormatter, mask_phone


def test_mask_phone() -> None:
    assert mask_phone("84968501615") == "849685***15"
    assert mask_phone("12345") == "***" and mask_phone(None) == ""


def test_json_lines_carry_request_id() -> None:
    record = logging.LogRecord("connector.dispatcher", logging.INFO, __file__, 1, "sent %s", ("x",), None)
    record.request_id = "r-42"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "sent x" and line["request_id"] == "r-42" and line["level"] == "INFO"
