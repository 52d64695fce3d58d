"""What every exporter reads from the catalog, and the rules they share.

An exporter sees the catalog as :class:`ExportData`: the providers (name, kind, base URL, key
variable) and the selected models, read once from the database. Client configuration only ever
names a key's *variable*; nothing here reads a key's value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Provider kinds a client can call. "url" providers (LiteLLM's price file) are a list to read,
# not an API to send prompts to, so client configs leave them out.
CALLABLE_KINDS = ("openai", "anthropic")

# Model columns no format writes (read by nobody here: not loaded).
UNEXPORTED = ("sources", "description", "owned_by")

# Model types a chat client can use. NULL (unknown: many lists carry ids only) counts as chat,
# since most models served by a chat-completions API are chat models.
CHAT_TYPES = (None, "chat")

# The output limit written where a client needs one and the catalog does not know it: a reply
# of 4096 tokens is accepted by every current chat API, and a larger guess can be refused
# (a request's max_tokens above the model's limit is an error at several providers).
DEFAULT_MAX_OUTPUT = 4096


# Words in a model id that say it is not a chat model. Many lists carry ids only, so for a model
# of unknown type its name is the only evidence there is: text-to-speech, transcription,
# embeddings, rerankers, safety classifiers (llama-guard, prompt-guard), image generators.
_NOT_CHAT_WORDS = re.compile(
    r"(?:^|[-_/.:])(?:tts|whisper|transcribe|transcription|speech|embed|embeddings?|rerank|reranker|guard|"
    r"moderation|dall-e|image|imagen|sdxl|stable-diffusion|flux|realtime|ocr)(?:$|[-_/.:0-9])",
    re.IGNORECASE,
)


def chat_model(row: dict[str, Any]) -> bool:
    """A chat model: of type chat, or of unknown type with no word in its id saying otherwise."""
    if row["model_type"] == "chat":
        return True
    return row["model_type"] is None and not _NOT_CHAT_WORDS.search(row["model_id"])


def default_model(candidates: Iterable[tuple[Any, dict[str, Any]]]) -> tuple[Any, dict[str, Any]] | None:
    """The (provider, model row) a client should start with: a chat model known to call tools,
    with the largest known context, then the cheapest known input price (never simply the
    alphabetically first, which tends to be some oddity)."""
    chat = [(p, r) for p, r in candidates if chat_model(r)]
    if not chat:
        return None

    def rank(item: tuple[Any, dict[str, Any]]) -> tuple[Any, ...]:
        _, row = item
        price = row.get("input_price")
        return (
            row.get("supports_tools") is not True,
            -(row.get("context_window") or 0),
            price is None,
            price or 0,
            row["model_id"],
        )

    return min(chat, key=rank)


@dataclass(frozen=True)
class Provider:
    name: str
    kind: str
    base_url: str | None
    api_key_env: str | None
    payload_hash: str | None = None

    @property
    def callable(self) -> bool:
        return self.kind in CALLABLE_KINDS and bool(self.base_url)

    @property
    def api_base(self) -> str:
        return (self.base_url or "").rstrip("/")


@dataclass
class ExportData:
    """Providers by name and the selected models (in provider, model id order)."""

    providers: dict[str, Provider]
    models: list[dict[str, Any]]
    # Whether the selection was narrowed by more than --provider / --include-removed.
    narrowed: bool = False
    payloads: dict[str, Any] = field(default_factory=dict)
    # The moment the models are as of (ISO 8601 UTC), or None for the catalog as it stands.
    as_of: str | None = None

    # The models by provider (computed once: a render asks several times).
    _grouped: dict[str, list[dict[str, Any]]] | None = field(default=None, init=False, repr=False, compare=False)

    def by_provider(self, kinds: Iterable[str] = CALLABLE_KINDS) -> list[tuple[Provider, list[dict[str, Any]]]]:
        """Callable providers of ``kinds`` that have selected models, with their models."""
        kinds = tuple(kinds)
        grouped = self._grouped
        if grouped is None:
            grouped = {}
            for row in self.models:
                grouped.setdefault(row["provider"], []).append(row)
            self._grouped = grouped
        out = []
        for name in sorted(grouped):
            provider = self.providers.get(name)
            if provider is None or not provider.callable or provider.kind not in kinds:
                continue
            out.append((provider, grouped[name]))
        return out


def load_data(db: Any, model_filter: Any = None, as_of: str | None = None) -> ExportData:
    """Read providers and the models ``model_filter`` selects (the rows ``vexy models`` shows);
    with ``as_of`` (an ISO 8601 UTC moment), the models listed then, with their facts then."""
    from ..query import MODEL_COLUMNS, ModelFilter, query_models

    model_filter = model_filter or ModelFilter()
    providers = {
        row["name"]: Provider(
            name=row["name"],
            kind=row["kind"] or "openai",
            base_url=row["base_url"],
            api_key_env=row["api_key_env"] or None,
            payload_hash=row["payload_hash"],
        )
        for row in db.query("select name, kind, base_url, api_key_env, payload_hash from providers order by name")
    }
    if as_of is not None:
        from ..history import models_as_of  # only then: it imports sqlite-utils and XML escaping

        models = models_as_of(db, as_of, model_filter, sort="provider")
    else:
        # One query, in key order, of the columns the formats write.
        columns = [c for c in MODEL_COLUMNS if c not in UNEXPORTED]
        models = query_models(db, model_filter, sort="provider", columns=columns)
    narrowed = bool(
        model_filter.query
        or model_filter.min_context is not None
        or model_filter.max_input_price is not None
        or model_filter.tools
        or model_filter.vision
        or model_filter.reasoning
        or model_filter.model_type
    )
    return ExportData(providers=providers, models=models, narrowed=narrowed, as_of=as_of)


def load_payload(db: Any, payload_hash: str | None) -> Any:
    """The stored answer with this hash (decoded), or None."""
    if not payload_hash:
        return None
    row = db.execute("select body from payloads where hash = ?", [payload_hash]).fetchone()
    return json.loads(row[0]) if row else None


def price(value: float | None) -> float | None:
    """A price without float noise (0.5900000000000001 -> 0.59)."""
    if value is None:
        return None
    return float(f"{value:.10g}")


def per_token(value: float | None) -> float | None:
    """USD per 1M tokens (the catalog's unit) as USD per token (LiteLLM's)."""
    if value is None:
        return None
    return float(f"{value / 1_000_000:.10g}")


_SLUG_RE = re.compile(r"[^a-z0-9_]+")


def slug(text: str) -> str:
    """Lowercase letters, digits, ``_`` and single hyphens: ``Llama-3.3 70B`` -> ``llama-3-3-70b``."""
    return _SLUG_RE.sub("-", text.lower()).strip("-")


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``... whichever is not in ``taken`` (which it joins)."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate


def known(row: dict[str, Any], keys: dict[str, str], convert: Any = None) -> dict[str, Any]:
    """``{key: convert(row[column])}`` for each ``column: key`` of ``keys`` whose value the catalog
    knows; unknown facts are left out (never 0, false or null)."""
    found = {key: row[column] for column, key in keys.items() if row[column] is not None}
    return {key: convert(value) for key, value in found.items()} if convert else found


def display_name(row: dict[str, Any]) -> str:
    """The provider's label for a model, or its id."""
    return row.get("name") or row["model_id"]


