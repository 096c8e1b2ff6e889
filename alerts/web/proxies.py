"""Who sent a request, behind the reverse proxies we trust (TOCSIN_TRUSTED_PROXIES): a
middleware (aiohttp-remotes) sets `request.remote` to the client's address, so every
handler and limit reads that and nothing reads X-Forwarded-For.

The header is followed only when the peer itself is a trusted proxy; anyone else could
name a new address for every request and so slip past every per-address limit. From a
trusted peer the chain is walked from the right, past the trusted hops (aiohttp-remotes'
XForwardedFiltered), to the first address we do not run: the client as the outermost of
our proxies saw it.

A header we cannot read is never an error: an emergency page must open for a visitor whose
own proxy writes `unknown` (Squid does) or sends junk. The walk stops at the first entry that
is not an address, so the client is the last hop we could still vouch for. X-Forwarded-Host
and -Proto are not taken: the proxy passes them through from the client, and nothing here
needs them."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware
from aiohttp_remotes import XForwardedFiltered
from aiohttp_remotes.exceptions import IPAddress, UntrustedIP
from aiohttp_remotes.utils import check_ip
from multidict import MultiMapping

from alerts.config import Config


class TrustedProxies(XForwardedFiltered):
    """XForwardedFiltered, asked only by a trusted peer, and lenient where it answers 400."""

    def __init__(self, trusted: Sequence[str]) -> None:
        super().__init__(trusted)

    def trusts(self, peer: str | None) -> bool:
        try:
            check_ip(self._trusted, ip_address(peer or ""))
        except (ValueError, UntrustedIP):
            return False
        return True

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.trusts(request.remote):
            return await handler(request)
        return await super().middleware(request, handler)

    def get_forwarded_for(self, headers: MultiMapping[str]) -> list[IPAddress]:
        # Several X-Forwarded-For headers are one list, as a proxy that joins them would send
        # it (the library answers 400); the chain is read from the right up to the first
        # entry that is not an address (the library answers 400 for any).
        entries = ",".join(headers.getall(hdrs.X_FORWARDED_FOR, [])).split(",")
        chain: list[IPAddress] = []
        for entry in reversed(entries):
            try:
                chain.append(ip_address(entry.strip()))
            except ValueError:
                break
        return chain[::-1]

    def get_forwarded_proto(self, headers: MultiMapping[str]) -> list[str]:
        return []

    def get_forwarded_host(self, headers: MultiMapping[str]) -> list[str]:
        return []


def trusted_proxies(config: Config) -> list[Middleware]:
    """The middleware to put first in the app's list (before anything that reads
    request.remote); none when no proxy is trusted."""
    if not config.trusted_proxies:
        return []
    return [TrustedProxies(config.trusted_proxies).middleware]
