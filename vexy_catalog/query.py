"""Questions asked of the catalog: filtered model lists and completeness statistics.

``ModelFilter`` is shared by ``vexy models``, ``ModelCatalog.models()`` and the exporters, so
"tool-calling models with 128k context" means the same rows everywhere.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .facts import FACT_FIELDS

if TYPE_CHECKING:
    from sqlite_utils import Database

__all__ = [
    "MODEL_COLUMNS",
    "MODEL_TYPES",
    "SORTS",
    "ModelFilter",
    "count_models",
    "format_price",
    "format_tokens",
    "get_model",
    "listed_per_provider",
    "model_providers",
    "parse_tokens",
    "query_models",
    "stats",
]

MODEL_TYPES = ("chat", "completion", "embedding", "image", "audio", "rerank", "moderation")

# Columns a model row offers to its readers (raw only on request).
MODEL_COLUMNS = ("provider", "model_id", *FACT_FIELDS, "sources", "first_seen", "updated_at", "removed_at")

# Sort name -> ORDER BY. Unknown values sort last whatever the direction; ties by provider, id.
SORTS = {
    "name": "coalesce(name, model_id) collate nocase, provider, model_id",
    "context": "context_window is null, context_window desc, provider, model_id",
    "input_price": "input_price is null, input_price, provider, model_id",
    "output_price": "output_price is null, output_price, provider, model_id",
    "provider": "provider, model_id",
    "first_seen": "first_seen desc, provider, model_id",
    # Lowest input price, then output price, then the larger context window.
    "cheapest": "input_price is null, input_price, output_price is null, output_price, "
    "context_window desc, provider, model_id",
}


@dataclass
class ModelFilter:
    """Which models: all criteria must hold. Unknown facts never pass a criterion on them."""

    query: str | None = None
    providers: list[str] = field(default_factory=list)
    min_context: int | None = None
    max_input_price: float | None = None
    tools: bool = False
    vision: bool = False
    reasoning: bool = False
    model_type: str | None = None
    include_removed: bool = False

    def where(self, removed_index: bool = True) -> tuple[str, list[Any]]:
        """The SQL condition and its parameters. ``removed_index=False`` keeps SQLite from
        reading the rows through the index on ``removed_at`` (which it prefers without
        statistics, though nearly every row is listed), for a query in key order."""
        clauses: list[str] = []
        params: list[Any] = []
        if not self.include_removed:
            clauses.append("removed_at is null" if removed_index else "+removed_at is null")
        if self.query:
            # A case-insensitive substring of the id or the display name.
            clauses.append("(instr(lower(model_id), ?) > 0 or instr(lower(coalesce(name, '')), ?) > 0)")
            params += [self.query.lower(), self.query.lower()]
        if self.providers:
            clauses.append(f"provider in ({', '.join('?' for _ in self.providers)})")
            params += list(self.providers)
        if self.min_context is not None:
            clauses.append("context_window >= ?")
            params.append(self.min_context)
        if self.max_input_price is not None:
            clauses.append("input_price <= ?")
            params.append(self.max_input_price)
        for flag, column in (
            (self.tools, "supports_tools"),
            (self.vision, "supports_vision"),
            (self.reasoning, "supports_reasoning"),
        ):
            if flag:
                clauses.append(f"{column} = 1")
        if self.model_type:
            clauses.append("model_type = ?")
            params.append(self.model_type)
        return (" and ".join(clauses) or "1"), params


def format_tokens(value: int) -> str:
    """Token counts in decimal units, as the filters read them, distinct where the values are:
    128000 -> 128k, 131072 -> 131k, 32768 -> 32.8k, 200000 -> 200k, 1000000 -> 1M,
    1048576 -> 1.05M, 8192 -> 8,192."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if value >= 100_000:
        return f"{round(value / 1000)}k"
    if value >= 10_000:
        return f"{value / 1000:.3g}k"
    return f"{value:,}"


_TOKEN_UNITS = {"k": 1_000, "m": 1_000_000}


# SQLite's largest integer: a larger count would not fit the query (and no model has it).
MAX_TOKENS = 2**63 - 1


def parse_tokens(text: str) -> int:
    """A token count as people write it, in the units :func:`format_tokens` prints:
    ``128000``, ``128,000``, ``128k``, ``1m``, ``1.5M``. Raises ValueError otherwise."""
    cleaned = text.strip().lower().replace(",", "").replace("_", "")
    unit = _TOKEN_UNITS.get(cleaned[-1:], 1) if cleaned else 1
    number = cleaned[:-1] if unit != 1 else cleaned
    try:
        amount = float(number)
    except ValueError:
        raise ValueError(f"'{text}' is not a token count: use a number such as 128000, 128k or 1m") from None
    if amount < 0 or amount != amount or amount in (float("inf"), float("-inf")):
        raise ValueError(f"'{text}' is not a token count: it must be 0 or more")
    if amount * unit > MAX_TOKENS:
        raise ValueError(f"'{text}' is not a token count vexy can use: at most {MAX_TOKENS:,}")
    return round(amount * unit)


def format_price(value: float) -> str:
    """USD per 1M tokens for reading: 2.50, 0.59, 0.015, 0 (free): cents always, and the
    sub-cent digits that tell cheap models apart."""
    if value == 0:
        return "0"
    if value >= 1:
        return f"{value:.2f}"
    whole, _, digits = f"{value:.4f}".partition(".") if value >= 0.0001 else f"{value:.8f}".partition(".")
    return f"{whole}.{digits.rstrip('0').ljust(2, '0')}"


