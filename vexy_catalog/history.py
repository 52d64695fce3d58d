"""What changed: the ``model_changes`` log, facts as of any moment, readable change lists, Atom.

Every fetch that stores an answer logs, in the same transaction, one row per model whose
listing or stated facts changed:

- ``added``: first listed (the first fetch of a provider logs each of its models once);
- ``removed``: no longer listed; ``returned``: listed again after a removal;
- ``changed``: a tracked fact the provider states changed; ``fields`` is ``{field: [old, new]}``.

Only what the provider itself says is logged (``TRACKED_FIELDS`` of its own record), so the log
tells exactly what each provider changed, and nothing that enrichment derived. ``facts`` holds
the provider's tracked facts after the change: the log alone answers "what did groq's
llama-3.3-70b cost on 1 March", even after old payloads are pruned.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any
from xml.sax.saxutils import escape

from sqlite_utils import Database

from .db import TRACKED_FIELDS, ChangeLog, tracked
from .query import format_price, format_tokens
from .text import xml_text
from .timeutil import format_time, parse_age, parse_time

__all__ = [
    "TRACKED_FIELDS",
    "ChangeLog",
    "changes_atom",
    "describe_change",
    "list_changes",
    "answer_as_of",
    "models_as_of",
    "parse_since",
    "prune",
    "tracked",
]


def parse_since(value: str | None, now: datetime | None = None) -> str | None:
    """``7d``, ``12h``, ``30m`` ago, or a date / ISO time, as an ISO 8601 UTC string."""
    if value is None:
        return None
    now = now or datetime.now(timezone.utc)
    text = value.strip()
    if text and text[-1].lower() in "smhdw" and text[:-1].replace(".", "", 1).isdigit():
        moment = now - parse_age(text)  # type: ignore[operator]
    else:
        try:
            moment = parse_time(text)
        except ValueError:
            raise ValueError(
                f"'{value}' is neither an age (7d, 12h) nor a date (2026-03-01, 2026-03-01T12:00:00Z)"
            ) from None
    return format_time(moment)


def list_changes(
    db: Database, since: str | None = None, providers: Iterable[str] = (), limit: int | None = None
) -> list[dict[str, Any]]:
    """Change rows (newest first), with ``fields`` and ``facts`` decoded."""
    where = ["1"]
    params: list[Any] = []
    if since:
        where.append("c.at >= ?")
        params.append(since)
    providers = list(providers)
    if providers:
        where.append(f"c.provider in ({', '.join('?' for _ in providers)})")
        params += providers
    # The catalog's current facts (enrichment included) fill the summary of an added model
    # whose provider lists ids only.
    sql = (
        "select c.id, c.fetch_id, c.provider, c.model_id, c.change, c.fields, c.facts, c.at, "
        "m.context_window as current_context_window, m.input_price as current_input_price, "
        "m.output_price as current_output_price from model_changes c "
        "left join models m on m.provider = c.provider and m.model_id = c.model_id "
        f"where {' and '.join(where)} "
        "order by c.at desc, c.id desc"
    )
    if limit is not None:
        sql += " limit ?"
        params.append(limit)
    rows = []
    for row in db.query(sql, params):
        row["fields"] = json.loads(row["fields"] or "{}")
        row["facts"] = json.loads(row["facts"] or "{}")
        row["current"] = {key: row.pop(f"current_{key}") for key in ("context_window", "input_price", "output_price")}
        rows.append(row)
    return rows


_LABELS = {
    "name": "name",
    "context_window": "context",
    "max_output_tokens": "max output",
    "input_price": "input",
    "output_price": "output",
    "cache_read_price": "cache read",
    "input_modalities": "input modalities",
    "output_modalities": "output modalities",
    "supports_tools": "tools",
    "supports_vision": "vision",
    "supports_reasoning": "reasoning",
    "model_type": "type",
    "deprecated_at": "deprecated",
}


def _value(field: str, value: Any) -> str:
    if value is None:
        return "unknown"
    if field.endswith("_price"):
        return "$" + format_price(value)
    if field in ("context_window", "max_output_tokens"):
        return format_tokens(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "+".join(value)
    return str(value)


def _diff(field: str, old: Any, new: Any) -> str:
    before, after = _value(field, old), _value(field, new)
    if before == after and isinstance(old, int | float) and isinstance(new, int | float):
        # Rounded alike (131,500 and 131,072 are both 131k): the exact numbers say what changed.
        before, after = (f"${v:g}" if field.endswith("_price") else f"{v:,}" for v in (old, new))
    return f"{_LABELS.get(field, field)} {before} -> {after}"


def _summary(facts: Mapping[str, Any], current: Mapping[str, Any] | None = None, back: bool = False) -> str:
    facts = {**{k: v for k, v in (current or {}).items() if v is not None}, **facts}
    parts = ["back"] if back else []
    if facts.get("context_window"):
        parts.append(f"{format_tokens(facts['context_window'])} ctx")
    if facts.get("input_price") is not None or facts.get("output_price") is not None:
        parts.append(
            f"{_value('input_price', facts.get('input_price'))}/{_value('output_price', facts.get('output_price'))}"
        )
    return f" ({', '.join(parts)})" if parts else ""


def describe_change(row: Mapping[str, Any]) -> str:
    """One line: ``+ groq llama-4-scout (131k ctx, $0.11/$0.34)``, ``~ openai gpt-4o input $5.00 -> $2.50``."""
    head = f"{row['provider']} {row['model_id']}"
    change = row["change"]
    if change == "added":
        return f"+ {head}{_summary(row['facts'], row.get('current'))}"
    if change == "removed":
        return f"- {head}"
    diffs = ", ".join(_diff(f, old, new) for f, (old, new) in row["fields"].items())
    if change == "returned":
        return f"+ {head}{_summary(row['facts'], row.get('current'), back=True)}" + (f": {diffs}" if diffs else "")
    return f"~ {head} {diffs}"


def _xml(text: Any) -> str:
    """Text for XML content or a quoted attribute: escaped, and with the characters XML cannot
    hold at all (a control character in a model id) written as visible escapes."""
    return escape(xml_text(text), {'"': "&quot;"})


def changes_atom(rows: list[dict[str, Any]], feed_url: str, title: str = "vexy: model changes") -> str:
    """An Atom 1.0 feed of change rows (as :func:`list_changes` returns them)."""
    updated = rows[0]["at"] if rows else "1970-01-01T00:00:00.000Z"
    entries = []
    for row in rows:
        line = describe_change(row)
        entries.append(
            "  <entry>\n"
            f"    <id>tag:vexy,2026:change/{row['id']}</id>\n"
            f"    <title>{_xml(line)}</title>\n"
            f"    <updated>{_xml(row['at'])}</updated>\n"
            f'    <category term="{_xml(row["provider"])}"/>\n'
            f'    <category term="{_xml(row["change"])}"/>\n'
            f'    <content type="text">{_xml(line)}</content>\n'
            "  </entry>\n"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"  <title>{_xml(title)}</title>\n"
        f"  <id>{_xml(feed_url)}</id>\n"
        f'  <link rel="self" href="{_xml(feed_url)}"/>\n'
        f"  <updated>{_xml(updated)}</updated>\n"
        "  <author><name>vexy</name></author>\n" + "".join(entries) + "</feed>\n"
    )


_AS_OF_SQL = """
select provider, model_id, change, facts, at from (
  select provider, model_id, change, facts, at,
    row_number() over (partition by provider, model_id order by at desc, id desc) as n
  from model_changes where at <= ?
) where n = 1 and change != 'removed'
"""


def answer_as_of(db: Database, provider: str, when: str) -> tuple[str, str] | None:
    """``(payload hash, finished_at)`` of the provider's latest good answer at ``when`` (None
    when it had none then): what its catalog was read from at that moment."""
    return db.execute(
        "select payload_hash, finished_at from fetches "
        "where provider = ? and status in ('ok', 'unchanged') and payload_hash is not null and finished_at <= ? "
        "order by finished_at desc, id desc limit 1",
        [provider, when],
    ).fetchone()


def _answer_as_of(db: Database, provider: str, when: str) -> tuple[list[tuple[str, Any]] | None, str | None]:
    """The records of the provider's latest good answer at ``when``, read as its fetch read them
    (None when none was stored, or it has been pruned), and when that fetch finished."""
    from .db import stored_records

    row = answer_as_of(db, provider, when)
    if row is None:
        return None, None
    return stored_records(db, provider, row[0]), row[1]


def _references_as_of(db: Database, when: str) -> list[Any]:
    from .db import REFERENCE_PROVIDERS
    from .facts import ReferenceIndex

    indexes = []
    for name in REFERENCE_PROVIDERS:
        records, _ = _answer_as_of(db, name, when)
        index = ReferenceIndex(name, records or [])
        if len(index):
            indexes.append(index)
    return indexes


def models_as_of(
    db: Database, when: str, model_filter: Any = None, sort: str = "name", limit: int | None = None
) -> list[dict[str, Any]]:
    """The models listed at ``when`` with their facts then, decided as a fetch at that moment
    decided them (:func:`vexy_catalog.facts.resolve_provider`: units, placeholders,
    plausibility, enrichment) from each provider's answer stored as of then and the reference
    answers stored as of then. A model whose answer has been pruned is read from the change
    log's record of what its provider stated."""
    from .db import FACT_COLUMNS, fact_columns
    from .facts import reading_of_facts, resolve_provider
    from .query import query_models

    references = _references_as_of(db, when)
    listed: dict[str, dict[str, tuple[dict[str, Any], str]]] = {}
    for provider, model_id, _change, facts_json, at in db.execute(_AS_OF_SQL, [when]).fetchall():
        listed.setdefault(provider, {})[model_id] = (json.loads(facts_json or "{}"), at)
    fact_maps = {
        name: json.loads(facts_map) if facts_map else None
        for name, facts_map in db.execute("select name, facts_map from providers")
    }
    memory = Database(memory=True)
    rows = []
    for provider, models in listed.items():
        answer, fetched_at = _answer_as_of(db, provider, when)
        raw = dict(answer or [])
        results = resolve_provider(
            provider,
            [(model_id, raw[model_id]) for model_id in models if model_id in raw],
            references,
            fact_map=fact_maps.get(provider),
            fetched_at=fetched_at,
            read={m: reading_of_facts(facts) for m, (facts, _) in models.items() if m not in raw},
        )
        for result in results:
            rows.append(
                {
                    "provider": provider,
                    "model_id": result.model_id,
                    **fact_columns({**result.facts, "sources": result.sources}),
                    "first_seen": None,
                    "updated_at": models[result.model_id][1],
                    "removed_at": None,
                }
            )
    columns = {"provider": str, "model_id": str, "name": str, **FACT_COLUMNS}
    memory["models"].create(
        {**columns, "first_seen": str, "updated_at": str, "removed_at": str}, pk=("provider", "model_id")
    )
    memory["models"].insert_all(rows, batch_size=1000)
    first_seen = dict(
        ((p, m), at)
        for p, m, at in db.execute(
            "select provider, model_id, min(at) from model_changes where change = 'added' group by provider, model_id"
        ).fetchall()
    )
    result = query_models(memory, model_filter, sort=sort, limit=limit)
    for row in result:
        row["first_seen"] = first_seen.get((row["provider"], row["model_id"]))
    return result


