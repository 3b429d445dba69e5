"""Every code the seed documents, per API, against the table the connector acts on."""

from __future__ import annotations

import pytest

from connector.records import ResultStatus
from connector.rest.codes import Api

A, R, F = ResultStatus.ACCEPTED, ResultStatus.REJECTED, ResultStatus.FAILED

# (code, status, retriable), written from the seed's lists independently of the implementation.
SEED = {
    Api.SMS: [(100, A, False), (101, R, False), (102, R, False), (103, R, False), (124, F, True)],
    Api.VOICE: [
        (100, A, False),
        (101, R, False),
        (102, R, False),
        (103, R, False),
        (104, R, False),
        (105, F, True),
        (106, R, False),
        (107, R, False),
        (108, F, True),
        (109, R, False),
        (201, R, False),
    ],
    Api.UPLOAD: [(100, A, False), (101, R, False), (108, F, True), (201, R, False), (202, R, False), (203, R, False)],
    Api.CHAT: [
        (99, F, True),
        (100, A, False),
        (101, R, False),
        (102, R, False),
        (103, R, False),
        (104, R, False),
        (105, R, False),
        (106, R, False),
        (108, R, False),
        (111, F, True),
        (112, R, False),
    ],
}


@pytest.mark.parametrize(
    ("api", "code", "status", "retriable"),
    [(api, code, status, retry) for api, rows in SEED.items() for code, status, retry in rows],
)
def test_documented_codes(api: Api, code: int, status: ResultStatus, retriable: bool) -> None:
    meaning = api.meaning(str(code))
    assert (meaning.status, meaning.retriable) == (status, retriable)
    assert meaning.name != "UNKNOWN_CODE"


@pytest.mark.parametrize("api", list(Api))
def test_tables_hold_exactly_the_documented_codes(api: Api) -> None:
    assert sorted(int(code) for code in api.codes) == sorted(code for code, _, _ in SEED[api])


@pytest.mark.parametrize("api", list(Api))
def test_unknown_code_is_failed_not_retried_and_keeps_the_code(api: Api) -> None:
    meaning = api.meaning("555")
    assert meaning.status is F and not meaning.retriable and "555" in meaning.description
