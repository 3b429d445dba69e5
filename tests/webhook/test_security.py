from __future__ import annotations

from connector.webhook.security import SourcePolicy, token_matches


def test_token() -> None:
    assert token_matches("s3cret", "s3cret")
    assert not token_matches("s3cre", "s3cret") and not token_matches(None, "s3cret") and not token_matches("", "x")


def test_allow_list_without_proxies() -> None:
    policy = SourcePolicy(["10.1.0.0/16", "127.0.0.1/32"], [], "X-Forwarded-For")
    assert policy.admits("127.0.0.1", {})
    assert not policy.admits("192.0.2.7", {"x-forwarded-for": "10.1.2.3"})  # untrusted header
    assert not policy.allows(None) and not policy.allows("not-an-ip")


def test_forwarded_header_only_from_trusted_proxies() -> None:
    policy = SourcePolicy(["203.0.113.0/24"], ["10.0.0.0/8"], "X-Forwarded-For")
    headers = {"x-forwarded-for": "198.51.100.9, 203.0.113.5, 10.0.0.2"}
    assert policy.client_address("10.0.0.1", headers) == "203.0.113.5"  # last hop not a proxy
    assert policy.admits("10.0.0.1", headers)
    assert policy.client_address("10.0.0.1", {}) == "10.0.0.1"


def test_empty_allow_list_allows_everyone() -> None:
    policy = SourcePolicy([], ["10.0.0.0/8"], "X-Forwarded-For")
    assert (
        policy.allows("192.0.2.1") and policy.admits(None, {}) and policy.admits("10.0.0.1", {"x-forwarded-for": "x"})
    )
