"""Service registry on etcd (R-5.5), through etcd's v3 JSON gateway with `requests`.

Why the gateway: Debian's `etcd-server` is 3.4; the `etcd3` client on PyPI is unmaintained
and breaks on current protobuf, while the gateway (`/v3/kv/put`, `/v3/kv/range`,
`/v3/lease/grant`, `/v3/lease/keepalive`; keys and values base64) works with any v3 server.

Layout under `CECP_ETCD_PREFIX` (default `/cecp`):
- `nodes/<kind>/<node id>` → JSON {id, kind, host, pid, services, started_at, last_seen},
  attached to the node's lease (`CECP_ETCD_TTL` seconds, kept alive every TTL/3 by a daemon
  thread). A node that dies stops renewing: etcd deletes its key when the lease expires, so
  discovery never lists a dead node for longer than the TTL.
- `status/<node id>` → "offline" while an administrator has drained the node (no lease: it
  survives the node's restarts until set online again).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from typing import Any

import requests

log = logging.getLogger(__name__)


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _unb64(s: str) -> str:
    return base64.b64decode(s).decode()


def _prefix_end(prefix: str) -> str:
    """The range end covering every key that starts with `prefix`."""
    raw = bytearray(prefix.encode())
    raw[-1] += 1
    return base64.b64encode(bytes(raw)).decode()


class EtcdError(RuntimeError):
    pass


class Etcd:
    """A minimal etcd v3 client: put/get/range/delete and leases."""

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            r = self.http.post(f"{self.url}{path}", json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise EtcdError(f"etcd 不可达 ({self.url}): {exc}") from exc
        if r.status_code != 200:
            raise EtcdError(f"etcd {path} 返回 {r.status_code}: {r.text[:200]}")
        return r.json()

    def grant(self, ttl: int) -> str:
        return self._post("/v3/lease/grant", {"TTL": ttl})["ID"]

    def keepalive(self, lease: str) -> bool:
        """Renew a lease; False when etcd no longer knows it (expired)."""
        out = self._post("/v3/lease/keepalive", {"ID": lease})
        return int(out.get("result", {}).get("TTL", 0) or 0) > 0

    def revoke(self, lease: str) -> None:
        self._post("/v3/lease/revoke", {"ID": lease})

    def put(self, key: str, value: str, *, lease: str | None = None) -> None:
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = lease
        self._post("/v3/kv/put", body)

    def get(self, key: str) -> str | None:
        kvs = self._post("/v3/kv/range", {"key": _b64(key)}).get("kvs") or []
        return _unb64(kvs[0].get("value", "")) if kvs else None

    def get_prefix(self, prefix: str) -> dict[str, str]:
        kvs = (
            self._post("/v3/kv/range", {"key": _b64(prefix), "range_end": _prefix_end(prefix)}).get(
                "kvs"
            )
            or []
        )
        return {_unb64(kv["key"]): _unb64(kv.get("value", "")) for kv in kvs}

    def delete(self, key: str) -> None:
        self._post("/v3/kv/deleterange", {"key": _b64(key)})


class Registration:
    """This process's entry in the registry, kept alive by a daemon thread. If the lease
    was lost (etcd restarted, a long pause), the next beat registers again."""

    def __init__(self, client: Etcd, *, key: str, record: dict[str, Any], ttl: int) -> None:
        self.client, self.key, self.record, self.ttl = client, key, record, ttl
        self.lease: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self) -> None:
        self.lease = self.client.grant(self.ttl)
        self._put()

    def _put(self) -> None:
        self.record["last_seen"] = time.time()
        self.client.put(self.key, json.dumps(self.record, ensure_ascii=False), lease=self.lease)

    def beat(self) -> None:
        try:
            if self.lease is None or not self.client.keepalive(self.lease):
                self.register()
            else:
                self._put()
        except EtcdError:
            self.lease = None
            log.warning("etcd registration of %s failed; retrying", self.key, exc_info=True)

    def start(self) -> Registration:
        self.beat()

        def loop() -> None:
            while not self._stop.wait(max(1.0, self.ttl / 3)):
                self.beat()

        self._thread = threading.Thread(target=loop, name="cecp-etcd-lease", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Leave the registry at once (graceful shutdown) instead of waiting for the TTL."""
        self._stop.set()
        if self.lease:
            try:
                self.client.revoke(self.lease)
            except EtcdError:
                pass
