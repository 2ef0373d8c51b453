"""Small writes sent together: on PostgreSQL, writes deferred with `defer` go to the server
as the data-modifying CTEs of one statement, just before the next statement on the
connection (or its commit).

Why: a workflow step derives five to eight one-row writes (inbox rows, timer rows, the
timeline row). Each statement costs more on the Python side (SQLAlchemy, psycopg) than on
the server; one statement for all of them saves most of it.

The rules that make deferring invisible to the transaction:
- pending writes are sent before any other statement on the same connection (so every read,
  lock and flush sees them, and lock order stays the order of the calls), before a
  savepoint and before the commit; a rollback, whole or to a savepoint, drops them (they
  were never sent);
- writes deferred together run on one snapshot: they must touch distinct rows and not depend
  on each other's effects (a DELETE of some rows and an INSERT of others is fine), and
  nobody reads their row counts;
- an error in a deferred write surfaces at the next statement or the commit, which then
  fails: the transaction is rolled back as a whole, as with any failed statement.

Other databases (SQLite, the embedded mode) run each write at once. The SQL is plain text
with ``:name`` parameters (the same on both), built by the helpers below and cached per
shape.

Containment: the connection events are installed on the application's engine only
(`install`, from `create_app`), never on every engine of the process; deferring on a
PostgreSQL connection of another engine is refused (its writes would never be sent). Only
the workflow's persistence and journal and the audit chain defer writes (a test holds the
list). A failing deferred write raises the database's error with the write named (table
and row) in front of the driver's message: the merged statement alone would not say
which of its writes failed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, Engine, TextClause, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

_PENDING = "_cecp_pending_writes"
# How SQLAlchemy's text() finds its ":name" parameters (not "::type" casts).
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")

Write = tuple[str, Mapping[str, Any]]


def defer(conn: Connection, sql: str, params: Mapping[str, Any]) -> None:
    """Send `sql` (one INSERT, UPDATE or DELETE, no RETURNING) with the next statement."""
    if conn.dialect.name != "postgresql":
        _run(conn, [(sql, params)], sql, _portable(conn, params))
        return
    if not installed(conn):
        raise RuntimeError("write_batch: 此数据库引擎未安装延迟写入 (write_batch.install)，"
                           "延迟的写入不会被发送")
    pending: list[Write] | None = conn.__dict__.get(_PENDING)
    if pending is None:
        conn.__dict__[_PENDING] = [(sql, params)]
    else:
        pending.append((sql, params))


def flush(conn: Connection) -> None:
    """Send the pending writes now (one statement)."""
    pending = conn.__dict__.pop(_PENDING, None)
    if pending:
        sql, params = _merge(pending)
        _run(conn, pending, sql, params)


def _run(conn: Connection, writes: Sequence[Write], sql: str,
         params: Mapping[str, Any]) -> None:
    try:
        conn.execute(statement(sql), params)
    except DBAPIError as exc:
        raise _named(exc, writes) from exc.orig


def _portable(conn: Connection, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Datetimes as SQLAlchemy stores them on this dialect (SQLite keeps text)."""
    if not any(isinstance(v, datetime) for v in params.values()):
        return params
    to_db = DateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect)
    if to_db is None:
        return params
    return {k: to_db(v) if isinstance(v, datetime) else v for k, v in params.items()}


def pending(conn: Connection) -> int:
    return len(conn.__dict__.get(_PENDING) or ())


@lru_cache(maxsize=1024)
def statement(sql: str) -> TextClause:
    return text(sql)


def _merge(writes: Sequence[Write]) -> Write:
    if len(writes) == 1:
        return writes[0]
    sql = _combined(tuple(sql for sql, _ in writes))
    params = {f"w{i}_{k}": v for i, (_, p) in enumerate(writes) for k, v in p.items()}
    return sql, params


@lru_cache(maxsize=512)
def _combined(sqls: tuple[str, ...]) -> str:
    """``WITH w0 AS (first), w1 AS (second) last``, each one's parameters prefixed ``wI_``."""
    renamed = [_BIND.sub(lambda m, i=i: f":w{i}_{m.group(1)}", sql)
               for i, sql in enumerate(sqls)]
    ctes = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(renamed[:-1]))
    return f"WITH {ctes} {renamed[-1]}"


# -- SQL builders (portable text, cached per shape) ------------------------------------


@lru_cache(maxsize=256)
def insert_sql(table: str, columns: tuple[str, ...], n: int) -> str:
    """``INSERT INTO table (a, b) VALUES (:a_0, :b_0), (:a_1, :b_1)`` for n rows."""
    rows = ", ".join("(" + ", ".join(f":{c}_{i}" for c in columns) + ")" for i in range(n))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {rows}"


