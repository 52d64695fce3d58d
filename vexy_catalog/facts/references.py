"""Reference catalogs: litellm's price file, OpenRouter's list and models.dev's ``api.json``,
read once and indexed for matching a provider's model to their records.

Every reference record has a *host*, the provider whose deployment it describes: litellm's
``litellm_provider`` (``groq/llama-3.3-70b-versatile`` is groq's; bare ``gpt-4o`` is openai's),
models.dev's provider id (``groq/llama-3.3-70b-versatile`` under ``groq``), and OpenRouter
itself for OpenRouter's records. ``LITELLM_PROVIDERS`` and ``MODELSDEV_PROVIDERS`` map our
provider names to theirs where they differ.

models.dev's ``api.json`` is an object of providers, each with ``models``; its list is read
through them (``list_path: "*.models"``, see :mod:`vexy_catalog.records`), so each row of the
``modelsdev`` provider is one model, its id qualified by models.dev's provider id
(``groq/llama-3.3-70b-versatile``): that provider is the record's host.

``match`` finds, per reference, the best record of the provider's own host and the best record
of any host. Levels, strongest first: ``qualified`` (the host's own key: litellm's
``<prefix>/<id>``, models.dev's ``<provider>/<id>``, also without a listing path that names no
vendor, so gemini's ``models/x`` is ``gemini/x``), ``exact`` (the id equal to a key, to a key
without its host prefix, or, for an id without a slash, to the part after a vendor's slash:
cerebras' ``gpt-oss-120b`` is OpenRouter's ``openai/gpt-oss-120b``), ``normalized`` (the
identity of :mod:`.identity`: same key, no contradicting date). A generic id (``openai``,
``mistral``) matches only qualified or exactly; records of local runtimes (ollama, lm_studio,
llamafile, vllm) describe someone's own machine and enrich only that host. Within a level the
closest spelling wins (:func:`.identity.closeness`), never the shortest key.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .identity import closeness, compatible, identity
from .schema import FACT_FIELDS, Facts
from .stated import read_record

__all__ = [
    "LEVELS",
    "LITELLM_PROVIDERS",
    "MODELSDEV_PROVIDERS",
    "REFERENCE_NAMES",
    "ReferenceIndex",
    "ReferenceMatch",
    "match_tokens",
    "record_host",
    "same_host",
]

REFERENCE_NAMES: tuple[str, ...] = ("litellm", "openrouter", "modelsdev")

# Our provider name -> litellm's provider name (its key prefix and its litellm_provider).
LITELLM_PROVIDERS: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "groq": "groq",
    "gemini": "gemini",
    "togetherai": "together_ai",
    "together": "together_ai",
    "fireworks": "fireworks_ai",
    "deepinfra": "deepinfra",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "xai": "xai",
    "cerebras": "cerebras",
    "openrouter": "openrouter",
    "moonshot": "moonshot",
    "morphllm": "morph",
    "sambanova": "sambanova",
    "nebius": "nebius",
    "novita": "novita",
    "perplexity": "perplexity",
    "huggingface": "huggingface",
    "hyperbolic": "hyperbolic",
    "friendli": "friendliai",
    "friendliai": "friendliai",
    "featherless": "featherless_ai",
    "cohere": "cohere",
    "ai21": "ai21",
    "lambda": "lambda_ai",
    "nscale": "nscale",
    "dashscope": "dashscope",
    "vercel": "vercel_ai_gateway",
    "venice": "venice",
    "nvidia": "nvidia_nim",
    "ollama": "ollama",
    "lmstudio": "lm_studio",
    "azure": "azure",
    "bedrock": "bedrock",
    "vertex": "vertex_ai",
    "vllm": "hosted_vllm",
}
# litellm keys these providers' models without a prefix ("gpt-4o", "claude-3-5-haiku-...").
_BARE_IN_LITELLM: frozenset[str] = frozenset({"openai", "anthropic"})

# Our provider name -> models.dev's provider id, where they differ.
MODELSDEV_PROVIDERS: dict[str, str] = {
    "gemini": "google",
    "together": "togetherai",
    "fireworks": "fireworks-ai",
    "moonshot": "moonshotai",
    "novita": "novita-ai",
    "dashscope": "alibaba",
    "friendliai": "friendli",
    "cloudflare": "cloudflare-workers-ai",
    "github": "github-models",
    "lambda": "lambda",
    "bedrock": "amazon-bedrock",
    "vertex": "google-vertex",
}

# Hosts that are someone's own machine: their records describe that machine only.
LOCAL_HOSTS: frozenset[str] = frozenset(
    {"ollama", "ollama_chat", "lm_studio", "lmstudio", "llamafile", "hosted_vllm", "vllm", "oobabooga", "xinference"}
)

LEVELS: tuple[str, ...] = ("qualified", "exact", "normalized")

_LISTING_PREFIX = re.compile(r"^(?:models/|accounts/[^/]+/models/)")


def _listing_id(model_id: str) -> str:
    """The id without a listing path that names no vendor (gemini's models/, fireworks')."""
    return _LISTING_PREFIX.sub("", model_id)


def host_name(reference: str, provider: str) -> str:
    """Our provider's name as the reference spells its host."""
    if reference == "litellm":
        return LITELLM_PROVIDERS.get(provider, provider)
    if reference == "modelsdev":
        return MODELSDEV_PROVIDERS.get(provider, provider)
    return provider


