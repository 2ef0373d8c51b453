"""R-5.5: service registration and discovery on a real etcd (started here, 127.0.0.1):
nodes register with a lease and their services, the governance page and health read the
registry, taking a node offline drains it, a dead node's lease expires."""

from __future__ import annotations

import re
import time

import pytest

from benchmarks import cluster
from tests.conftest import enrol_totp, login
from tests.ops.conftest import need_binary


@pytest.fixture(scope="module")
def etcd_url(tmp_path_factory):
    need_binary("etcd")
    proc, url = cluster.start_etcd(tmp_path_factory.mktemp("etcd"))
    yield url
    cluster.stop(proc)


@pytest.fixture()
def on_etcd(app, etcd_url):
    prefix = f"/cecp-test-{time.time_ns()}"
    app.config.update(CECP_ETCD_URL=etcd_url, CECP_ETCD_PREFIX=prefix, CECP_ETCD_TTL=3)
    yield prefix
    for reg in app.extensions.pop("cecp_etcd_regs", {}).values():
        reg.stop()
    app.config.update(CECP_ETCD_URL=None, CECP_ETCD_PREFIX="/cecp")


def test_nodes_register_with_a_lease_and_are_discovered(db, app, on_etcd, etcd_url):
    from app.platform import nodes
    from app.platform.etcd import Etcd, Registration

    nodes.maybe_heartbeat("web")
    nodes.maybe_heartbeat("worker")
    listed = {n["id"]: n for n in nodes.list_nodes()}
    assert nodes.node_id("web") in listed and nodes.node_id("worker") in listed
    assert "accounting" in listed[nodes.node_id("web")]["services"]
    assert nodes.registry_name() == "etcd"
    # the database table stays empty: etcd is the registry now
    from app.platform.models import ServiceNode

    assert db.session.query(ServiceNode).count() == 0
    # a node that dies stops renewing its lease: it disappears within the TTL
    ghost = Registration(
        Etcd(etcd_url),
        key=f"{on_etcd}/nodes/web/ghost:1:web",
        record={
            "id": "ghost:1:web",
            "kind": "web",
            "host": "ghost",
            "pid": 1,
            "services": [],
            "started_at": time.time(),
        },
        ttl=2,
    )
    ghost.register()  # no keep-alive thread: as if the process were killed
    assert "ghost:1:web" in {n["id"] for n in nodes.list_nodes()}
    deadline = time.monotonic() + 10
    while "ghost:1:web" in {n["id"] for n in nodes.list_nodes()}:
        assert time.monotonic() < deadline, "the lease of a dead node did not expire"
        time.sleep(0.5)
    # a live registration survives several TTLs through its keep-alive thread
    time.sleep(4)
    assert nodes.node_id("web") in {n["id"] for n in nodes.list_nodes()}


def test_offline_drains_the_node_and_is_audited(client, make_user, db, app, on_etcd):
    from sqlalchemy import select

    from app.audit.models import AuditRecord
    from app.platform import nodes

    nodes.maybe_heartbeat("web")
    me = nodes.node_id("web")
    body = client.get("/api/v1/health").get_json()
    assert (
        body["components"]["registry"]["ok"] and "etcd" in body["components"]["registry"]["detail"]
    )
    admin = make_user("admin")
    enrol_totp(admin)
    login(client, admin)
    page = client.get("/admin/services/").get_data(as_text=True)
    assert me in page and "注册中心：etcd" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/admin/services/", data={"node": me, "status": "offline", "csrf_token": token})
    assert client.get("/api/v1/health").status_code == 503  # the balancer stops sending
    rec = db.session.scalars(
        select(AuditRecord).where(AuditRecord.action == "service.node_status")
    ).one()
    assert '"registry": "etcd"' in rec.summary or '"registry":"etcd"' in rec.summary
    client.post("/admin/services/", data={"node": me, "status": "online", "csrf_token": token})
    assert client.get("/api/v1/health").status_code == 200


def test_a_worker_taken_offline_takes_no_new_job(db, app, on_etcd):
    from app.jobs.worker import _drained
    from app.platform import nodes

    nodes.maybe_heartbeat("worker")
    assert not _drained()
    nodes.set_status(nodes.node_id("worker"), "offline")
    assert _drained()
    nodes.set_status(nodes.node_id("worker"), "online")
    assert not _drained()
