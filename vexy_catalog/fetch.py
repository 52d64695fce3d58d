"""Fetching model lists: anyio + one shared httpx client, bounded concurrency.

Every provider's answer becomes a :class:`FetchResult`; a provider that fails never raises out
of :meth:`ModelFetcher.fetch` or :meth:`ModelFetcher.fetch_all`, so one broken provider cannot
stop the others. A provider's list request is built from its configuration alone (URL template,
credentials, headers, parameters, paging; see :mod:`vexy_catalog.providers`): the built-in kinds
are presets of those fields, not separate code paths. Keys are read from the environment when a
request is built and are sent only to the provider's own origin, over https or to loopback: a
redirect (or a next-page link) elsewhere is refused, and so is plain http to another host.

Each provider is a fault domain: whatever goes wrong while one provider's answer is fetched,
decoded or read (an exception of any kind, a memory or size limit, a bad encoding) ends as that
provider's ``failed`` result with a one-line, masked error. Limits on what arrives: the decoded
size of a provider's whole answer, over all its pages (:mod:`vexy_catalog.decoding`), the number
of pages, and how deep the answer nests (:data:`vexy_catalog.text.MAX_DEPTH`). Text is made safe
at the boundary: an ETag or Last-Modified that is not visible ASCII is not kept, lone surrogates
are replaced, a key a provider echoes back inside its answer is masked before it is stored.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import random
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any

import anyio
import httpx

from . import __version__, tlscontext
from .auth import Credentials, MissingExtra, credentials_for
from .decoding import ACCEPT_ENCODING, Budget, read_body
from .errors import AnswerShapeError, FetchError
from .gcpause import paused_collection
from .providers import ProviderConfig, Resolved, template_variables
from .ratelimit import RateLimiter
from .records import NOT_MODELS, Found, extract_records, find_records, merged, more_pages_hint
from .security import Secrets, key_problem, secret_named_values, value_problem
from .text import MAX_DEPTH, header_value, nesting_depth, one_line, replace_surrogates
from .timeutil import utcnow
from .validation import describe_missing, foreign_key_refusal, is_loopback, plain_http_refusal

log = logging.getLogger("vexy.fetch")

__all__ = [
    "NOT_MODELS",
    "AnswerShapeError",
    "FetchError",
    "FetchResult",
    "ModelFetcher",
    "deadline_for",
    "extract_records",
    "run_secrets",
]

USER_AGENT = f"vexy/{__version__}"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
ANTHROPIC_PAGE_LIMIT = 1000
MAX_PAGES = 1000
MAX_REDIRECTS = 5
# Bytes of an error answer read for its message: the rest is not needed.
ERROR_BODY_LIMIT = 64 * 1024
DEFAULT_RETRIES = 3
# Backoff before retry n (0-based): BACKOFF_BASE * 2**n, plus up to as much again of jitter.
BACKOFF_BASE = 0.5
MAX_BACKOFF = 30.0
# A Retry-After longer than this is not waited for in full.
MAX_RETRY_AFTER = 60.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# What each kind of timeout means, for a message that says more than the exception's empty text.
_TIMEOUT_WORDS = {
    httpx.ConnectTimeout: "could not connect",
    httpx.ReadTimeout: "no data arrived",
    httpx.WriteTimeout: "the request could not be sent",
    httpx.PoolTimeout: "no free connection",
}


def deadline_for(timeout: float) -> float:
    """A provider's total deadline: four times the per-request timeout, and at least timeout + 30 s
    (so retries with backoff still fit when the timeout is short)."""
    return max(timeout * 4, timeout + 30)


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
    # How the list was found in the answer (see vexy_catalog.records), and over how many pages.
    shape: str | None = None
    pages: int = 0
    # sha256 of vexy's version and the answer's bytes as they arrived (decompressed; every
    # page's, for a paged answer): the same bytes decode to the same payload and records, so a
    # catalog that saw them before knows the payload hash without encoding the payload again (and
    # a refetch, that the answer need not be read at all). None when a key had to be masked.
    raw_hash: str | None = None
    # Set when the answer's bytes were those of the provider's stored answer (``known`` of
    # :meth:`ModelFetcher.fetch_all`): they are not read on arrival, so ``payload`` and
    # ``records`` stay empty until :meth:`decode` reads them (storing needs them only if the
    # catalog changed meanwhile). ``shape`` is the stored answer's.
    undecoded: Callable[[], None] | None = field(default=None, repr=False)

    def decode(self) -> None:
        """Read an answer kept undecoded into ``payload`` and ``records`` (else nothing to do)."""
        if self.undecoded is not None:
            decode, self.undecoded = self.undecoded, None
            decode()


def _excerpt(text: str, secrets: Secrets | None = None, limit: int = 200) -> str:
    """``text`` as one masked line of at most ``limit`` characters: masked *before* it is cut,
    so a cut never leaves part of a key behind."""
    text = one_line(" ".join((secrets or _NO_SECRETS).mask(text).split()))
    if len(text) > limit:
        text = text[:limit] + "..."
    return text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# A JSON string escape of half a UTF-16 surrogate pair; one without its other half: a high one
# not followed by a low one, or a low one not after a high one (a pair decodes to one character).
# The second is tried only where the first matches (it cannot skip ahead as quickly).
_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")
_LONE_SURROGATE_ESCAPE = re.compile(
    rb"\\[uU][dD][89abAB][0-9a-fA-F]{2}(?!\\[uU][dD][c-fC-F])|(?<!\\[uU][dD][89abAB][0-9a-fA-F]{2})\\[uU][dD][c-fC-F]"
)


def decode_json(body: bytes, secrets: Secrets | None = None) -> Any:
    """Strict JSON: UTF-8 only, no NaN or Infinity, nesting bombs refused, and nothing nested
    deeper than :data:`~vexy_catalog.text.MAX_DEPTH`. Lone surrogates (``"\\ud800"``) become
    U+FFFD: UTF-8, and so the catalog, cannot hold them."""
    text, lone = _text_of(body)
    return _parse(text, lone, secrets)


def _text_of(body: bytes) -> tuple[str, bool]:
    """The answer as text, and whether it escapes a lone surrogate (see :func:`decode_json`)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FetchError(f"the answer is not UTF-8 text (byte {e.start})") from None
    lone = any(_LONE_SURROGATE_ESCAPE.match(body, m.start()) for m in _SURROGATE_ESCAPE.finditer(body))
    return text, lone


