"""Fetching model lists: anyio + one shared httpx client, bounded concurrency.

Every provider's answer becomes a :class:`FetchResult`; a provider that fails never raises out
of :meth:`ModelFetcher.fetch` or :meth:`ModelFetcher.fetch_all`, so one broken provider cannot
stop the others. Keys are read from the environment when a request is built and are sent only
to the provider's own origin: a redirect elsewhere is refused.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any

import anyio
import httpx

from . import __version__
from .providers import ProviderConfig, ProviderKind
from .ratelimit import RateLimiter
from .security import mask_sensitive_data
from .timeutil import utcnow

log = logging.getLogger("vexy.fetch")

__all__ = [
    "AnswerShapeError",
    "FetchError",
    "FetchResult",
    "ModelFetcher",
    "extract_records",
]

USER_AGENT = f"vexy/{__version__}"
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONCURRENCY = 8
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
ANTHROPIC_PAGE_LIMIT = 1000
MAX_PAGES = 1000
MAX_REDIRECTS = 5
DEFAULT_RETRIES = 3
# Backoff before retry n (0-based): BACKOFF_BASE * 2**n, plus up to as much again of jitter.
BACKOFF_BASE = 0.5
MAX_BACKOFF = 30.0
# A Retry-After longer than this is not waited for in full.
MAX_RETRY_AFTER = 60.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# litellm's price file documents its fields in an entry that is not a model.
NOT_MODELS = frozenset({"sample_spec"})


class FetchError(Exception):
    """A provider's model list could not be fetched or understood."""

    def __init__(
        self,
        message: str,
        http_status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.http_status = http_status
        # Worth asking again: 429, 5xx, resets, timeouts. retry_after is the server's wish.
        self.retryable = retryable
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class AnswerShapeError(FetchError):
    """The answer is JSON, but not a model list in any shape we know."""


@dataclass
class FetchResult:
    """What one provider's fetch produced. ``status`` is ok, unchanged, failed or skipped."""

    provider: str
    status: str
    url: str
    started_at: str
    finished_at: str
    duration_ms: int
    http_status: int | None = None
    error: str | None = None
    # The decoded answer, every page merged; None unless status is ok.
    payload: Any = None
    # (model id, record as sent), distinct ids in the order the provider listed them.
    records: list[tuple[str, Any]] = field(default_factory=list)
    bytes: int = 0
    etag: str | None = None
    last_modified: str | None = None
    # Records that carried no id and so could not be stored.
    unidentified: int = 0
    duplicates: int = 0


def _record_id(record: Any) -> str | None:
    if isinstance(record, str):
        return record or None
    if isinstance(record, dict):
        for key in ("id", "model", "name"):
            value = record.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, int) and not isinstance(value, bool):
                return str(value)
    return None


def extract_records(payload: Any) -> tuple[list[tuple[str, Any]], int, int]:
    """Find the model records in an answer of any known shape.

    Shapes: ``{"data": [...]}``, a bare list, ``{"models": [...]}``, or an object keyed by model
    id (litellm). Returns ``(records, unidentified, duplicates)``: the distinct ``(id, record)``
    pairs with the first occurrence of a repeated id kept, how many records had no id, and how
    many repeated an earlier id.
    """
    items: Iterable[tuple[str | None, Any]]
    if isinstance(payload, list):
        items = ((_record_id(r), r) for r in payload)
    elif isinstance(payload, dict):
        if isinstance(payload.get("data"), list):
            items = ((_record_id(r), r) for r in payload["data"])
        elif isinstance(payload.get("models"), list):
            items = ((_record_id(r), r) for r in payload["models"])
        elif "error" in payload:
            raise AnswerShapeError(f"the answer is an error: {_excerpt(json.dumps(payload['error']))}")
        elif payload and all(isinstance(v, dict) for k, v in payload.items() if k not in NOT_MODELS):
            items = ((k, v) for k, v in payload.items() if k not in NOT_MODELS)
        else:
            keys = ", ".join(list(map(str, payload))[:5])
            raise AnswerShapeError(
                'the answer is not a model list (expected {"data": [...]}, a list, '
                f'{{"models": [...]}} or an object keyed by model id; got an object with keys {keys})'
            )
    else:
        raise AnswerShapeError(f"the answer is not a model list (got a JSON {type(payload).__name__})")
    records: dict[str, Any] = {}
    unidentified = duplicates = 0
    for model_id, record in items:
        if model_id is None:
            unidentified += 1
        elif model_id in records:
            duplicates += 1
        else:
            records[model_id] = record
    return list(records.items()), unidentified, duplicates


