"""Catwalk's ``/v2/providers``: the provider list Crush reads (``CATWALK_URL``).

A JSON array of providers in the shape of ``pkg/catwalk/provider.go`` (charmbracelet/catwalk
v0.52), the structs Crush decodes. Prices are USD per 1M tokens. Go reads a missing key as 0 /
false, so this format cannot say "unknown"; keys the catalog does not know are left out (they
decode as 0, and the feed stays honest for other readers):

- ``cost_per_1m_in`` / ``cost_per_1m_out``: the input and output prices, when known.
- ``cost_per_1m_out_cached`` is the cache READ price, despite its name, and
  ``cost_per_1m_in_cached`` the cache WRITE price (Catwalk's CRUSH.md, "Model cost fields").
  The catalog knows cache reads only, so ``cost_per_1m_in_cached`` is never written.
- ``context_window``: when known (Crush reads 0 as unknown and then never auto-summarizes).
- ``default_max_tokens`` is sent as each request's output limit, so it is always written: the
  model's output limit, or ``DEFAULT_MAX_OUTPUT`` (4096) when the catalog does not know it.
- ``can_reason``, ``supports_attachments`` (image input): when known.

Providers: callable ones with selected chat models (or of unknown type). ``type`` is
``anthropic`` for Anthropic's API, ``openai`` for the provider named ``openai`` (Crush's OpenAI
client, Responses API included), else ``openai-compat``; ``api_endpoint`` the catalog's base
URL (without its ``/v1`` for Anthropic's API, as Crush's Anthropic client wants it).
``api_key`` is ``$VAR``: Crush lists a
provider only when it resolves to a value, so a keyless provider gets ``$<NAME>_API_KEY`` to
set to anything. The default large model is the dearest known by input price (the provider's
flagship, usually), the small one the cheapest; without prices, the largest and smallest
context window; else the first and last model.
"""

from __future__ import annotations

from typing import Any

from .common import ExportData, Provider, chat_groups, display_name, key_variable, known, output_limit, price
from .merge import dump_json

FILENAME = "providers.json"
MEDIA_TYPE = "application/json"
# Catalog column -> Catwalk key. The cache READ price is cost_per_1m_out_cached; the catalog has
# no cache-write price for cost_per_1m_in_cached.
PRICES = {
    "input_price": "cost_per_1m_in",
    "output_price": "cost_per_1m_out",
    "cache_read_price": "cost_per_1m_out_cached",
}
FLAGS = {"supports_reasoning": "can_reason", "supports_vision": "supports_attachments"}


def endpoint(provider: Provider) -> str:
    """The base URL Crush's client for ``provider`` wants. Crush's Anthropic client (Go) adds
    ``/v1/messages`` itself, so an anthropic-kind base ending in ``/v1`` (the catalog's, where
    the model list is) loses it: Catwalk's own anthropic-type providers give the host's root."""
    base = provider.api_base
    if provider.kind == "anthropic" and base.endswith("/v1"):
        return base[: -len("/v1")]
    return base


def provider_type(provider: Provider) -> str:
    if provider.kind == "anthropic":
        return "anthropic"
    return "openai" if provider.name == "openai" else "openai-compat"


def model_entry(row: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": row["model_id"], "name": display_name(row)}
    entry.update(known(row, PRICES, price))
    if row["context_window"] is not None:
        entry["context_window"] = int(row["context_window"])
    entry["default_max_tokens"] = output_limit(row)
    entry.update(known(row, FLAGS, bool))
    return entry


def defaults(rows: list[dict[str, Any]]) -> tuple[str, str]:
    """(large, small) model ids."""
    for column in ("input_price", "context_window"):
        known = [r for r in rows if r[column] is not None]
        if known:
            # Ties go to the larger context (large) and the earlier id (small).
            large = max(known, key=lambda r: (r[column], r["context_window"] or 0, r["model_id"]))
            small = min(known, key=lambda r: (r[column], r["model_id"]))
            return large["model_id"], small["model_id"]
    return rows[0]["model_id"], rows[-1]["model_id"]


def provider_entry(provider: Provider, rows: list[dict[str, Any]]) -> dict[str, Any]:
    large, small = defaults(rows)
    return {
        "name": provider.name,
        "id": provider.name,
        "api_key": f"${key_variable(provider)}",
        "api_endpoint": endpoint(provider),
        "type": provider_type(provider),
        "default_large_model_id": large,
        "default_small_model_id": small,
        "models": [model_entry(row) for row in rows],
    }


def build(data: ExportData) -> list[dict[str, Any]]:
    return [provider_entry(provider, rows) for provider, rows in chat_groups(data)]


def render(data: ExportData) -> str:
    return dump_json(build(data))


def hint(data: ExportData) -> str | None:
    from .modelsdev import defaults_note

    return defaults_note(data, "Crush", None, "default_max_tokens")