def _parse(text: str, lone: bool, secrets: Secrets | None) -> Any:
    try:
        with paused_collection():
            payload = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise FetchError("the answer is JSON nested too deeply to read") from None
    except ValueError as e:
        raise FetchError(f"the answer is not valid JSON ({e}): {_excerpt(text, secrets)}") from None
    depth = nesting_depth(payload, MAX_DEPTH)
    if depth > MAX_DEPTH:
        raise FetchError(f"the answer nests more than {MAX_DEPTH} levels deep: vexy reads at most {MAX_DEPTH}")
    if lone:
        payload, replaced = replace_surrogates(payload)
        if replaced:
            log.info("%d lone surrogate%s in the answer replaced by U+FFFD", replaced, "s" if replaced != 1 else "")
    return payload


def _masked(value: Any, keys: Secrets) -> Any:
    """``value`` with every secret inside its strings (keys included) masked."""
    if isinstance(value, str):
        return keys.mask(value)
    if isinstance(value, list):
        return [_masked(v, keys) for v in value]
    if isinstance(value, dict):
        return {_masked(k, keys): _masked(v, keys) for k, v in value.items()}
    return value


# A JSON string escape; past this many, the answer's strings are written out whole instead.
_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)")
_MANY_ESCAPES = 10_000


@functools.lru_cache(maxsize=4096)
def _unescape(escape: str) -> str:
    return json.loads(f'"{escape}"')


def _echoed(text: str, payload: Any, keys: Secrets) -> bool:
    """True when the answer (its ``text``, decoded as ``payload``) holds one of ``keys`` in one
    of its strings."""
    if not keys.values:
        return False
    escapes = text.count("\\")
    if escapes > _MANY_ESCAPES:
        # Escapes can spell a key out (\u0041 for A): look at the strings as decoded.
        text = json.dumps(payload, ensure_ascii=False)
    elif escapes:
        text = _ESCAPE.sub(lambda m: _unescape(m.group()), text)
    return keys.found_in(text)


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
    # The page's own link to the next page (RFC 8288 Link: <...>; rel="next").
    next_link: str | None = None
    found: Found | None = None
    shape: str | None = None
    pages: int = 1
    raw_hash: str | None = None
    # The bytes of an answer the catalog already holds, not decoded yet (then payload is None).
    body: bytes | None = None


_NO_SECRETS = Secrets()


def _value_of(environ: Mapping[str, str] | None, name: str) -> str | None:
    env = os.environ if environ is None else environ
    return env.get(name) or None


