"""What keeps ``vexy serve`` safe to put on the internet: every plugin route within a time and a
size limit, heavy work (config downloads, feeds, the integrity check) one at a time, the Host
header checked, and no file path of the server in any answer.

- **Time**: every plugin route is answered within ``route_time_limit_ms`` (10 s under
  ``--public``, 60 s otherwise); past it the answer is 503 with a line saying to narrow the
  request. SQL run through :func:`run` is interrupted by SQLite itself at the deadline, so a
  slow query does not keep a thread busy after its answer has gone.
- **Size**: no plugin answer is larger than ``route_max_bytes`` (32 MB; 413 otherwise).
- **Heavy work** (building a config download or a feed, the integrity check) runs
  ``heavy_at_once`` at a time (1 under ``--public``, 2 otherwise), so the browsing pages keep
  Datasette's other threads; ``heavy_queue`` more may wait, the next gets 503 and
  ``Retry-After``.
- **Host**: ``vexy serve`` answers only requests whose ``Host`` is this machine's loopback name
  or address, the ``--host`` it listens on, or one given with ``--allow-host`` (DNS rebinding
  cannot make a browser reach a local server under a name of the attacker's). Listening on
  every interface (``0.0.0.0``) without ``--allow-host`` accepts any name.
- **Paths**: ``/-/databases.json`` names the catalog's file without its folder; ``/-/threads``
  (which shows the server's source paths) is not served under ``--public``.

The limits can be changed in the metadata, under ``plugins: vexy:`` (``route_time_limit_ms``,
``route_max_bytes``, ``heavy_at_once``, ``heavy_queue``, and ``download_max_models`` of
:mod:`.downloads`).
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import time
import weakref
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

from vexy_catalog.serve import serve_options

__all__ = [
    "Busy",
    "RouteTooSlow",
    "asgi_wrapper",
    "guarded",
    "heavy_slot",
    "limit",
    "routes",
    "run",
    "with_deadline",
]

# (public, private) defaults of the plugin settings.
DEFAULTS: dict[str, tuple[int, int]] = {
    "route_time_limit_ms": (10_000, 60_000),
    "route_max_bytes": (32 * 1024 * 1024, 32 * 1024 * 1024),
    "heavy_at_once": (1, 2),
    "heavy_queue": (4, 16),
    "download_max_models": (2_000, 1_000_000),
}
# Seconds an answer may take past the SQL deadline (rendering what the SQL returned).
GRACE = 2.0
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_ANY_ADDRESS = ("0.0.0.0", "::", "")


class RouteTooSlow(Exception):
    """The route's time limit passed."""


class Busy(Exception):
    """Too much heavy work is already waiting."""


def limit(datasette: Any, name: str) -> int:
    """A limit: the metadata's ``plugins: vexy: <name>``, else the default for the mode.
    ValueError (naming the setting) when the metadata's value is not a whole number."""
    options = serve_options(datasette)
    public = bool(options and options.public)
    value = (datasette.plugin_config("vexy") or {}).get(name, DEFAULTS[name][0 if public else 1])
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"plugins: vexy: {name} in the metadata must be a whole number (0 or more), not {value!r}")
    return value


# The deadline of the route being answered (monotonic seconds), for run().
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("vexy_deadline", default=None)


def with_deadline(deadline: float, build: Callable[[sqlite3.Connection], Any]) -> Callable[[sqlite3.Connection], Any]:
    """``build`` run on a connection that SQLite interrupts once ``deadline`` (monotonic) passes."""

    def run_it(conn: sqlite3.Connection) -> Any:
        conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 1000)
        try:
            result = build(conn)
        except sqlite3.OperationalError as e:
            if time.monotonic() > deadline:
                raise RouteTooSlow() from e
            raise
        finally:
            conn.set_progress_handler(None, 0)
        if time.monotonic() > deadline:
            raise RouteTooSlow()
        return result

    return run_it


# Heavy work in progress and waiting, per Datasette instance and event loop.
_HEAVY: weakref.WeakKeyDictionary[Any, dict[Any, tuple[asyncio.Semaphore, list[int]]]] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def heavy_slot(datasette: Any):
    """Hold one of the ``heavy_at_once`` slots; :class:`Busy` when ``heavy_queue`` already wait."""
    loop = asyncio.get_running_loop()
    per_loop = _HEAVY.setdefault(datasette, {})
    if loop not in per_loop:
        per_loop[loop] = (asyncio.Semaphore(max(1, limit(datasette, "heavy_at_once"))), [0])
    semaphore, waiting = per_loop[loop]
    if semaphore.locked():
        if waiting[0] >= limit(datasette, "heavy_queue"):
            raise Busy()
        waiting[0] += 1
        try:
            await semaphore.acquire()
        finally:
            waiting[0] -= 1
    else:
        await semaphore.acquire()
    try:
        yield
    finally:
        semaphore.release()