def prune(db: Database, keep: int) -> dict[str, int]:
    """Keep the ``keep`` most recently used distinct payloads per provider (and every payload a
    provider's current models came from); delete the rest. Fetch and change rows stay.

    Deciding and deleting are one write transaction: a fetch that stores a new answer waits for
    it, so what a provider's models come from is never deleted under it.
    """
    from .db import write_transaction

    if keep < 1:
        raise ValueError("keep must be at least 1")
    with write_transaction(db):
        current = {h for (h,) in db.execute("select payload_hash from providers where payload_hash is not null")}
        keepers: set[str] = set(current)
        for (provider,) in db.execute("select distinct provider from fetches").fetchall():
            recent = db.execute(
                "select payload_hash from fetches where provider = ? and payload_hash is not null "
                "group by payload_hash order by max(finished_at) desc limit ?",
                [provider, keep],
            ).fetchall()
            keepers.update(h for (h,) in recent)
        doomed = [h for (h,) in db.execute("select hash from payloads").fetchall() if h not in keepers]
        freed = 0
        for digest in doomed:
            freed += db.execute("select length(body) from payloads where hash = ?", [digest]).fetchone()[0] or 0
            db.execute("delete from payloads where hash = ?", [digest])
    return {"deleted": len(doomed), "kept": len(keepers), "bytes_freed": freed}