def same_host(reference: str, provider: str, host: str) -> bool:
    name = host_name(reference, provider)
    # litellm splits some hosts: "fireworks_ai-embedding-models", "text-completion-openai".
    return host == name or host.startswith(name + "-") or host.endswith("-" + name)


@dataclass(frozen=True, slots=True)
class ReferenceMatch:
    reference: str
    key: str
    level: str
    host: str
    same_host: bool
    facts: Facts

    @property
    def source(self) -> str:
        return f"{self.reference}:{self.key}"


def match_tokens(model_id: object) -> tuple[str, ...]:
    """Strings that an id shares with every reference key it can match, at any level: its last
    path segment as written (lowercased) and its identity key. ``exact``, ``qualified`` and bare
    matches compare whole ids, ids after a host or listing prefix, or a key's part after its
    slash, so both sides end in the same segment; ``normalized`` matches share the identity key.
    A catalog keeps every model's tokens, so the models a changed reference record can affect
    are found without matching them all again (an id ending in "/" alone is the one exception:
    its empty last segment is left out of every match)."""
    if not isinstance(model_id, str):
        return ()
    text = model_id.strip().lower()
    segments = [s for s in text.split("/") if s]
    last = segments[-1] if segments else text
    key = identity(model_id).key
    return (last,) if key == last or not key else (last, key)


def record_host(reference_name: str, key: str, raw: object) -> str:
    """The host a reference record is of: litellm names it in the record, models.dev's ids are
    qualified by it, and everything else (OpenRouter) is its own host."""
    if reference_name == "modelsdev":
        host: Any = key.partition("/")[0] if "/" in key else None
    else:
        host = raw.get("litellm_provider") if isinstance(raw, dict) else None
    return host if isinstance(host, str) else reference_name