async def run(datasette: Any, db: Any, build: Callable[[sqlite3.Connection], Any], heavy: bool = False) -> Any:
    """``db.execute_fn(build)`` within the route's deadline (SQLite interrupts it there); with
    ``heavy``, in one of the few heavy slots."""
    deadline = _DEADLINE.get()
    if deadline is None:
        deadline = time.monotonic() + limit(datasette, "route_time_limit_ms") / 1000
    if heavy:
        async with heavy_slot(datasette):
            return await db.execute_fn(with_deadline(deadline, build))
    return await db.execute_fn(with_deadline(deadline, build))


def guarded(view: Callable[..., Any]) -> Callable[..., Any]:
    """``view`` within the route limits (see the module docstring)."""
    from datasette.utils import async_call_with_supported_arguments, call_with_supported_arguments

    async def guarded_view(scope: Any, receive: Any, send: Any, request: Any, datasette: Any) -> Any:
        from .web import text_response

        arguments = dict(scope=scope, receive=receive, send=send, request=request, datasette=datasette)
        try:
            seconds = limit(datasette, "route_time_limit_ms") / 1000
            max_bytes = limit(datasette, "route_max_bytes")
        except ValueError as e:
            return text_response(f"{e}\n", 500, datasette)
        token = _DEADLINE.set(time.monotonic() + seconds)
        try:
            if asyncio.iscoroutinefunction(view):
                response = await asyncio.wait_for(
                    async_call_with_supported_arguments(view, **arguments), seconds + GRACE
                )
            else:
                response = call_with_supported_arguments(view, **arguments)
        except (RouteTooSlow, asyncio.TimeoutError):
            return text_response(
                f"This answer took longer than the {seconds:g} s limit: narrow the request (?provider=, ?q=, ...)\n",
                503,
                datasette,
            )
        except Busy:
            response = text_response("The server is busy building other downloads: try again shortly\n", 503, datasette)
            response.headers["Retry-After"] = "5"
            return response
        finally:
            _DEADLINE.reset(token)
        body = getattr(response, "body", None)
        if body is not None and len(body) > max_bytes:
            return text_response(
                f"This answer would be {len(body):,} bytes, over the limit of {max_bytes:,}: narrow the request "
                "(?provider=, ?q=, ...)\n",
                413,
                datasette,
            )
        return response

    guarded_view.__name__ = getattr(view, "__name__", "view")
    guarded_view.__doc__ = view.__doc__
    return guarded_view


# --- the Host header ---------------------------------------------------------------------


def allowed_host(host: str, listen: str | None, allowed: tuple[str, ...]) -> bool:
    """True when a request for ``host`` (the Host header, port and all) may be answered by a
    server listening on ``listen`` with ``--allow-host`` values ``allowed``."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    name = name.rstrip(".")
    if not name:
        return True  # HTTP/1.0 without a Host: no name to rebind
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    if listen is not None and name == listen.strip("[]").lower():
        return True
    for entry in allowed:
        entry = entry.lower()
        if entry == "*" or name == entry or (entry.startswith(".") and name.endswith(entry)):
            return True
    return (listen or "").strip("[]") in _ANY_ADDRESS and not allowed


def asgi_wrapper(datasette: Any) -> Callable[[Any], Any]:
    """Refuse HTTP requests whose Host this server was not started for (see allowed_host)."""

    def wrap(app: Any) -> Any:
        async def checked(scope: Any, receive: Any, send: Any) -> None:
            options = serve_options(datasette)
            if scope.get("type") == "http" and options is not None and options.listen is not None:
                headers = dict(scope.get("headers") or [])
                host = headers.get(b"host", b"").decode("latin-1")
                if not allowed_host(host, options.listen, options.allowed_hosts):
                    shown = "".join(c if " " < c < "\x7f" else "?" for c in host)[:100]
                    body = (
                        f"This server does not answer for the host {shown!r}: start 'vexy serve' with "
                        f"--allow-host {shown.split(':')[0] or 'NAME'} to allow it\n"
                    ).encode()
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 400,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
            await app(scope, receive, send)

        return checked

    return wrap


# --- no file path in any answer --------------------------------------------------------------


def _databases(datasette: Any) -> list[dict[str, Any]]:
    from pathlib import Path

    listed = datasette._connected_databases()
    if serve_options(datasette) is not None:
        for entry in listed:
            if entry.get("path"):
                entry["path"] = Path(entry["path"]).name
    return listed


async def databases_json(request: Any, datasette: Any) -> Any:
    """``/-/databases.json`` as Datasette's, with the file name in place of its full path."""
    from datasette.views.special import JsonDataView

    return await JsonDataView(datasette, "databases.json", lambda: _databases(datasette)).dispatch_request(request)


async def threads(request: Any, datasette: Any) -> Any:
    """``/-/threads``: Datasette's page, except under ``--public`` (it shows the server's files)."""
    from datasette.utils.asgi import NotFound
    from datasette.views.special import JsonDataView

    options = serve_options(datasette)
    if options is not None and options.public:
        raise NotFound("/-/threads is not served with --public")
    return await JsonDataView(datasette, "threads.json", datasette._threads).dispatch_request(request)


def routes() -> list[tuple[str, Any]]:
    return [
        (r"^/-/databases(\.(?P<format>json))?$", databases_json),
        (r"^/-/threads(\.(?P<format>json))?$", threads),
    ]