def insert_params(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {f"{c}_{i}": row[c] for i, row in enumerate(rows) for c in columns}


def defer_insert(conn: Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Defer a multi-row INSERT (every row has the same keys)."""
    if rows:
        columns = tuple(rows[0])
        defer(conn, insert_sql(table, columns, len(rows)), insert_params(columns, rows))


@lru_cache(maxsize=256)
def in_list(name: str, n: int) -> str:
    """``(:name_0, :name_1, ...)``: a portable IN list of n parameters."""
    return "(" + ", ".join(f":{name}_{i}" for i in range(n)) + ")"


def list_params(name: str, values: Sequence[Any]) -> dict[str, Any]:
    return {f"{name}_{i}": v for i, v in enumerate(values)}


# -- naming a failed write ----------------------------------------------------------------

_TABLE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.I)
_ROW = re.compile(r"^(\w+?)(?:_(\d+))?$")
_KEY = re.compile(r"Key \((.+?)\)=\((.*?)\)")


def table_of(sql: str) -> str | None:
    m = _TABLE.match(sql)
    return m.group(1) if m else None


def _rows_of(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A write's parameters as rows: ``name_0, id_0, name_1`` -> two rows (multi-row
    INSERTs and IN lists); plain ``:name`` parameters are one row."""
    rows: dict[int, dict[str, Any]] = {}
    for key, value in params.items():
        m = _ROW.match(key)
        column, index = (m.group(1), int(m.group(2))) if m and m.group(2) else (key, 0)
        rows.setdefault(index, {})[column] = value
    return [rows[i] for i in sorted(rows)]


def _culprit(writes: Sequence[Write], diag: Any) -> tuple[str | None, Any]:
    """The failed write's table and row, from the server's diagnostics where it gives them
    (table, column, ``Key (..)=(..)``), else the first write."""
    table = getattr(diag, "table_name", None)
    column = getattr(diag, "column_name", None)
    key = _KEY.search(getattr(diag, "message_detail", None) or "")
    candidates = [w for w in writes if table is None or table_of(w[0]) == table] or list(writes)
    for sql, params in candidates:
        rows = _rows_of(params)
        for row in rows:
            if column and column in row and row[column] is None:
                return table_of(sql), row
            if key:
                cols = [c.strip() for c in key.group(1).split(",")]
                vals = [v.strip() for v in key.group(2).split(",")]
                if all(str(row.get(c)) == v for c, v in zip(cols, vals, strict=False)):
                    return table_of(sql), row
    sql, params = candidates[0]
    rows = _rows_of(params)
    return table_of(sql), rows[0] if len(rows) == 1 else rows


def _named(exc: DBAPIError, writes: Sequence[Write]) -> DBAPIError:
    """The same kind of error (callers catching IntegrityError still do), its message
    naming the write that failed."""
    table, row = _culprit(writes, getattr(exc.orig, "diag", None))
    label = f"延迟写入失败 (deferred write failed): table {table}, row {row!r}"
    return type(exc)(label, None, exc.orig, hide_parameters=True)


# -- the connection's events (installed on the application's engine only) ---------------


def installed(conn: Connection) -> bool:
    """Whether `conn`'s engine sends deferred writes (`install`)."""
    engine: Any = conn.engine
    while engine is not None:  # an engine with execution options proxies its parent
        if event.contains(engine, "before_execute", _send_first):
            return True
        engine = getattr(engine, "_proxied", None)
    return False


def install(engine: Engine) -> None:
    """Send deferred writes before the next statement, savepoint or commit of `engine`'s
    connections; drop them on rollback. Idempotent."""
    if event.contains(engine, "before_execute", _send_first):
        return
    event.listen(engine, "before_execute", _send_first)
    event.listen(engine, "commit", _send_before_commit)
    event.listen(engine, "savepoint", _send_before_savepoint)
    event.listen(engine, "rollback", _drop)
    event.listen(engine, "rollback_savepoint", _drop_since_savepoint)


def _send_first(conn: Connection, *args: Any) -> None:
    if _PENDING in conn.__dict__:
        flush(conn)


def _send_before_commit(conn: Connection) -> None:
    if _PENDING in conn.__dict__:
        flush(conn)


def _send_before_savepoint(conn: Connection, name: str) -> None:
    if _PENDING in conn.__dict__:  # what is pending now is older than the savepoint
        flush(conn)


def _drop(conn: Connection) -> None:
    conn.__dict__.pop(_PENDING, None)


def _drop_since_savepoint(conn: Connection, name: str, context: Any) -> None:
    conn.__dict__.pop(_PENDING, None)  # all deferred after the savepoint began