def run_secrets(
    providers: Iterable[ProviderConfig], environ: Mapping[str, str] | None = None
) -> tuple[Secrets, Secrets]:
    """``(shown, keys)`` for a run over ``providers``.

    ``keys``: the values of every key and credential variable and of every ``${VAR}`` a header
    sends, whatever the variable is called, plus the set variables whose names say they hold
    secrets. They are masked everywhere, answers that echo them included. ``shown`` adds the
    variables of URLs and query parameters (an account id, a deployment name), masked in every
    message but not in answers, where such a value is ordinary data. A variable holding an
    address (``http://...``) is not masked: an error must say where it went.
    """
    env = os.environ if environ is None else environ
    keys = Secrets(secret_named_values(env))
    shown = Secrets()
    for provider in providers:
        keys.add(*(_value_of(env, n) for n in (provider.api_key_env or "", *provider.credential_variables()) if n))
        keys.add(*(_value_of(env, n) for n in provider.header_env_vars()))
        for name in _url_variables(provider):
            value = _value_of(env, name)
            if value and "://" not in value:
                shown.add(value)
    return shown | keys, keys


def _url_variables(provider: ProviderConfig) -> list[str]:
    names = [*template_variables(provider.base_url), *template_variables(provider.models_path)]
    for value in provider.params.values():
        names.extend(template_variables(value))
    return names


def _variable_problem(provider: ProviderConfig, environ: Mapping[str, str] | None) -> str | None:
    """Why a variable's value cannot be sent (a key with a line break, a space, a non-ASCII
    character; a header value with a control character), naming the variable only."""
    if provider.list_auth.sends_key:
        for name in dict.fromkeys([*provider.credential_variables()]):
            value = _value_of(environ, name)
            if value and (problem := key_problem(name, value)):
                return problem
    for name in dict.fromkeys(provider.header_env_vars()):
        value = _value_of(environ, name)
        if value and (problem := value_problem(name, value)):
            return problem
    return None


@dataclass
class _Call:
    """One provider's fetch under way: what each of its requests shares."""

    client: httpx.AsyncClient
    provider: ProviderConfig
    credentials: Credentials
    # Masked in every message; keys also in answers.
    secrets: Secrets
    keys: Secrets
    budget: Budget
    # Told when the provider's first request goes out.
    on_send: Callable[[], None] | None = None
    # Raw hash -> shape of the answer the catalog holds for the provider (single requests only).
    known: Mapping[str, str] | None = None