def key_variable(provider: Provider) -> str:
    """The variable a client reads the provider's key from. A provider that needs no key gets
    ``<NAME>_API_KEY`` (its name upper-cased, other characters ``_``): catalogs whose clients
    list a provider only once its key variable is set (OpenCode, Crush) need one, and any
    value will do."""
    if provider.api_key_env:
        return provider.api_key_env
    return re.sub(r"[^A-Z0-9]+", "_", provider.name.upper()).strip("_") + "_API_KEY"


def day(moment: str | None) -> str | None:
    """``YYYY-MM-DD`` of an ISO 8601 moment (``2026-03-01T12:00:00Z`` -> ``2026-03-01``)."""
    if not moment or not re.match(r"\d{4}-\d{2}-\d{2}", moment):
        return None
    return moment[:10]


def chat_groups(data: ExportData) -> list[tuple[Provider, list[dict[str, Any]]]]:
    """Callable providers with their selected chat models (and those of unknown type)."""
    out = []
    for provider, rows in data.by_provider():
        models = [r for r in rows if r["model_type"] in CHAT_TYPES]
        if models:
            out.append((provider, models))
    return out


def output_limit(row: dict[str, Any]) -> int:
    """The model's output limit, or ``DEFAULT_MAX_OUTPUT`` (capped at its context window) for a
    client that needs one."""
    if row["max_output_tokens"] is not None:
        return int(row["max_output_tokens"])
    if row["context_window"] is not None:
        return min(DEFAULT_MAX_OUTPUT, int(row["context_window"]))
    return DEFAULT_MAX_OUTPUT
