"""The TLS context of a fetch's HTTP client, built on a thread of its own as the fetch starts.

Building it loads the CA bundle (certifi's, ~150 certificates): ~20 ms, nearly all of it in
OpenSSL, which lets go of the GIL meanwhile. Started before the fetch imports its modules and
reads the providers file (work that holds the GIL), it is ready by the time the client is made,
so the requests leave that much sooner. Stands on the standard library and certifi only (httpx's
own dependency; without it nothing is prepared): importing httpx on the thread would hold the
GIL for longer than the build.

The context is the one httpx builds for vexy's client (``verify=True``, ``trust_env=False``:
certifi's bundle, whatever ``SSL_CERT_FILE`` says); ``tests/test_tlscontext.py`` compares the
two, so an httpx that builds another one is noticed. When building it fails, nothing is kept
and the client builds its own, failing as it always did.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

__all__ = ["build", "prepare", "take"]

_lock = threading.Lock()
# The build under way or done and not taken yet: its thread, and a list that gets the context.
_pending: tuple[threading.Thread, list[ssl.SSLContext]] | None = None


def build() -> ssl.SSLContext:
    """What ``httpx.create_ssl_context(verify=True, trust_env=False)`` returns."""
    return _build(_ca_file())


def _ca_file() -> str:
    import certifi

    return certifi.where()


def _build(ca_file: str) -> ssl.SSLContext:
    import ssl

    return ssl.create_default_context(cafile=ca_file)


def prepare() -> None:
    """Start building a context on a thread, unless one is being built or waits to be taken."""
    global _pending
    with _lock:
        if _pending is not None:
            return
        box: list[ssl.SSLContext] = []
        try:
            # Imported here, not on the thread: the thread then holds the GIL for next to
            # nothing (asyncio imports ssl anyway).
            import ssl  # noqa: F401

            ca_file = _ca_file()
        except Exception:  # the client builds its own, and reports the error then
            return

        def run() -> None:
            try:
                box.append(_build(ca_file))
            except Exception:  # the client builds its own, and reports the error then
                pass

        # Not a daemon: an interpreter never ends with the thread half way through.
        thread = threading.Thread(target=run, name="vexy-tls-context")
        _pending = (thread, box)
        thread.start()


def take() -> ssl.SSLContext | None:
    """The context prepared, once (waiting for its build to end); None when none was prepared
    or its build failed."""
    global _pending
    with _lock:
        pending, _pending = _pending, None
    if pending is None:
        return None
    thread, box = pending
    thread.join()
    return box[0] if box else None
