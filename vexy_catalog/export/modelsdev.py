"""models.dev's ``api.json``: the catalog OpenCode reads (``OPENCODE_MODELS_URL`` / ``_PATH``).

One object ``{provider id: Provider}``, each provider with its ``models`` keyed by model id, in
the shape of models.dev's ``packages/core/src/schema.ts``. Prices are USD per 1M tokens, as in
the catalog. What the catalog does not know is left out rather than written as 0, false or
null (OpenCode crashed once on a null price):

- ``cost`` only when both the input and the output price are known (OpenCode shows a missing
  price as $0, which a reader of this feed must not take for "free"); ``cache_read`` when known.
  The catalog has no cache-write, reasoning or audio prices.
- ``attachment`` (image input), ``reasoning`` and ``tool_call`` only when known. OpenCode reads
  a missing ``tool_call`` as true and a missing ``attachment``/``reasoning`` as false.
- ``modalities`` only when known (``file`` is models.dev's ``pdf``); ``open_weights``,
  ``temperature`` and ``knowledge`` are never known, so never written.
- Dates: ``release_date`` is the provider's ``created`` or else the day vexy first saw the
  model; ``last_updated`` the day its facts last changed.
- No ``status``: OpenCode hides ``deprecated`` models, and a model its provider still lists
  can still be called, whatever its announced deprecation date.
- ``limit``: OpenCode drops a model without ``limit.context`` and ``limit.output``. An unknown
  context window is written as 0, which is OpenCode's own "not known" (it then never
  compacts a session early); an unknown output limit as ``DEFAULT_MAX_OUTPUT`` (4096), a reply
  size every chat API accepts, where OpenCode would otherwise ask for 32,000 tokens.

Providers: callable ones with selected chat models (or models of unknown type). ``env`` is the
key variable (a keyless provider gets ``<NAME>_API_KEY``: OpenCode lists a provider only when
one of its variables is set, to any value). ``npm`` is ``@ai-sdk/openai-compatible``, except
where OpenCode picks a code path by provider id that needs the vendor's own SDK (``openai``:
the Responses API) or the API is Anthropic's. ``api`` is always the base URL the catalog
fetched from, so OpenCode calls the endpoint the catalog knows.
"""

from __future__ import annotations

from typing import Any

from .common import (
    DEFAULT_MAX_OUTPUT,
    ExportData,
    Provider,
    chat_groups,
    day,
    display_name,
    key_variable,
    known,
    output_limit,
    price,
)
from .merge import dump_json

FILENAME = "api.json"
MEDIA_TYPE = "application/json"
# OpenCode loads a provider through a loader chosen by its id; for these ids the loader calls
# an API the generic OpenAI-compatible SDK lacks (openai: ``sdk.responses``), so the id gets the
# package models.dev itself gives it. Everything else speaks the OpenAI-compatible API.
VENDOR_SDKS = {"openai": "@ai-sdk/openai"}
FLAGS = {"supports_vision": "attachment", "supports_reasoning": "reasoning", "supports_tools": "tool_call"}
MODALITIES = {"text": "text", "image": "image", "audio": "audio", "video": "video", "file": "pdf"}


def npm_package(provider: Provider) -> str:
    if provider.kind == "anthropic":
        return "@ai-sdk/anthropic"
    return VENDOR_SDKS.get(provider.name, "@ai-sdk/openai-compatible")


def modalities(row: dict[str, Any]) -> dict[str, list[str]] | None:
    found = {}
    for side in ("input", "output"):
        values = row.get(f"{side}_modalities")
        if values:
            found[side] = [MODALITIES[v] for v in values if v in MODALITIES]
    return found or None


def cost(row: dict[str, Any]) -> dict[str, float] | None:
    if row["input_price"] is None or row["output_price"] is None:
        return None
    out = {"input": price(row["input_price"]), "output": price(row["output_price"])}
    if row["cache_read_price"] is not None:
        out["cache_read"] = price(row["cache_read_price"])
    return out  # type: ignore[return-value]


def model_entry(row: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": row["model_id"], "name": display_name(row)}
    entry.update(known(row, FLAGS, bool))
    released = day(row.get("created")) or day(row.get("first_seen"))
    if released:
        entry["release_date"] = released
    updated = day(row.get("updated_at")) or released
    if updated:
        entry["last_updated"] = max(updated, released or updated)
    found = modalities(row)
    if found:
        entry["modalities"] = found
    prices = cost(row)
    if prices is not None:
        entry["cost"] = prices
    entry["limit"] = {
        "context": int(row["context_window"]) if row["context_window"] is not None else 0,
        "output": output_limit(row),
    }
    return entry


def build(data: ExportData) -> dict[str, Any]:
    """The ``api.json`` object."""
    out: dict[str, Any] = {}
    for provider, rows in chat_groups(data):
        out[provider.name] = {
            "id": provider.name,
            "name": provider.name,
            "npm": npm_package(provider),
            "api": provider.api_base,
            "env": [key_variable(provider)],
            "doc": f"{provider.api_base}/models",
            "models": {row["model_id"]: model_entry(row) for row in rows},
        }
    return out


def render(data: ExportData) -> str:
    return dump_json(build(data))


def hint(data: ExportData) -> str | None:
    return defaults_note(data, "OpenCode", "limit.context 0 (not known)", "limit.output")


def defaults_note(data: ExportData, client: str, unknown_context: str | None, output_key: str) -> str | None:
    """What a reader of a chat-client feed should know: the documented defaults it holds and the
    key variables to set for keyless providers."""
    groups = chat_groups(data)
    rows = [r for _, models in groups for r in models]
    notes = []
    no_context = sum(1 for r in rows if r["context_window"] is None)
    no_output = sum(1 for r in rows if r["max_output_tokens"] is None)
    if no_context and unknown_context:
        notes.append(f"{no_context} models with an unknown context window have {unknown_context}")
    if no_output:
        notes.append(f"{no_output} models with an unknown output limit have {output_key} {DEFAULT_MAX_OUTPUT} or less")
    keyless = [key_variable(p) for p, _ in groups if not p.api_key_env]
    if keyless:
        notes.append(
            f"{client} lists a provider that needs no key once its variable is set to any value: " + ", ".join(keyless)
        )
    return "\n".join(notes) or None