def _excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit] + "..."
    return mask_sensitive_data(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode_json(body: bytes) -> Any:
    """Strict JSON: UTF-8 only, no NaN or Infinity, nesting bombs refused."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FetchError(f"the answer is not UTF-8 text (byte {e.start})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise FetchError("the answer is JSON nested too deeply to read") from None
    except ValueError as e:
        raise FetchError(f"the answer is not valid JSON ({e}): {_excerpt(text)}") from None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


@dataclass
class _Answer:
    payload: Any
    http_status: int
    nbytes: int
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


class ModelFetcher:
    """Fetches model lists from providers.

    >>> fetcher = ModelFetcher(timeout=10, concurrency=4)
    >>> models = anyio.run(fetcher.fetch_models, provider)   # doctest: +SKIP

    Pass ``client`` to share an ``httpx.AsyncClient`` (its settings are used as they are);
    otherwise one client is made per :meth:`fetch_all` call and shared by its providers.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_bytes: int = DEFAULT_MAX_BYTES,
        deadline: float | None = None,
        retries: int = DEFAULT_RETRIES,
        backoff: float | None = None,
        client: httpx.AsyncClient | None = None,
        environ: Mapping[str, str] | None = None,
        rate_limiter: RateLimiter | None = None,
    ):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if retries < 0:
            raise ValueError("retries must not be negative")
        self.timeout = timeout
        self.concurrency = concurrency
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = BACKOFF_BASE if backoff is None else backoff
        self.rate_limiter = rate_limiter if rate_limiter is not None else RateLimiter()
        # A server that trickles bytes resets the read timeout on every byte: cap the whole fetch.
        self.deadline = deadline if deadline is not None else max(timeout * 4, timeout + 30)
        self.client = client
        self.environ = environ

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max(self.concurrency * 2, 10)),
            trust_env=False,
        )

    async def fetch_models(self, provider: ProviderConfig) -> list[dict[str, Any]]:
        """The provider's model records; raises :class:`FetchError` when the fetch fails.

        Records of an object keyed by model id come back with the key as ``"id"``.
        """
        if self.client is None:
            async with self._new_client() as client:
                result = await self._fetch(client, provider, None)
        else:
            result = await self._fetch(self.client, provider, None)
        if result.status == "failed":
            raise FetchError(f"{provider.name}: {result.error}", result.http_status)
        if result.status == "skipped":
            raise FetchError(f"{provider.name}: skipped: {result.error}")
        out = []
        for model_id, raw in result.records:
            if isinstance(raw, dict):
                out.append(raw if raw.get("id") == model_id else {"id": model_id, **raw})
            else:
                out.append({"id": model_id})
        return out

    async def fetch(self, provider: ProviderConfig, validators: Mapping[str, str | None] | None = None) -> FetchResult:
        """Fetch one provider; never raises for the provider's own failures."""
        if self.client is None:
            async with self._new_client() as client:
                return await self._fetch(client, provider, validators)
        return await self._fetch(self.client, provider, validators)

    async def fetch_all(
        self,
        providers: Iterable[ProviderConfig],
        on_result: Callable[[FetchResult], Awaitable[None]] | None = None,
        validators: Mapping[str, Mapping[str, str | None]] | None = None,
    ) -> list[FetchResult]:
        """Fetch providers concurrently (at most ``concurrency`` at once).

        ``on_result`` is awaited as each provider completes, so results can be stored while
        other providers are still answering. ``validators`` maps a provider name to its last
        ``etag`` / ``last_modified`` for conditional requests.
        """
        providers = list(providers)
        for provider in providers:
            self.rate_limiter.configure(provider)
        results: list[FetchResult] = []
        limiter = anyio.CapacityLimiter(self.concurrency)
        validators = validators or {}

        async def one(client: httpx.AsyncClient, provider: ProviderConfig) -> None:
            async with limiter:
                result = await self._fetch(client, provider, validators.get(provider.name))
            results.append(result)
            if on_result is not None:
                await on_result(result)

        async def run(client: httpx.AsyncClient) -> None:
            async with anyio.create_task_group() as tg:
                for provider in providers:
                    tg.start_soon(one, client, provider)

        if self.client is None:
            async with self._new_client() as client:
                await run(client)
        else:
            await run(self.client)
        order = {p.name: i for i, p in enumerate(providers)}
        results.sort(key=lambda r: order[r.provider])
        return results

    async def _fetch(
        self,
        client: httpx.AsyncClient,
        provider: ProviderConfig,
        validators: Mapping[str, str | None] | None,
    ) -> FetchResult:
        started_at = utcnow()
        t0 = time.perf_counter()
        url = provider.models_url
        environ = self.environ

        def done(status: str, **kwargs: Any) -> FetchResult:
            return FetchResult(
                provider=provider.name,
                status=status,
                url=mask_sensitive_data(url),
                started_at=started_at,
                finished_at=utcnow(),
                duration_ms=round((time.perf_counter() - t0) * 1000),
                **kwargs,
            )

        if provider.needs_key and not provider.has_key(environ):
            return done("skipped", error=f"{provider.api_key_env} is not set")
        secrets = [provider.api_key_env or "", *provider.header_env_vars()]
        try:
            with anyio.fail_after(self.deadline):
                if provider.kind == ProviderKind.ANTHROPIC:
                    answer = await self._fetch_paged(client, provider, url)
                else:
                    answer = await self._request(client, provider, url, {}, validators)
            if answer.not_modified:
                return done(
                    "unchanged",
                    http_status=answer.http_status,
                    etag=answer.etag,
                    last_modified=answer.last_modified,
                )
            records, unidentified, duplicates = extract_records(answer.payload)
        except TimeoutError:
            return done("failed", error=f"no complete answer within {self.deadline:g}s from {url}")
        except FetchError as e:
            message = str(e)
            if url not in message and str(httpx.URL(url).copy_with(query=None)) not in message:
                message += f" (GET {url})"
            return done("failed", error=mask_sensitive_data(message, secrets, environ), http_status=e.http_status)
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            detail = str(e) or type(e).__name__
            return done("failed", error=mask_sensitive_data(f"{detail} requesting {url}", secrets, environ))
        return done(
            "ok",
            http_status=answer.http_status,
            payload=answer.payload,
            records=records,
            bytes=answer.nbytes,
            etag=answer.etag,
            last_modified=answer.last_modified,
            unidentified=unidentified,
            duplicates=duplicates,
        )

    async def _fetch_paged(self, client: httpx.AsyncClient, provider: ProviderConfig, url: str) -> _Answer:
        """Anthropic's list: ``limit`` / ``after_id`` until ``has_more`` is false."""
        merged: list[Any] = []
        nbytes = 0
        after_id: str | None = None
        seen_cursors: set[str] = set()
        for _ in range(MAX_PAGES):
            params = {"limit": str(ANTHROPIC_PAGE_LIMIT)}
            if after_id is not None:
                params["after_id"] = after_id
            answer = await self._request(client, provider, url, params, None)
            nbytes += answer.nbytes
            page = answer.payload
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                raise AnswerShapeError('an Anthropic models page has no "data" list')
            merged.extend(page["data"])
            if not page.get("has_more"):
                return _Answer({"data": merged}, answer.http_status, nbytes)
            cursor = page.get("last_id") or (_record_id(page["data"][-1]) if page["data"] else None)
            if not isinstance(cursor, str) or cursor in seen_cursors:
                raise AnswerShapeError(f"Anthropic paging does not advance (has_more is true, last_id {cursor!r})")
            seen_cursors.add(cursor)
            after_id = cursor
        raise AnswerShapeError(f"Anthropic paging went past {MAX_PAGES} pages")

    async def _request(
        self,
        client: httpx.AsyncClient,
        provider: ProviderConfig,
        url: str,
        params: Mapping[str, str],
        validators: Mapping[str, str | None] | None,
    ) -> _Answer:
        """One logical request: retried on 429, 5xx, resets and timeouts, with backoff."""
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                async with self.rate_limiter.acquire(provider):
                    answer = await self._attempt(client, provider, url, params, validators)
            except httpx.UnsupportedProtocol:
                raise
            except httpx.TransportError as e:
                kind = "timed out" if isinstance(e, httpx.TimeoutException) else "connection failed"
                error = FetchError(f"{kind} ({type(e).__name__}: {e or 'no detail'}) requesting {url}", retryable=True)
            except FetchError as e:
                error = e
            else:
                self.rate_limiter.record_request(provider.name, True)
                return answer
            self.rate_limiter.record_request(provider.name, False)
            if not error.retryable or attempt == attempts - 1:
                if attempt:
                    error.args = (f"{error.args[0]} (after {attempt + 1} attempts)",)
                raise error
            delay = min(MAX_BACKOFF, self.backoff * 2**attempt)
            delay += random.uniform(0, delay)
            if error.retry_after is not None:
                delay = max(delay, min(error.retry_after, MAX_RETRY_AFTER))
            log.info(
                "%s: attempt %d of %d failed: %s; retrying in %.1fs",
                provider.name,
                attempt + 1,
                attempts,
                mask_sensitive_data(str(error)),
                delay,
            )
            await anyio.sleep(delay)
        raise AssertionError("unreachable")

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        provider: ProviderConfig,
        url: str,
        params: Mapping[str, str],
        validators: Mapping[str, str | None] | None,
    ) -> _Answer:
        headers = provider.request_headers(self.environ)
        if validators:
            if validators.get("etag"):
                headers["If-None-Match"] = str(validators["etag"])
            if validators.get("last_modified"):
                headers["If-Modified-Since"] = str(validators["last_modified"])
        request_url = httpx.URL(url, params=params or None)
        home = _origin(request_url)
        for _ in range(MAX_REDIRECTS + 1):
            request = client.build_request("GET", request_url, headers=headers)
            response = await client.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    target = request_url.join(response.headers["location"])
                    if _origin(target) != home:
                        # Credentials go to the provider's own origin only; another origin's
                        # answer is never stored as this provider's.
                        raise FetchError(
                            f"HTTP {response.status_code} redirect from {request_url.copy_with(query=None)} to another "
                            f"origin ({target.scheme}://{target.host}) refused: the key is only sent to "
                            f"{home[0]}://{home[1]}; set the provider's base_url to the new address if it moved",
                            response.status_code,
                        )
                    request_url = target
                    continue
                if response.status_code == 304:
                    return _Answer(
                        None,
                        304,
                        0,
                        etag=response.headers.get("etag") or (validators or {}).get("etag"),
                        last_modified=response.headers.get("last-modified") or (validators or {}).get("last_modified"),
                        not_modified=True,
                    )
                body = await self._read_capped(response)
                if response.status_code >= 400:
                    raise FetchError(
                        _http_error_message(provider, response.status_code, response.reason_phrase, request_url, body),
                        response.status_code,
                        retryable=response.status_code in RETRY_STATUSES,
                        retry_after=parse_retry_after(response.headers.get("retry-after")),
                    )
                if response.status_code != 200:
                    raise FetchError(
                        f"HTTP {response.status_code} from {request_url.copy_with(query=None)}: expected 200",
                        response.status_code,
                    )
                payload = decode_json(body)
                return _Answer(
                    payload,
                    response.status_code,
                    len(body),
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                )
            except FetchError as e:
                if e.http_status is None:
                    e.http_status = response.status_code
                raise
            finally:
                await response.aclose()
        raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url}")

    async def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(
                f"the answer is {int(declared):,} bytes, over the {self.max_bytes:,}-byte limit",
                response.status_code,
            )
        chunks = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"the answer passed the {self.max_bytes:,}-byte limit", response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)


def _http_error_message(provider: ProviderConfig, status: int, reason: str, url: httpx.URL, body: bytes) -> str:
    text = body[:2000].decode("utf-8", errors="replace")
    message = f"HTTP {status} {reason} from {url.copy_with(query=None)}"
    if status in (401, 403) and provider.api_key_env:
        message += f" - check that {provider.api_key_env} holds a valid key"
    excerpt = _excerpt(text)
    if excerpt:
        message += f": {excerpt}"
    return message
