"""The TLS context of provider requests, built ahead of time on a thread of its own.

Every new httpx client loads the CA certificates into a new TLS context: 20-40 ms, nearly all of
it inside OpenSSL with the GIL released. ``vexy fetch`` starts that (:func:`prepare`) before it
reads its providers and the catalog's validators, so the requests leave without waiting for it;
the client then takes the context (:func:`context`). It is the context httpx itself builds for a
client that ignores the environment (``trust_env=False``): certifi's CA bundle, httpx's defaults.
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

__all__ = ["context", "prepare"]

_lock = threading.Lock()
# The context being built for the next client: [the thread, its context or its exception].
_pending: tuple[threading.Thread, list[Any]] | None = None


def _build() -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context(trust_env=False)


def prepare() -> None:
    """Start building the context the next client will take (nothing more while one is pending)."""
    global _pending
    with _lock:
        if _pending is not None:
            return
        out: list[Any] = []

        def build() -> None:
            try:
                out.append(_build())
            except BaseException as e:  # handed to the caller of context()
                out.append(e)

        thread = threading.Thread(target=build, name="vexy-tls", daemon=True)
        _pending = (thread, out)
        thread.start()


def context() -> ssl.SSLContext:
    """The context :func:`prepare` built (waiting for it if need be), else a new one. Each
    prepared context goes to one client."""
    global _pending
    with _lock:
        pending, _pending = _pending, None
    if pending is None:
        return _build()
    thread, out = pending
    thread.join()
    if not out:  # a process forked while it was being built: that thread is not in this one
        return _build()
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]