class ModelFetcher:
    """Fetches model lists from providers.

    >>> fetcher = ModelFetcher(timeout=10, concurrency=4)
    >>> models = anyio.run(fetcher.fetch_models, provider)   # doctest: +SKIP

    ``concurrency`` caps the providers fetched at once (default: all of them; each host's own
    cap still applies, see :mod:`vexy_catalog.ratelimit`).
    Pass ``client`` to share an ``httpx.AsyncClient`` (its settings are used as they are);
    otherwise one client is made per :meth:`fetch_all` call and shared by its providers.
    ``configured`` is every provider of the configuration (default: the providers fetched): the
    secrets of all of them are masked in what each one's fetch reports, and a provider that
    sends another provider's key variable in a header is refused.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        concurrency: int | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        deadline: float | None = None,
        retries: int = DEFAULT_RETRIES,
        backoff: float | None = None,
        client: httpx.AsyncClient | None = None,
        environ: Mapping[str, str] | None = None,
        rate_limiter: RateLimiter | None = None,
        configured: Iterable[ProviderConfig] | None = None,
    ):
        if concurrency is not None and concurrency < 1:
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
        self.deadline = deadline if deadline is not None else deadline_for(timeout)
        self.client = client
        self.environ = environ
        self.configured = list(configured) if configured is not None else None

    def _new_client(self, slots: int = 1) -> httpx.AsyncClient:
        # A TLS context prepared as the fetch started (see vexy_catalog.tlscontext), else the one
        # httpx builds (the same, built now).
        prepared = tlscontext.take()
        return httpx.AsyncClient(
            verify=True if prepared is None else prepared,
            timeout=httpx.Timeout(self.timeout),
            # Only encodings decoding.read_body decodes a step at a time.
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max(slots * 2, 10)),
            trust_env=False,
        )

    def _run_secrets(self, providers: Iterable[ProviderConfig]) -> tuple[Secrets, Secrets]:
        return run_secrets(self.configured if self.configured is not None else providers, self.environ)

    async def fetch_models(self, provider: ProviderConfig) -> list[dict[str, Any]]:
        """The provider's model records; raises :class:`FetchError` when the fetch fails.

        Records of an object keyed by model id come back with the key as ``"id"``.
        """
        result = await self.fetch(provider)
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
        secrets = self._run_secrets([provider])
        if self.client is None:
            async with self._new_client() as client:
                return await self._fetch(client, provider, validators, secrets)
        return await self._fetch(self.client, provider, validators, secrets)

    async def fetch_all(
        self,
        providers: Iterable[ProviderConfig],
        on_result: Callable[[FetchResult], Awaitable[None]] | None = None,
        validators: Mapping[str, Mapping[str, str | None]] | None = None,
        on_sent: Callable[[], None] | None = None,
        known: Mapping[str, Mapping[str, str]] | None = None,
    ) -> list[FetchResult]:
        """Fetch providers concurrently (at most ``concurrency`` at once, all by default).

        ``on_result`` is awaited as each provider completes, so results can be stored while
        other providers are still answering. ``validators`` maps a provider name to its last
        ``etag`` / ``last_modified`` for conditional requests. ``on_sent`` is called once every
        provider's first request has gone out (or its fetch ended without one): work that
        would compete with building the requests can start then. ``known`` maps a provider
        name to the raw hashes (``FetchResult.raw_hash``) of the answer the catalog holds for
        it, each with its shape: an answer of one request with those bytes is not decoded on
        arrival (see :attr:`FetchResult.undecoded`).
        """
        providers = list(providers)
        waiting = {p.name for p in providers}

        def sent(name: str) -> None:
            nonlocal on_sent
            waiting.discard(name)
            if not waiting and on_sent is not None:
                told, on_sent = on_sent, None
                told()

        if not providers:
            sent("")

        for provider in providers:
            self.rate_limiter.configure(provider)
        secrets = self._run_secrets(providers)
        results: list[FetchResult] = []
        slots = self.concurrency or max(1, len(providers))
        limiter = anyio.CapacityLimiter(slots)
        validators = validators or {}
        known = known or {}

        async def one(client: httpx.AsyncClient, provider: ProviderConfig) -> None:
            async with limiter:
                result = await self._fetch(
                    client,
                    provider,
                    validators.get(provider.name),
                    secrets,
                    lambda: sent(provider.name),
                    known.get(provider.name),
                )
            sent(provider.name)
            results.append(result)
            if on_result is not None:
                await on_result(result)

        async def run(client: httpx.AsyncClient) -> None:
            async with anyio.create_task_group() as tg:
                for provider in providers:
                    tg.start_soon(one, client, provider)

        if self.client is None:
            async with self._new_client(slots) as client:
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
        run: tuple[Secrets, Secrets],
        on_send: Callable[[], None] | None = None,
        known: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """One provider's fault domain: every exception ends here as its failed result."""
        started_at = utcnow()
        t0 = time.perf_counter()
        shown, keys = run
        secrets = Secrets(patterns=True) | shown
        url = ""

        def done(status: str, error: str | None = None, **kwargs: Any) -> FetchResult:
            return FetchResult(
                provider=provider.name,
                status=status,
                url=one_line(secrets.mask(url or provider.models_url)),
                started_at=started_at,
                finished_at=utcnow(),
                duration_ms=round((time.perf_counter() - t0) * 1000),
                # One line, masked, whatever produced it.
                error=None if error is None else one_line(secrets.mask(error)),
                **kwargs,
            )

        try:
            url = provider.resolve(self.environ).url
            return await self._fetch_one(client, provider, url, validators, secrets, keys, done, on_send, known)
        except Exception as e:  # the fault domain: nothing of one provider escapes to the others
            log.debug("%s: %s", provider.name, secrets.mask(repr(e)))
            return done("failed", error=_unexpected(e, url))

    async def _fetch_one(
        self,
        client: httpx.AsyncClient,
        provider: ProviderConfig,
        url: str,
        validators: Mapping[str, str | None] | None,
        secrets: Secrets,
        keys: Secrets,
        done: Callable[..., FetchResult],
        on_send: Callable[[], None] | None = None,
        known: Mapping[str, str] | None = None,
    ) -> FetchResult:
        environ = self.environ
        if not provider.listable:
            return done("skipped", error="no endpoint lists this provider's models" + _note(provider))
        missing = provider.missing_variables(environ)
        if missing:
            return done("skipped", error=describe_missing(missing))
        problem = _variable_problem(provider, environ)
        if problem is None and self.configured is not None:
            problem = foreign_key_refusal(provider, self.configured)
        if problem:
            return done("failed", error=problem)
        try:
            credentials = await credentials_for(provider, environ)
        except MissingExtra as e:
            return done("skipped", error=str(e))
        except FetchError as e:
            return done("failed", error=str(e))
        secrets.add(*credentials.secrets)
        keys = Secrets(keys.values).add(*credentials.secrets)
        refusal = plain_http_refusal(provider, url, credentials.sent)
        if refusal:
            return done("failed", error=refusal)
        if provider.list_paging.style != "none":
            known = None  # a paged answer's raw hash is of every page: each is read anyway
        call = _Call(client, provider, credentials, secrets, keys, Budget(self.max_bytes), on_send, known)
        try:
            with anyio.fail_after(self.deadline):
                answer = await self._fetch_list(call, url, provider.resolve(environ), validators)
            if answer.not_modified:
                return done(
                    "unchanged",
                    http_status=answer.http_status,
                    etag=answer.etag,
                    last_modified=answer.last_modified,
                )
            # None for an answer kept undecoded (the bytes of the stored one).
            found = answer.found
        except TimeoutError:
            return done("failed", error=f"no complete answer within {self.deadline:g}s from {url}")
        except FetchError as e:
            if e.connect_failed and provider.local and is_loopback(httpx.URL(url).host):
                return done("skipped", error=f"nothing is listening at {_origin_text(url)}" + _local_hint(provider))
            message = str(e)
            if url not in message and str(httpx.URL(url).copy_with(query=None)) not in message:
                message += f" (GET {url})"
            return done("failed", error=message, http_status=e.http_status)
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            detail = str(e) or type(e).__name__
            return done("failed", error=f"{detail} requesting {url}")
        result = done(
            "ok",
            http_status=answer.http_status,
            payload=answer.payload,
            records=found.records if found else [],
            bytes=answer.nbytes,
            etag=answer.etag,
            last_modified=answer.last_modified,
            unidentified=found.unidentified if found else 0,
            duplicates=found.duplicates if found else 0,
            shape=answer.shape,
            pages=answer.pages,
            raw_hash=answer.raw_hash,
        )
        if found is None:
            result.undecoded = functools.partial(_decode_kept, call, answer, result)
        return result

    async def _fetch_list(
        self, call: _Call, url: str, resolved: Resolved, validators: Mapping[str, str | None] | None
    ) -> _Answer:
        """The whole list: one request, or every page merged (see :class:`Paging`)."""
        provider = call.provider
        paging = provider.list_paging
        params = dict(resolved.params)
        headers = dict(resolved.headers)
        if paging.style == "none":
            answer = await self._request(call, url, params, headers, validators)
            if answer.not_modified:
                return answer
            if answer.body is not None:
                assert call.known is not None and answer.raw_hash is not None
                answer.shape = call.known[answer.raw_hash]
                return answer
            _read_list(answer, provider)
            return answer
        return await self._fetch_pages(call, url, params, headers)

    async def _fetch_pages(self, call: _Call, url: str, params: dict[str, str], headers: dict[str, str]) -> _Answer:
        provider = call.provider
        paging = provider.list_paging
        items: list[Any] = []
        path: tuple[str, ...] | None = None
        listed: set[str] = set()
        cursors: set[str] = set()
        page_number = paging.start
        cursor: str | None = None
        next_url: str | None = None
        answer: _Answer | None = None
        raw_hash: Any = hashlib.sha256()
        for pages in range(1, MAX_PAGES + 1):
            page_params = dict(params)
            request_url = url
            if paging.style == "anthropic":
                page_params["limit"] = str(ANTHROPIC_PAGE_LIMIT)
                if cursor is not None:
                    page_params["after_id"] = cursor
            elif paging.style == "cursor":
                if paging.size_param:
                    page_params[paging.size_param] = str(paging.size)
                if cursor is not None and paging.param:
                    page_params[paging.param] = cursor
                elif cursor is not None:
                    request_url, page_params = cursor, {}
            elif paging.style == "page":
                page_params[str(paging.param)] = str(page_number)
                if paging.size_param:
                    page_params[paging.size_param] = str(paging.size)
            elif paging.style == "link-header" and next_url is not None:
                request_url, page_params = next_url, {}
            answer = await self._request(call, request_url, page_params, headers, None)
            if raw_hash is not None and answer.raw_hash is not None:
                raw_hash.update(answer.raw_hash.encode())
            else:
                raw_hash = None
            list_path = provider.list_path if provider.list_path is not None else _joined(path)
            page = _read_answer(answer, list_path, provider.id_field)
            if page.path is None:
                raise AnswerShapeError("a paged answer must hold a list, not an object keyed by model id")
            path = page.path
            new_ids = [i for i, _ in page.records if i not in listed]
            items.extend(page.items)
            listed.update(new_ids)
            cursor, next_url, more = _next_page(paging, answer, page, len(listed), request_url)
            if not more:
                break
            if not new_ids and page.items:
                raise AnswerShapeError(
                    f"{paging.style} paging does not advance: page {pages} repeats records already listed"
                )
            if cursor is not None:
                if cursor in cursors:
                    raise AnswerShapeError(
                        f"{paging.style} paging does not advance (the cursor {_excerpt(cursor, call.secrets, 80)!r} "
                        "repeats)"
                    )
                cursors.add(cursor)
            page_number += 1
        else:
            raise AnswerShapeError(f"{paging.style} paging went past {MAX_PAGES} pages")
        assert answer is not None and path is not None
        payload = merged(path, items)
        found = find_records(payload, _joined(path), provider.id_field)
        noun = "page" if pages == 1 else "pages"
        return _Answer(
            payload,
            answer.http_status,
            call.budget.used,
            found=found,
            shape=_shape(found.shape, provider) + f" ({pages} {noun}, {paging.describe()})",
            pages=pages,
            raw_hash=raw_hash.hexdigest() if raw_hash is not None else None,
        )

    async def _request(
        self,
        call: _Call,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        validators: Mapping[str, str | None] | None,
    ) -> _Answer:
        """One logical request: retried on 429, 5xx, resets and timeouts, with backoff."""
        provider = call.provider
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                async with self.rate_limiter.acquire(provider):
                    answer = await self._attempt(call, url, params, headers, validators)
            except httpx.UnsupportedProtocol:
                raise
            except httpx.TransportError as e:
                error = _transport_error(e, url, self.timeout)
                if error.connect_failed and provider.local:
                    # Nothing listening on a local server's port: asking again will not help.
                    raise error from None
            except FetchError as e:
                error = e
            else:
                self.rate_limiter.record_request(provider.name, True)
                return answer
            self.rate_limiter.record_request(provider.name, False)
            # A name that did not resolve is asked once more (a resolver's hiccup), not three
            # times with growing backoff: offline, every provider would wait seconds for nothing.
            if not error.retryable or attempt == attempts - 1 or (error.unresolved and attempt >= 1):
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
                one_line(call.secrets.mask(str(error))),
                delay,
            )
            await anyio.sleep(delay)
        raise AssertionError("unreachable")

    async def _attempt(
        self,
        call: _Call,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        validators: Mapping[str, str | None] | None,
    ) -> _Answer:
        credentials = call.credentials
        headers = {**headers, **credentials.headers}
        # Validators go back only as visible ASCII (a stored value may predate that rule).
        sent_etag = header_value((validators or {}).get("etag"))
        sent_modified = header_value((validators or {}).get("last_modified"))
        if sent_etag:
            headers["If-None-Match"] = sent_etag
        if sent_modified:
            headers["If-Modified-Since"] = sent_modified
        # Merged into the URL's own query: a models_url may carry parameters, a next-page link does.
        request_url = httpx.URL(url)
        if params or credentials.params:
            request_url = request_url.copy_merge_params({**params, **credentials.params})
        home = _origin(request_url)
        for _ in range(MAX_REDIRECTS + 1):
            request = call.client.build_request("GET", request_url, headers=headers)
            if credentials.signer is not None:
                # Signed per request: a signature covers the exact URL and time.
                request.headers.update(credentials.signer("GET", str(request.url), _signed_headers(request)))
            if call.on_send is not None:
                call.on_send()
            response = await call.client.send(request, stream=True)
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
                    # A credential in the query string goes along to the new path of the same origin.
                    request_url = target.copy_merge_params(credentials.params) if credentials.params else target
                    continue
                if response.status_code == 304:
                    return _Answer(
                        None,
                        304,
                        0,
                        etag=self._validator(call, response.headers.get("etag")) or sent_etag,
                        last_modified=self._validator(call, response.headers.get("last-modified")) or sent_modified,
                        not_modified=True,
                    )
                if response.status_code >= 400:
                    body = await self._read(response, ERROR_BODY_LIMIT, None)
                    raise FetchError(
                        _http_error_message(
                            call.provider, response.status_code, response.reason_phrase, request_url, body, call.secrets
                        ),
                        response.status_code,
                        retryable=response.status_code in RETRY_STATUSES,
                        retry_after=parse_retry_after(response.headers.get("retry-after")),
                    )
                if response.status_code != 200:
                    raise FetchError(
                        f"HTTP {response.status_code} from {request_url.copy_with(query=None)}: expected 200",
                        response.status_code,
                    )
                body = await self._read(response, call.budget.remaining, call.budget)
                nbytes = len(body)
                raw_hash: str | None = _raw_hash(body)
                kept = call.known is not None and raw_hash in call.known
                payload = None
                if not kept:
                    text, lone = _text_of(body)
                    # Not kept while the answer is parsed: a large answer is in memory twice at most.
                    body = b""
                    payload, raw_hash = _decoded(call, text, lone, raw_hash)
                call.budget.spend(nbytes)
                return _Answer(
                    payload,
                    response.status_code,
                    nbytes,
                    etag=self._validator(call, response.headers.get("etag")),
                    last_modified=self._validator(call, response.headers.get("last-modified")),
                    next_link=_next_link(response, request_url, home),
                    raw_hash=raw_hash,
                    body=body if kept else None,
                )
            except FetchError as e:
                if e.http_status is None:
                    e.http_status = response.status_code
                raise
            finally:
                await response.aclose()
        raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url}")

    @staticmethod
    def _validator(call: _Call, value: str | None) -> str | None:
        """An ETag / Last-Modified worth keeping: visible ASCII, and no key in it (masking would
        make it useless, so it is dropped)."""
        value = header_value(value)
        if value is None or call.keys.found_in(value):
            return None
        return value

    async def _read(self, response: httpx.Response, limit: int, budget: Budget | None) -> bytes:
        """The decoded body, at most ``limit`` bytes: an error answer is cut there (only its
        start is shown), an answer past its budget is refused."""
        declared = response.headers.get("content-length")
        encoding = response.headers.get("content-encoding")
        if budget is not None and declared and declared.isdigit() and int(declared) > limit:
            if budget.pages:
                raise budget.exceeded(response.status_code)
            raise FetchError(
                f"the answer is {int(declared):,} bytes, over the {budget.limit:,}-byte limit", response.status_code
            )
        if budget is None:
            return await read_body(response.aiter_raw(), encoding, limit, cut=True)
        try:
            return await read_body(response.aiter_raw(), encoding, limit, budget)
        except FetchError as e:
            e.http_status = response.status_code
            raise


