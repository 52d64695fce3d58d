"""What every route of the plugin shares: the served catalog's database, plain-text answers
with the server's CORS headers, tilde-encoded row URLs, and text fit for headers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from vexy_catalog.serve import CATALOG_DB


def catalog_db(datasette: Any) -> Any:
    """The catalog's ``datasette.database.Database``, or None while there is no catalog."""
    return datasette.databases.get(CATALOG_DB)


def sqlite_utils_db(conn: sqlite3.Connection) -> Any:
    """A sqlite_utils Database over one of Datasette's (read-only) connections."""
    from sqlite_utils import Database

    return Database(conn, recursive_triggers=False, execute_plugins=False)


# Bytes of the catalog file each connection reads through memory-mapped I/O (SQLite maps at most
# the file's size): a page of a 100k-model catalog reads thousands of rows scattered over the
# file, and a read from the mapping skips a system call and a copy per page. A search that
# matches 10% of 100k models, counted and faceted six times, takes half as long.
MMAP_BYTES = 1 << 30


def tune_connection(conn: sqlite3.Connection) -> None:
    """Settings for the catalog's read connections (Datasette's ``prepare_connection``)."""
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")


def text_response(body: str, status: int = 200, datasette: Any = None) -> Any:
    from datasette.utils.asgi import Response

    return Response.text(body, status=status, headers=cors_headers(datasette))


def cors_headers(datasette: Any) -> dict[str, str]:
    """CORS headers when the server was started with ``--cors``, else none."""
    headers: dict[str, str] = {}
    if datasette is not None and datasette.cors:
        from datasette.utils import add_cors_headers

        add_cors_headers(headers)
    return headers


async def known_providers(db: Any) -> list[str]:
    """Every provider of the catalog: configured, or with models."""
    from vexy_catalog.query import model_providers

    def names(conn: Any) -> list[str]:
        configured = [row[0] for row in conn.execute("select name from providers")]
        return sorted(set(configured).union(model_providers(conn)))

    return await db.execute_fn(names)


def tilde(value: str) -> str:
    from datasette.utils import tilde_encode

    return tilde_encode(value)


def model_href(datasette: Any, provider: str, model_id: str) -> str:
    """A model's row page."""
    return datasette.urls.row(CATALOG_DB, "models", f"{tilde(provider)},{tilde(model_id)}")


def compare_href(datasette: Any, models: Iterable[tuple[str, str]]) -> str:
    """The compare page for (provider, model_id) pairs: ``?m=provider/model_id&m=...``."""
    return datasette.urls.path("/-/vexy/compare") + "?" + urlencode([("m", f"{p}/{m}") for p, m in models])


def with_charset(media_type: str) -> str:
    """A textual media type with ``; charset=utf-8``."""
    base = media_type.split(";")[0].strip().lower()
    textual = base.startswith("text/") or base in ("application/json", "application/yaml", "application/toml")
    if textual and "charset" not in media_type.lower():
        return f"{media_type}; charset=utf-8"
    return media_type


def ascii_header(value: str) -> str:
    """``value`` as one line of ASCII, fit for an HTTP header."""
    return " ".join(value.encode("ascii", "replace").decode("ascii").split())
