"""Read-only SQL over the read index: the tables of ``git run query`` (docs/format.md, "Query tables").

The views are created per connection in SQLite's temporary schema over the index's ``run_index``
table, so the index can change its private layout while the views (the contract, versioned by
``QUERY_SCHEMA``) stay. The connection opens the file read-only and an authorizer allows reads
only: no write, ATTACH, PRAGMA or transaction statement gets through, whatever the SQL says.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from gitrun.errors import UsageError
from gitrun.store.index import RunIndex

QUERY_SCHEMA = 1  # version of the query tables' contract

_RUN_COLUMNS = """
    id, name, status, exit_code, signal, started, ended, duration_s, branch, base_commit, message, command,
    user, host, cwd, tags, expect_met, baseline_of, snapshot_commit, ref_target AS result_commit,
    params, metrics, summary, data, problem
"""

_FIXED_VIEWS = {
    "tags": "SELECT r.id AS run_id, t.value AS tag FROM run_index r, json_each(r.tags) t",
    "params": "SELECT r.id AS run_id, p.key AS name, p.value AS value FROM run_index r, json_each(r.params) p",
    "metrics": "SELECT r.id AS run_id, m.key AS name, m.value AS value FROM run_index r, json_each(r.metrics) m",
    "summaries": ("SELECT r.id AS run_id, s.key AS metric, json_extract(s.value, '$.min') AS min, "
                  "json_extract(s.value, '$.max') AS max, json_extract(s.value, '$.last') AS last, "
                  "json_extract(s.value, '$.count') AS count, json_extract(s.value, '$.last_step') AS last_step "
                  "FROM run_index r, json_each(r.summary) s WHERE s.type = 'object'"),
    "datasets": ("SELECT r.id AS run_id, json_extract(d.value, '$.name') AS name, "
                 "json_extract(d.value, '$.path') AS path, json_extract(d.value, '$.version') AS version, "
                 "json_extract(d.value, '$.hash') AS hash, json_extract(d.value, '$.size') AS size, "
                 "json_extract(d.value, '$.files') AS files, json_extract(d.value, '$.location') AS location "
                 "FROM run_index r, json_each(r.data) d WHERE d.type = 'object'"),
    "query_schema": f"SELECT {QUERY_SCHEMA} AS version",
}

_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}


def column_name(prefix: str, key: str, taken: set[str]) -> str:
    """``params_lr``, ``metrics_train_loss`` (every character outside [A-Za-z0-9_] becomes ``_``)."""
    base = prefix + "_" + re.sub(r"[^A-Za-z0-9_]", "_", key)
    name, number = base, 2
    while name.lower() in taken:
        name, number = f"{base}_{number}", number + 1
    taken.add(name.lower())
    return name


def _quoted_path(key: str) -> str:
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def open_query_connection(index: RunIndex) -> sqlite3.Connection:
    """A read-only connection to the up-to-date index with the query views defined."""
    index.sync()
    conn = sqlite3.connect(f"file:{index.path}?mode=ro", uri=True, timeout=30)
    taken = {name.strip().split()[-1].lower() for name in _RUN_COLUMNS.split(",")}
    pivots = []
    for prefix, column in (("params", "params"), ("metrics", "metrics")):
        keys = [row[0] for row in conn.execute(
            f"SELECT DISTINCT j.key FROM run_index r, json_each(r.{column}) j ORDER BY j.key")]
        for key in keys:
            pivots.append(f"json_extract({column}, {_sql_text(_quoted_path(key))}) AS "
                          f'"{column_name(prefix, key, taken)}"')
    conn.execute("CREATE TEMP VIEW runs AS SELECT " + ", ".join([_RUN_COLUMNS.strip(), *pivots])
                 + " FROM run_index")
    for name, body in _FIXED_VIEWS.items():
        conn.execute(f"CREATE TEMP VIEW {name} AS {body}")
    conn.set_authorizer(_authorize)
    return conn


def _authorize(action: int, *_args: Any) -> int:
    return sqlite3.SQLITE_OK if action in _ALLOWED else sqlite3.SQLITE_DENY


def run_query(index: RunIndex, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of one read-only query."""
    conn = open_query_connection(index)
    try:
        cursor = conn.execute(sql)
        headers = [item[0] for item in cursor.description or ()]
        return headers, cursor.fetchall()
    except (sqlite3.Warning, sqlite3.ProgrammingError):
        raise UsageError("give one SQL statement", hint='e.g. git run query "SELECT name, status FROM runs"')
    except sqlite3.DatabaseError as err:
        message = str(err)
        if "not authorized" in message:
            raise UsageError("git run query runs read-only SELECT statements only",
                             hint="tables: runs, tags, params, metrics, summaries, datasets (docs/format.md)")
        raise UsageError(f"query failed: {message}",
                         hint="tables: runs, tags, params, metrics, summaries, datasets (docs/format.md)")
    finally:
        conn.close()