# vexy's version goes into every raw hash: another version may read the same bytes into other
# records, so an answer it stored is decoded and read again once (see FetchResult.raw_hash).
_RAW_HASH_SALT = f"vexy {__version__}\n".encode()


def _raw_hash(body: bytes) -> str:
    digest = hashlib.sha256(_RAW_HASH_SALT)
    digest.update(body)
    return digest.hexdigest()


def _decoded(call: _Call, text: str, lone: bool, raw_hash: str | None) -> tuple[Any, str | None]:
    """An answer's payload from its text, and its raw hash (None when a key in it had to be
    masked)."""
    payload = _parse(text, lone, call.secrets)
    if _echoed(text, payload, call.keys):
        # A provider that writes the key back into its list (a record field, a URL): masked
        # before anything is stored.
        log.warning("%s: the answer holds a configured key: masked before storing", call.provider.name)
        payload = _masked(payload, call.keys)
        raw_hash = None
    return payload, raw_hash


def _read_list(answer: _Answer, provider: ProviderConfig) -> None:
    """The records and shape of a one-request answer."""
    answer.found = _read_answer(answer, provider.list_path, provider.id_field)
    answer.shape = _shape(answer.found.shape, provider)
    hint = more_pages_hint(answer.payload)
    if hint:
        answer.shape += f" (one page: the answer's {hint} says there are more; set paging for it)"


