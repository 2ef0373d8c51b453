"""Scratch PostgreSQL databases and COPY loading shared by the benchmarks."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

ADMIN_URL = os.environ.get("CECP_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def split_url(url: str) -> tuple[str, str]:
    """(admin URL for psycopg, database name) of a SQLAlchemy or psycopg URL."""
    base, name = url.rsplit("/", 1)
    return base.replace("postgresql+psycopg://", "postgresql://", 1) + "/postgres", name


def recreate(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    admin, name = split_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def url_for(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) \
        + "/" + name


@contextmanager
def scratch(url: str) -> Iterator[str]:
    """A fresh database for one benchmark, dropped afterwards whatever happens."""
    recreate(url)
    try:
        yield url
    finally:
        recreate(url, drop_only=True)


def copy_rows(conn, table: str, cols: tuple[str, ...], rows: Iterable[tuple]) -> int:
    """COPY rows (tuples in `cols` order) into `table`; None becomes NULL."""
    n = 0
    with conn.cursor() as cur, cur.copy(
            f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
        buf: list[str] = []
        for row in rows:
            buf.append("\t".join("\\N" if v is None else str(v) for v in row))
            n += 1
            if len(buf) >= 50_000:
                cp.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            cp.write("\n".join(buf) + "\n")
    return n
