"""Per-host rate limiting: a cap on concurrent requests and an optional minimum interval.

Providers that share a host (several gateways front the same API) share its limits; when their
settings differ, the strictest applies (the smallest concurrency, the longest interval).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import anyio

from .providers import ProviderConfig

__all__ = ["DEFAULT_HOST_CONCURRENCY", "RateLimiter", "get_rate_limiter"]

DEFAULT_HOST_CONCURRENCY = 4


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass
class _HostState:
    concurrency: int
    min_interval: float
    semaphore: anyio.Semaphore | None = None
    in_flight: int = 0
    last_request: float = float("-inf")
    successes: int = 0
    failures: int = 0
    lock: anyio.Lock | None = None


@dataclass
class RateLimiter:
    """Limits requests per host. ``acquire`` is for async code; ``is_allowed`` and
    ``record_request`` (the earlier tool's API) report and record without waiting."""

    default_concurrency: int = DEFAULT_HOST_CONCURRENCY
    _hosts: dict[str, _HostState] = field(default_factory=dict)
    _provider_hosts: dict[str, str] = field(default_factory=dict)

    def configure(self, provider: ProviderConfig) -> _HostState:
        # The URL as requested: two providers whose templates differ may share a host, and two
        # whose templates start with a variable (${VLLM_BASE_URL}) may not.
        host = host_of(provider.resolve().url or provider.models_url)
        self._provider_hosts[provider.name] = host
        concurrency = provider.max_concurrent or self.default_concurrency
        interval = provider.min_interval or 0.0
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _HostState(concurrency, interval)
        else:
            state.concurrency = min(state.concurrency, concurrency)
            state.min_interval = max(state.min_interval, interval)
        return state

    def _state(self, name: str) -> _HostState | None:
        host = self._provider_hosts.get(name)
        return self._hosts.get(host) if host else None

    def is_allowed(self, provider_name: str) -> bool:
        """Whether a request for this provider could start now without waiting."""
        state = self._state(provider_name)
        if state is None:
            return True
        interval_ok = time.monotonic() - state.last_request >= state.min_interval
        return state.in_flight < state.concurrency and interval_ok

    def record_request(self, provider_name: str, success: bool) -> None:
        """Count a finished request for this provider's host."""
        state = self._state(provider_name)
        if state is None:
            return
        if success:
            state.successes += 1
        else:
            state.failures += 1

    @asynccontextmanager
    async def acquire(self, provider: ProviderConfig) -> AsyncIterator[None]:
        """Wait for a slot on the provider's host, honouring the minimum interval."""
        state = self.configure(provider)
        if state.semaphore is None:
            state.semaphore = anyio.Semaphore(state.concurrency)
            state.lock = anyio.Lock()
        async with state.semaphore:
            assert state.lock is not None
            async with state.lock:
                # Spacing is measured between request starts, so waiting happens in turn.
                wait = state.last_request + state.min_interval - time.monotonic()
                if wait > 0:
                    await anyio.sleep(wait)
                state.last_request = time.monotonic()
            state.in_flight += 1
            try:
                yield
            finally:
                state.in_flight -= 1


_limiter: RateLimiter | None = None


def get_rate_limiter() -> RateLimiter:
    """The process-wide limiter (a fresh one is made per fetch run by ModelFetcher by default)."""
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter()
    return _limiter