def _decode_kept(call: _Call, answer: _Answer, result: FetchResult) -> None:
    """Decode and read an answer kept as bytes, as on arrival (see FetchResult.undecoded)."""
    assert answer.body is not None
    text, lone = _text_of(answer.body)
    answer.body = None
    answer.payload, raw_hash = _decoded(call, text, lone, answer.raw_hash)
    _read_list(answer, call.provider)
    found = answer.found
    assert found is not None
    result.payload, result.shape, result.raw_hash = answer.payload, answer.shape, raw_hash
    result.records, result.unidentified, result.duplicates = found.records, found.unidentified, found.duplicates


def _read_answer(answer: _Answer, list_path: str | None, id_field: str | None) -> Found:
    """The records of a received answer; an answer that holds no model list keeps its HTTP
    status in the error, so the fetch row tells "answered, but unreadable" from "no answer"."""
    try:
        with paused_collection():
            return find_records(answer.payload, list_path, id_field)
    except AnswerShapeError as e:
        e.http_status = answer.http_status
        raise


def _signed_headers(request: httpx.Request) -> dict[str, str]:
    # The headers a signature covers: the host comes from the URL; client-wide headers such as
    # User-Agent are left out, as AWS's own SDKs leave them out.
    return {k: v for k, v in request.headers.items() if k.lower() in ("accept",)}


