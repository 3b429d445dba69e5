"""The provider's business codes as data: one table per API, each code mapped to a result status and a
retriable flag (seed: "Error codes" and "Code reference"). Unknown codes are FAILED, not retried, and
keep the code so nothing is hidden."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from connector.records import ResultStatus

ACCEPTED, REJECTED, FAILED = ResultStatus.ACCEPTED, ResultStatus.REJECTED, ResultStatus.FAILED


@dataclass(frozen=True, slots=True)
class CodeMeaning:
    status: ResultStatus
    retriable: bool
    name: str
    description: str

    @property
    def in_progress(self) -> bool:
        """'Request is processing': the provider has the request and may still send it."""
        return self.name in PROCESSING_NAMES


PROCESSING_NAMES = frozenset({"PROCESSING", "REQUEST_IS_PROCESSING", "REQ_PROCSSING"})  # SMS 124, voice 105, chat 111


def _table(*rows: tuple[int, ResultStatus, bool, str, str]) -> dict[str, CodeMeaning]:
    return {str(code): CodeMeaning(status, retriable, name, text) for code, status, retriable, name, text in rows}


SMS_CODES = _table(
    (100, ACCEPTED, False, "SUCCESS", "Request success"),
    (101, REJECTED, False, "UNAUTHORIZED", "Unauthorize (wrong apiKey or secretKey value)"),
    (102, REJECTED, False, "ACCOUNT_BLOCKED", "Account is blocked"),
    (103, REJECTED, False, "BALANCE_OR_DESTINATION", "Balance is insufficient or destination not permitted"),
    (124, FAILED, True, "PROCESSING", "Request is processing"),
)

VOICE_CODES = _table(
    (100, ACCEPTED, False, "SUCCESS", "Submit successfully"),
    (101, REJECTED, False, "INVALID_CREDENTIAL", "Wrong api_key or secret_key"),
    (102, REJECTED, False, "INSUFFICENT_BALANCE", "Insufficient Balance"),
    (103, REJECTED, False, "BLOCKAGE_USER", "Account is blocked"),
    (104, REJECTED, False, "BAD_BODY_REQUEST", "Invalid parameters"),
    (105, FAILED, True, "REQUEST_IS_PROCESSING", "Request is processing"),
    (106, REJECTED, False, "INVALID_DESTINATION", "Invalid destination"),
    (107, REJECTED, False, "PRICE_NOT_CONFIG", "Price is not configured"),
    (108, FAILED, True, "UNKNOWN_ERROR", "Server error, normally Vihat Global side"),
    (109, REJECTED, False, "NOT_SUPPORTED", "Not supported"),
    (201, REJECTED, False, "PRICE_VALIDATE_FALSE", "Validate price false"),
)

UPLOAD_CODES = _table(
    (100, ACCEPTED, False, "REQ_OK", "Submit successfully"),
    (101, REJECTED, False, "REQ_UNAUTH", "Wrong api_key or secret_key"),
    (108, FAILED, True, "UNKNOWN_ERROR", "Server error, normally Vihat Global side"),
    (201, REJECTED, False, "NOT_SUPPORTED", "Not supported (File should be covered in *.mp3)"),
    (202, REJECTED, False, "EXCEED_FILE_SIZED", "Max file length is 5MB"),
    (203, REJECTED, False, "REQUEST_ERROR", "Request error"),
)

CHAT_CODES = _table(
    (99, FAILED, True, "SERVR_ERR", "Server error, normally Vihat Global side"),
    (100, ACCEPTED, False, "SUB_OK", "Submit successfully"),
    (101, REJECTED, False, "AUTH_FAILED", "Wrong api_key or secret_key"),
    (102, REJECTED, False, "INVMSG_TYPE", "Invalid message type"),
    (103, REJECTED, False, "INVDST_ADDR", "Invalid destination address"),
    (104, REJECTED, False, "INSUFF_BALNC", "Insufficient Balance"),
    (105, REJECTED, False, "INVREQ_BODY", "Invalid request body"),
    (106, REJECTED, False, "INVSRC_ADDR", "Cost is not configured for the destination"),
    (108, REJECTED, False, "DEST_NOT_PERMITTD", "Destination is not permitted to send"),
    (111, FAILED, True, "REQ_PROCSSING", "Request is processing"),
    (112, REJECTED, False, "USR_INACT_OTT", "User credential is not allowed to send message through chat apps"),
)


class Api(enum.Enum):
    """Each REST API: its code table and the response fields holding the code and the message id."""

    SMS = ("sms", SMS_CODES, "CodeResult", "SMSID")
    VOICE = ("voice", VOICE_CODES, "status_code", "reference_id")
    UPLOAD = ("upload", UPLOAD_CODES, "status_code", "templateId")
    CHAT = ("chat", CHAT_CODES, "code_result", "message_id")

    def __init__(self, label: str, codes: dict[str, CodeMeaning], code_field: str, id_field: str) -> None:
        self.label = label
        self.codes = codes
        self.code_field = code_field
        self.id_field = id_field

    def meaning(self, code: str) -> CodeMeaning:
        known = self.codes.get(code)
        if known is not None:
            return known
        return CodeMeaning(FAILED, False, "UNKNOWN_CODE", f"undocumented {self.label} code {code}")