class ReferenceIndex:
    """A reference catalog, read once and indexed for dict-speed matching.

    ``readings`` may give records already read (key -> :class:`~.reading.Reading` of
    ``read_record(reference_name, raw, canonical=True)``), so a reference answer is read once for its own facts
    and for the index. :meth:`update` keeps an index current as records change: an index is the
    same whatever order its records came in, so one updated and one built afresh match alike.
    """

    def __init__(
        self,
        reference_name: str,
        records: Iterable[tuple[str, object]],
        readings: Mapping[str, Any] | None = None,
        hosts: Mapping[str, str] | None = None,
    ) -> None:
        self.name = reference_name
        self._facts: dict[str, Facts] = {}
        self._hosts: dict[str, str] = {}
        self._exact: dict[str, list[str]] = {}
        self._bare: dict[str, list[str]] = {}
        self._normalized: dict[str, list[str]] = {}
        # Matches worked out ahead (see remember), until the index changes.
        self._remembered: dict[tuple[str, str], list[ReferenceMatch]] = {}
        # Counts the changes of the index (what was worked out from it holds while it stands).
        self.version = 0
        self.update(records, readings=readings, hosts=hosts)

    def update(
        self,
        records: Iterable[tuple[str, object]] = (),
        removed: Iterable[str] = (),
        readings: Mapping[str, Any] | None = None,
        hosts: Mapping[str, str] | None = None,
    ) -> None:
        """Drop the ``removed`` keys, then add ``records`` (a key already held is replaced).
        ``hosts`` may give keys' :func:`record_host`: the record of a key with a reading and a
        host given is not looked at (it may be None)."""
        self._remembered.clear()
        self.version += 1
        for key in removed:
            self._drop(key)
        seen: set[str] = set()
        for key, host, raw in self._hosted(records, hosts):
            # Ids repeat in some lists; the first record of an id is the one we keep.
            if not key or key == "sample_spec" or key in seen:
                continue
            seen.add(key)
            if key in self._facts:
                self._drop(key)
            reading = readings.get(key) if readings is not None else None
            if reading is None:
                reading = read_record(self.name, raw, canonical=True)
            self._facts[key] = {f: reading.facts.get(f) for f in FACT_FIELDS}
            self._hosts[key] = host
            self._lookups(key, bisect.insort)

    def _drop(self, key: str) -> None:
        if key not in self._facts:
            return
        self._lookups(key, _remove)
        del self._facts[key], self._hosts[key]

    def _lookups(self, key: str, change: Any) -> None:
        # Each lookup list stays in key order, as if built from the sorted keys.
        change(self._exact.setdefault(key.lower(), []), key)
        bare = self._bare_part(key)
        if bare:
            change(self._bare.setdefault(bare.lower(), []), key)
        normalized = identity(key).key
        if normalized:
            change(self._normalized.setdefault(normalized, []), key)

    def _hosted(
        self, records: Iterable[tuple[str, object]], hosts: Mapping[str, str] | None
    ) -> Iterator[tuple[str, str, Any]]:
        for key, raw in records:
            if not isinstance(key, str):
                continue
            host = hosts.get(key) if hosts is not None else None
            yield key, host if host is not None else record_host(self.name, key, raw), raw

    def _bare_part(self, key: str) -> str | None:
        """The key without its host prefix (litellm, models.dev) or its vendor (OpenRouter)."""
        if "/" not in key:
            return None
        prefix, _, rest = key.partition("/")
        if self.name == "litellm":
            return rest if prefix == self._hosts.get(key) else None
        if self.name == "modelsdev":
            return rest
        # "vendor/model": only a vendor-less id may claim the model part.
        return key.rsplit("/", 1)[-1]

    def __len__(self) -> int:
        return len(self._facts)

    def keys(self) -> list[str]:
        return list(self._facts)

    def __contains__(self, key: object) -> bool:
        return key in self._facts

    def facts(self, key: str) -> Facts | None:
        return self._facts.get(key)

    def host(self, key: str) -> str | None:
        return self._hosts.get(key)

    def _qualified(self, provider: str, model_id: str) -> list[str]:
        if self.name == "litellm":
            if provider not in LITELLM_PROVIDERS:
                return []
            prefix = "" if provider in _BARE_IN_LITELLM else LITELLM_PROVIDERS[provider] + "/"
        elif self.name == "modelsdev":
            prefix = host_name("modelsdev", provider) + "/"
        else:
            return []
        found: list[str] = []
        for probe in dict.fromkeys((model_id, _listing_id(model_id))):
            for key in self._exact.get((prefix + probe).lower(), []):
                if same_host(self.name, provider, self._hosts[key]):
                    found.append(key)
        return found

    def _candidates(self, provider: str, model_id: str) -> Iterator[tuple[str, list[str]]]:
        lowered = model_id.lower()
        listed = _listing_id(lowered)
        me = identity(model_id)
        yield "qualified", self._qualified(provider, model_id)
        exact = list(self._exact.get(lowered, [])) + list(self._exact.get(listed, []))
        if not me.generic:
            exact += self._bare.get(lowered, []) + self._bare.get(listed, [])
            if self.name not in ("litellm", "modelsdev") and "/" in listed:
                # Another vendor's upload ("someone/Llama-3.2-1B") is no exact match for the
                # vendor's own record: only the normalized level may claim it.
                exact = [k for k in exact if k.lower() in (lowered, listed)]
        yield "exact", list(dict.fromkeys(exact))
        if not me.generic:
            yield "normalized", [k for k in self._normalized.get(me.key, []) if compatible(me, identity(k))]

    def remember(self, provider: str, model_ids: Iterable[str]) -> None:
        """Work out the matches of these models now (while waiting on the network), so that
        :meth:`match` answers them from memory until the index changes."""
        for model_id in model_ids:
            self._remembered[(provider, model_id)] = self._match(provider, model_id)

    def match(self, provider: str, model_id: str) -> list[ReferenceMatch]:
        """The best record of the provider's own host and the best of any host (one record when
        they are the same); empty when nothing matches. A reference never matches itself."""
        found = self._remembered.get((provider, model_id))
        return list(found) if found is not None else self._match(provider, model_id)

    def _match(self, provider: str, model_id: str) -> list[ReferenceMatch]:
        if not isinstance(model_id, str) or not model_id.strip() or provider == self.name:
            return []
        model_id = model_id.strip()
        own: ReferenceMatch | None = None
        other: ReferenceMatch | None = None
        for level, keys in self._candidates(provider, model_id):
            ranked = sorted(dict.fromkeys(keys), key=lambda k: closeness(model_id, k))
            for key in ranked:
                host = self._hosts[key]
                mine = same_host(self.name, provider, host)
                if host in LOCAL_HOSTS and not mine:
                    continue
                found = ReferenceMatch(self.name, key, level, host, mine, self._facts[key])
                if mine and own is None:
                    own = found
                if other is None:
                    other = found
            if own is not None:
                break
        if own is None:
            return [other] if other is not None else []
        return [own] if other is None or other.key == own.key else [own, other]


def _remove(keys: list[str], key: str) -> None:
    keys.remove(key)
