"""Who may call the webhook: a shared secret (callbacks are not signed by the provider, so the URL or a
header carries one), compared in constant time, and an optional source-network allow-list that
honours a forwarded-for header only from trusted proxies."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def token_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class SourcePolicy:
    def __init__(self, allowed: list[str], trusted_proxies: list[str], forwarded_header: str) -> None:
        self._allowed: list[Network] = [ipaddress.ip_network(n, strict=False) for n in allowed]
        self._proxies: list[Network] = [ipaddress.ip_network(n, strict=False) for n in trusted_proxies]
        self._header = forwarded_header.lower()

    def client_address(self, peer: str | None, headers: Mapping[str, str]) -> str | None:
        """The caller: the peer, or the last untrusted hop of the forwarded header when the peer is a proxy."""
        if peer is None or not self._is_in(peer, self._proxies):
            return peer
        hops = [hop.strip() for hop in headers.get(self._header, "").split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._is_in(hop, self._proxies):
                return hop
        return peer

    def allows(self, address: str | None) -> bool:
        if not self._allowed:
            return True
        return address is not None and self._is_in(address, self._allowed)

    def admits(self, peer: str | None, headers: Mapping[str, str]) -> bool:
        """Whether a request from `peer` with `headers` may call: no address work without an allow-list."""
        return not self._allowed or self.allows(self.client_address(peer, headers))

    @staticmethod
    def _is_in(address: str, networks: list[Network]) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)
