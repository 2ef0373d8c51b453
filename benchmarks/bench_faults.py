"""Faults under steady load (R-8.1c, d): Redis restarted, PostgreSQL restarted, a worker
killed mid-job, a web node killed — on services this benchmark starts itself (a private
PostgreSQL cluster by initdb + pg_ctl, its own redis-server with an append-only file, two
gunicorn nodes behind HAProxy, a `cecp worker`). Meanwhile Locust users browse and a
producer enqueues a probe job a second (each pauses 0.5 s, so a kill lands mid-job). After
the run every job the producer committed must have run (nothing lost), checked in the audit log.

Each fault's row: the share of requests that failed in the 30 s after it, and the recovery
time (from the fault to the last failed request of that window; 0 when none failed). A
killed worker is replaced at once, as a service manager (systemd `Restart=always`) would;
the job it held comes back through its lease (`CECP_JOB_LEASE_SECONDS`, 20 s here).

Knobs: CECP_FAULT_USERS (60), CECP_FAULT_SPACING (seconds between faults, 35).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks import cluster, loadrun

WINDOW = 30.0


def _producer(app, stop: threading.Event, committed: list[str], errors: list[float]) -> None:
    from app.extensions import db
    from app.jobs.outbox import enqueue
    from app.uow import commit

    i = 0
    with app.app_context():
        while not stop.is_set():
            tag = f"fault-{i}"
            try:
                enqueue("jobs.probe", key=tag, tag=tag, pause=0.5)
                commit()
                committed.append(tag)
                i += 1
            except Exception:  # noqa: BLE001 - database or Redis away: try the same key again
                db.session.rollback()
                db.session.remove()
                errors.append(time.time())
            stop.wait(1.0)  # below one worker's pace: the backlog drains


def _done_tags(app) -> set[str]:
    from sqlalchemy import select

    from app.audit.models import AuditRecord
    from app.extensions import db

    with app.app_context():
        rows = db.session.scalars(
            select(AuditRecord.object_id).where(AuditRecord.action == "jobs.probe")
        ).all()
        db.session.remove()
    return set(rows)


def _outbox_states(app, tags: set[str]) -> dict[str, int]:
    """Status of the outbox rows of the given keys (why a job is missing, if one is)."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.jobs.models import OutboxJob

    with app.app_context():
        rows = db.session.execute(
            select(OutboxJob.status, func.count())
            .where(OutboxJob.key.in_(sorted(tags)))
            .group_by(OutboxJob.status)
        ).all()
        db.session.remove()
    return dict(rows)


def _fault_stats(samples: list, at: float) -> tuple[float, float, int]:
    window = [s for s in samples if at <= s[0] < at + WINDOW]
    failed = [s for s in window if s[3]]
    rate = len(failed) / len(window) if window else 0.0
    recovery = max((s[0] for s in failed), default=at) - at
    return rate, recovery, len(window)


def run() -> list[dict]:
    users = int(os.environ.get("CECP_FAULT_USERS", 60))
    spacing = float(os.environ.get("CECP_FAULT_SPACING", 35))
    work = Path(tempfile.mkdtemp(prefix="cecp-faults-"))
    procs: list = []
    pg = cluster.PrivatePostgres(work).init()
    pg.start()
    try:
        url = pg.create_db("cecp_faults")
        loadrun.prepare_database(url, users=users, enterprises=3, months=3)
        redis_proc, rport = cluster.start_redis(work)
        procs.append(redis_proc)
        redis_url = f"redis://127.0.0.1:{rport}/0"
        env = cluster.app_env(
            database_url=url,
            redis_url=redis_url,
            workdir=work,
            CECP_JOB_LEASE_SECONDS=20,
            CECP_JOB_SWEEP_SECONDS=5,
        )
        nodes = [cluster.start_gunicorn(env, workdir=work, workers=1) for _ in range(2)]
        procs.extend(n.proc for n in nodes)
        proxy, hport = cluster.start_haproxy(backends=[n.port for n in nodes], workdir=work)
        procs.append(proxy)
        cecp = str(Path(sys.executable).parent / "cecp")

        def start_worker():
            p = cluster._spawn([cecp, "worker"], env=env, log=work / "worker.log")
            procs.append(p)
            return p

        worker = [start_worker()]
        os.environ.update(cluster.SECRETS)
        from app import create_app

        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "CECP_REDIS_URL": redis_url,
                "CECP_INSTANCE_PATH": str(work),
            }
        )
        committed: list[str] = []
        producer_errors: list[float] = []
        stop = threading.Event()
        producer = threading.Thread(
            target=_producer, args=(app, stop, committed, producer_errors), daemon=True
        )
        producer.start()
        faults: dict[str, float] = {}

        def restart_redis():
            nonlocal redis_proc
            cluster.stop(redis_proc)
            redis_proc, _ = cluster.start_redis(work, port=rport)
            procs.append(redis_proc)

        def kill_worker():
            os.killpg(worker[0].pid, signal.SIGKILL)
            worker[0].wait(10)
            worker[0] = start_worker()  # the service manager restarts it

        def kill_node():
            os.killpg(nodes[0].proc.pid, signal.SIGKILL)

        plan = [
            ("Redis restarted", restart_redis),
            ("PostgreSQL restarted", pg.restart),
            ("worker killed mid-job", kill_worker),
            ("web node killed", kill_node),
        ]

        def during(elapsed: float) -> None:
            k = len(faults)
            if k < len(plan) and elapsed >= spacing * (k + 1):
                name, fn = plan[k]
                faults[name] = time.time()
                fn()

        seconds = int(spacing * (len(plan) + 1))
        result = loadrun.run_locust(
            host=f"http://127.0.0.1:{hport}",
            users=users,
            spawn_rate=max(5, users / 10),
            seconds=seconds,
            workdir=work,
            wait="1,3",
            during=during,
        )
        stop.set()
        producer.join(30)
        deadline = time.time() + 300
        missing = set(committed) - _done_tags(app)
        while missing and time.time() < deadline:
            time.sleep(3)
            missing = set(committed) - _done_tags(app)
        first = min(faults.values(), default=time.time())
        calm = loadrun.summarise(result["samples"], 0, first, "before")
        rows = [
            {
                "measure": "faults run: failed requests before the first fault",
                "value": calm.failures / max(1, calm.requests) * 100,
                "unit": "%",
                "note": f"{calm.failures:,} of {calm.requests:,} (the load alone)",
            }
        ]
        for name, at in faults.items():
            rate, recovery, n = _fault_stats(result["samples"], at)
            rows.append(
                {
                    "measure": f"fault: {name}: failed requests in {WINDOW:.0f} s after",
                    "value": rate * 100,
                    "unit": "%",
                    "note": f"recovered in {recovery:.1f} s, {n:,} requests in the window",
                }
            )
        allst = result["all"]
        rows.append(
            {
                "measure": "faults run: requests failed overall",
                "value": allst.failures / max(1, allst.requests) * 100,
                "unit": "%",
                "note": f"{allst.failures:,} of {allst.requests:,}, {users} users",
            }
        )
        rows.append(
            {
                "measure": "faults run: committed jobs lost",
                "value": len(missing),
                "unit": "jobs",
                "note": f"{len(committed):,} committed, missing by outbox status "
                f"{_outbox_states(app, missing) if missing else {}}, "
                f"{len(producer_errors):,} enqueue attempts refused while a store "
                "was down (retried)",
            }
        )
        return rows
    finally:
        for p in reversed(procs):
            cluster.stop(p)
        try:
            pg.stop("immediate")
        except Exception:  # noqa: BLE001
            pass
        if not os.environ.get("CECP_BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
