"""Who may read the metrics and the detailed health (R-8.1e).

`/api/v1/metrics` and the detailed `/api/v1/health` name components, versions, queue depths
and error counts: useful to an attacker. They answer in full only to a caller presenting the
monitoring token (`Authorization: Bearer <CECP_METRICS_TOKEN>`), or connecting directly from
a network in `CECP_METRICS_NETWORKS` (default: this host only). A request that came through a
proxy (it carries `X-Forwarded-For`) is judged by the token alone, since the proxy's own
address says nothing about the caller. Everyone else gets the public answer: up or down.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from flask import current_app, request


@lru_cache(maxsize=64)
def _networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(n, strict=False) for n in spec)


def token_ok() -> bool:
    expected = current_app.config.get("CECP_METRICS_TOKEN")
    if not expected:
        return False
    header = request.headers.get("Authorization", "")
    given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    return bool(given) and hmac.compare_digest(given.encode(), str(expected).encode())


def network_ok() -> bool:
    if request.headers.get("X-Forwarded-For"):
        return False
    try:
        addr = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    nets = _networks(tuple(current_app.config.get("CECP_METRICS_NETWORKS") or ()))
    return any(addr in n for n in nets)


def monitoring_allowed() -> bool:
    """True when this request may see metrics and the detailed health."""
    return token_ok() or network_ok()