_JSON_COLUMNS = ("input_modalities", "output_modalities", "sources", "raw")
_FLAG_COLUMNS = ("supports_tools", "supports_vision", "supports_reasoning")


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for column in _JSON_COLUMNS:
        if isinstance(row.get(column), str):
            row[column] = json.loads(row[column])
    for column in _FLAG_COLUMNS:
        if row.get(column) is not None:
            row[column] = bool(row[column])
    return row


def query_models(
    db: Database,
    model_filter: ModelFilter | None = None,
    sort: str = "name",
    limit: int | None = None,
    raw: bool = False,
    columns: Sequence[str] = MODEL_COLUMNS,
) -> list[dict[str, Any]]:
    """Model rows matching ``model_filter``, decoded: flags as booleans, JSON columns parsed.
    ``columns`` (of :data:`MODEL_COLUMNS`) names the keys each row has."""
    if sort not in SORTS:
        raise ValueError(f"Unknown sort '{sort}': use one of {', '.join(SORTS)}")
    # In key order, reading along the primary key needs no sort (see ModelFilter.where).
    where, params = (model_filter or ModelFilter()).where(removed_index=sort != "provider")
    names = list(columns) + (["raw"] if raw else [])
    sql = f"select {', '.join(names)} from models where {where} order by {SORTS[sort]}"
    if limit is not None:
        sql += " limit ?"
        params.append(limit)
    # Plain sqlite3 (sqlite-utils' query() costs a third more on a whole catalog), decoding only
    # the columns read.
    json_columns = [(i, c) for i, c in enumerate(names) if c in _JSON_COLUMNS]
    flag_columns = [(i, c) for i, c in enumerate(names) if c in _FLAG_COLUMNS]
    loads = json.loads
    rows = []
    for values in db.execute(sql, params):
        row = dict(zip(names, values, strict=True))
        for i, column in json_columns:
            if isinstance(values[i], str):
                row[column] = loads(values[i])
        for i, column in flag_columns:
            if values[i] is not None:
                row[column] = bool(values[i])
        rows.append(row)
    return rows


def get_model(db: Database, provider: str, model_id: str) -> dict[str, Any] | None:
    """One model row (listed or removed), decoded as :func:`query_models` decodes rows."""
    sql = f"select {', '.join(MODEL_COLUMNS)} from models where provider = ? and model_id = ?"
    rows = list(db.query(sql, [provider, model_id]))
    return _decode(rows[0]) if rows else None


def count_models(db: Database, model_filter: ModelFilter | None = None) -> int:
    where, params = (model_filter or ModelFilter()).where()
    return db.execute(f"select count(*) from models where {where}", params).fetchone()[0]


# Per provider, a recursive walk of the index on provider: one seek per provider, where
# "select distinct provider from models" reads every entry of the index.
_PROVIDERS_OF_MODELS = """
with recursive listed(provider) as (
  select min(provider) from models
  union all
  select (select min(provider) from models where provider > listed.provider) from listed
  where listed.provider is not null
)
select provider from listed where provider is not null
"""


def model_providers(db: Database | sqlite3.Connection, listed_only: bool = False) -> list[str]:
    """The providers of the catalog's models, in name order (``listed_only``: those listing
    a model now), read without a pass over the models."""
    names = [row[0] for row in db.execute(_PROVIDERS_OF_MODELS)]
    if not listed_only:
        return names
    listed = "select 1 from models where provider = ? and removed_at is null limit 1"
    return [name for name in names if db.execute(listed, [name]).fetchone()]


def listed_per_provider(db: Database | sqlite3.Connection) -> dict[str, int]:
    """How many models each provider lists now (providers listing none left out), counted in
    the index on (provider, first_seen, removed_at): "+" keeps SQLite off the index on
    removed_at, through which it would read every listed model's row."""
    sql = "select provider, count(*) from models where +removed_at is null group by provider"
    return dict(db.execute(sql).fetchall())


_STATS_SQL = """
select
  provider,
  count(*) as models,
  sum(context_window is not null) as with_context,
  sum(input_price is not null) as with_price,
  sum(supports_tools is not null) as with_tools_flag,
  sum(supports_vision is not null) as with_vision_flag,
  sum(
    (select count(*) from json_each(coalesce(models.sources, '{}'))
     where json_each.key != '_notes' and json_each.value != 'provider')
  ) as enriched_facts,
  sum(
    exists(select 1 from json_each(coalesce(models.sources, '{}'))
           where json_each.key != '_notes' and json_each.value != 'provider')
  ) as enriched_models,
  (select count(*) from disputes d where d.provider = models.provider and d.kind in ('unit', 'implausible'))
    as disputed_facts,
  (select count(*) from disputes d where d.provider = models.provider and d.kind = 'placeholder')
    as placeholders_dropped,
  (select count(*) from unread_keys u where u.provider = models.provider) as unread_keys
from models
where removed_at is null
group by provider
order by provider
"""


def stats(db: Database) -> list[dict[str, Any]]:
    """Per provider: listed models and how many have each kind of fact (stored facts only: a
    disputed price is not counted), how many were enriched, and how many stated values were
    disputed (unit, implausible) or dropped as placeholders, and its unread fact-like keys."""
    rows = []
    for row in db.query(_STATS_SQL):
        n = row["models"] or 1
        for key in ("with_context", "with_price", "with_tools_flag", "with_vision_flag", "enriched_models"):
            row[f"{key}_share"] = round(row[key] / n, 4)
        rows.append(row)
    return rows