def _joined(path: tuple[str, ...] | None) -> str | None:
    return None if path is None else ".".join(path)


def _shape(shape: str, provider: ProviderConfig) -> str:
    configured = [name for name in ("list_path", "id_field") if getattr(provider, name) is not None]
    return shape + (f" ({' and '.join(configured)} from the configuration)" if configured else "")


def _dotted(value: Any, path: str | None) -> Any:
    for key in (path or "").split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _next_page(
    paging: Any, answer: _Answer, page: Found, listed: int, request_url: str
) -> tuple[str | None, str | None, bool]:
    """``(cursor, next_url, more)`` after a page."""
    payload = answer.payload
    if paging.style == "anthropic":
        if not isinstance(payload, dict) or not payload.get("has_more"):
            return None, None, False
        cursor = payload.get("last_id") or (page.records[-1][0] if page.records else None)
        if not isinstance(cursor, str):
            raise AnswerShapeError(f"Anthropic paging does not advance (has_more is true, last_id {cursor!r})")
        return cursor, None, True
    if paging.style == "cursor":
        value = _dotted(payload, paging.field)
        if value in (None, "", False) or isinstance(value, (dict, list)):
            return None, None, False
        if paging.param is None:
            target = httpx.URL(request_url).join(str(value))
            if _origin(target) != _origin(httpx.URL(request_url)):
                raise FetchError(f"the next page is on another origin ({target.scheme}://{target.host}): refused")
            return str(target), None, True
        return str(value), None, True
    if paging.style == "page":
        if not page.items:
            return None, None, False
        total = _dotted(payload, paging.total_field) if paging.total_field else None
        if isinstance(total, int) and not isinstance(total, bool):
            return None, None, listed < total
        return None, None, True
    if paging.style == "link-header":
        return None, answer.next_link, answer.next_link is not None
    return None, None, False


