"""``vexy doctor``: what vexy could not read or did not trust in each provider's answers.

Per provider, from the tables the last enrichment pass wrote (``unread_keys``, ``disputes``,
``fact_sources``, ``models``):

- **unread keys**: fact-like keys of its records that no reader understood, with an example value
  and how many models carry them (the facts they may state stay unknown; a providers-file
  ``facts:`` entry reads them);
- **disputes** by kind: ``unit`` (a unit vexy could not decide, or corrected from the reference
  catalogs), ``implausible`` (out of bounds, or 10x away from the same model's reference price),
  ``placeholder`` (values dropped: one ``created`` on every model, all-zero cache prices,
  owners such as ``system``), ``disagreement`` (sources differ; the stored value stands);
- **not USD**: prices stated in another currency, kept in ``fact_sources`` only;
- **filled from another host**: facts taken from a reference record of another host;
- **unreadable answer**: the last fetch got an answer (HTTP 2xx) that was not a model list vexy
  could read (the error names the keys it holds; ``list_path``/``id_field`` fix it).

A provider *has problems* when it has a price dispute (``unit`` or ``implausible`` on a price),
any ``unit`` dispute, or an unreadable answer: ``vexy doctor`` then exits with status 1.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlite_utils import Database

__all__ = ["ProviderDoctor", "doctor"]

_PRICE_FACTS = ("input_price", "output_price", "cache_read_price")
EXAMPLES = 5


@dataclass
class ProviderDoctor:
    provider: str
    models: int = 0
    unread: list[dict[str, Any]] = field(default_factory=list)
    disputes: dict[str, int] = field(default_factory=dict)
    price_disputes: list[dict[str, Any]] = field(default_factory=list)
    suspect_units: list[dict[str, Any]] = field(default_factory=list)
    placeholders: list[dict[str, Any]] = field(default_factory=list)
    not_usd: list[dict[str, Any]] = field(default_factory=list)
    other_host: dict[str, int] = field(default_factory=dict)
    unreadable: str | None = None  # the error of a last fetch whose 2xx answer could not be read

    @property
    def problems(self) -> bool:
        return bool(self.price_disputes or self.suspect_units or self.unreadable)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "problems": self.problems}


def _value(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def doctor(db: Database, providers: list[str] | None = None) -> list[ProviderDoctor]:
    """One report per provider (those named, or every provider with listed models or an
    unreadable last answer)."""
    if providers is None:
        # Every provider with listed models, and every one whose answer could not be read.
        providers = [
            p
            for (p,) in db.execute(
                "select provider from models where removed_at is null "
                "union select provider from fetches f where status = 'failed' and http_status between 200 and 299 "
                "and id = (select max(id) from fetches where provider = f.provider "
                "and status not in ('skipped', 'running')) order by provider"
            )
        ]
    reports = []
    for provider in providers:
        report = ProviderDoctor(provider)
        report.models = db.execute(
            "select count(*) from models where provider = ? and removed_at is null", [provider]
        ).fetchone()[0]
        for path, facts, models, example, example_model in db.execute(
            "select path, facts, models, example, example_model from unread_keys where provider = ? "
            "order by models desc, path",
            [provider],
        ):
            report.unread.append(
                {
                    "path": path,
                    "facts": _value(facts),
                    "models": models,
                    "example": _value(example),
                    "example_model": example_model,
                }
            )
        for kind, count in db.execute(
            "select kind, count(*) from disputes where provider = ? group by kind order by kind", [provider]
        ):
            report.disputes[kind] = count
        columns = "model_id, fact, kind, value, unit, reference_value, reference_source, ratio, detail"
        for row in db.query(
            f"select {columns} from disputes where provider = ? and kind in ('unit', 'implausible') "
            "order by kind, fact, model_id",
            [provider],
        ):
            row["value"] = _value(row["value"])
            row["reference_value"] = _value(row["reference_value"])
            if row["kind"] == "unit":
                report.suspect_units.append(row)
            if row["fact"] in _PRICE_FACTS:
                report.price_disputes.append(row)
        for fact, count, detail, example in db.execute(
            "select fact, count(*), min(detail), min(model_id) from disputes "
            "where provider = ? and kind = 'placeholder' group by fact order by fact",
            [provider],
        ):
            report.placeholders.append({"fact": fact, "models": count, "detail": detail, "example_model": example})
        for row in db.query(
            "select model_id, fact, unit, raw_value, path from fact_sources where provider = ? and source = 'provider' "
            "and reason like 'stated in %not converted' order by model_id, fact",
            [provider],
        ):
            row["raw_value"] = _value(row["raw_value"])
            report.not_usd.append(row)
        for fact, count in db.execute(
            "select fact, count(*) from fact_sources where provider = ? and chosen = 1 and source != 'provider' "
            "and same_host = 0 group by fact order by fact",
            [provider],
        ):
            report.other_host[fact] = count
        last = db.execute(
            "select status, http_status, error from fetches where provider = ? "
            "and status not in ('skipped', 'running') order by id desc limit 1",
            [provider],
        ).fetchone()
        if last and last[0] == "failed" and last[1] is not None and 200 <= last[1] < 300:
            report.unreadable = last[2]
        reports.append(report)
    return reports


def render(reports: list[ProviderDoctor]) -> str:
    """The reports as text, for ``vexy doctor``."""
    lines: list[str] = []
    for r in reports:
        verdict = "PROBLEMS" if r.problems else "ok"
        lines.append(f"{r.provider} ({r.models:,} models): {verdict}")
        if r.unreadable:
            lines.append(f"  last answer not read: {r.unreadable}")
        if r.unread:
            lines.append("  unread keys (the facts they may state stay unknown; add a 'facts:' entry to read them):")
            for u in r.unread[:EXAMPLES]:
                example = json.dumps(u["example"], ensure_ascii=False)
                if len(example) > 60:
                    example = example[:57] + "..."
                lines.append(
                    f"    {u['path']} ({', '.join(u['facts'])}) on {u['models']:,} model(s), e.g. {example}"
                )
            if len(r.unread) > EXAMPLES:
                lines.append(f"    ... and {len(r.unread) - EXAMPLES} more (--json lists all)")
        if r.disputes:
            lines.append("  disputes: " + ", ".join(f"{n:,} {kind}" for kind, n in sorted(r.disputes.items())))
        shown = {id(d) for d in r.suspect_units[:EXAMPLES]}
        for d in r.suspect_units[:EXAMPLES]:
            lines.append(f"    suspect unit  {d['model_id']} {d['fact']}: {d['detail']}")
        extra = [d for d in r.price_disputes if id(d) not in shown and d["kind"] != "unit"]
        for d in extra[:EXAMPLES]:
            lines.append(f"    price         {d['model_id']} {d['fact']}: {d['detail']}")
        for p in r.placeholders:
            lines.append(f"  placeholder dropped: {p['fact']} on {p['models']:,} model(s) ({p['detail']})")
        if r.not_usd:
            lines.append(f"  prices not in USD (kept, not converted): {len(r.not_usd):,}, e.g. {r.not_usd[0]['unit']}")
        if r.other_host:
            filled = ", ".join(f"{fact} {n:,}" for fact, n in r.other_host.items())
            lines.append(f"  filled from another host's record: {filled}")
    return "\n".join(lines)