def _next_link(response: httpx.Response, request_url: httpx.URL, home: tuple[str, str, int | None]) -> str | None:
    link = response.links.get("next", {}).get("url") if "link" in response.headers else None
    if not link:
        return None
    target = request_url.join(link)
    if _origin(target) != home:
        raise FetchError(f"the next page ({target.scheme}://{target.host}) is on another origin: refused")
    return str(target)


def _transport_error(e: httpx.TransportError, url: str, timeout: float) -> FetchError:
    if isinstance(e, httpx.TimeoutException):
        words = next((w for t, w in _TIMEOUT_WORDS.items() if isinstance(e, t)), "no answer")
        detail = str(e) or f"{words} within {timeout:g}s"
        return FetchError(f"timed out ({type(e).__name__}: {detail}) requesting {url}", retryable=True)
    detail = str(e) or "no detail"
    error = FetchError(f"connection failed ({type(e).__name__}: {detail}) requesting {url}", retryable=True)
    error.connect_failed = isinstance(e, httpx.ConnectError)
    error.unresolved = _name_not_resolved(e)
    return error


def _name_not_resolved(e: BaseException) -> bool:
    """Whether a transport error comes from the resolver (socket.gaierror somewhere in its chain)."""
    seen: set[int] = set()
    cause: BaseException | None = e
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, socket.gaierror):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _origin_text(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")


def _note(provider: ProviderConfig) -> str:
    return f" ({provider.note})" if provider.note else ""


def _local_hint(provider: ProviderConfig) -> str:
    from .providers import template_variables

    variables = template_variables(provider.base_url) or ([provider.base_url_env] if provider.base_url_env else [])
    where = f" or set {' or '.join(variables)}" if variables else ""
    return f" (start the server{where}; a local provider that is not running is skipped)"


def _http_error_message(
    provider: ProviderConfig, status: int, reason: str, url: httpx.URL, body: bytes, secrets: Secrets
) -> str:
    text = body[:2000].decode("utf-8", errors="replace")
    message = f"HTTP {status} {one_line(reason)} from {url.copy_with(query=None)}"
    variables = provider.credential_variables() or ([provider.api_key_env] if provider.api_key_env else [])
    if status in (401, 403) and variables:
        message += f" - check that {', '.join(variables)} holds a valid key"
    elif status in (401, 403) and provider.list_auth.style in ("aws-sigv4", "google"):
        message += f" - check the {'AWS' if provider.list_auth.style == 'aws-sigv4' else 'Google'} credentials"
    excerpt = _excerpt(text, secrets)
    if excerpt:
        message += f": {excerpt}"
    return message


def _unexpected(e: BaseException, url: str) -> str:
    """One line for an exception no rule of the fetch foresaw (a bug, memory, a library's own
    error): what it was and where, never a traceback."""
    if isinstance(e, MemoryError):
        return f"the answer from {url} did not fit in memory (lower --max-bytes, or raise the memory limit)"
    if isinstance(e, RecursionError):
        return f"the answer from {url} nests too deeply to read"
    detail = str(e)
    return f"vexy could not read the answer from {url}: {type(e).__name__}" + (f": {detail}" if detail else "")
