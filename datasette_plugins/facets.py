"""Column facets of the catalog's tables counted in one pass over the matching rows.

Datasette 0.65 counts each column facet with a query of its own over the page's rows: on
``/vexy/models?_search=llama`` (12k matches at 110k models) the five configured facets each
match the search again and read every matching row again, ~10 ms apiece. Here the rows are read
once, into a materialized CTE, and every facet is counted from it in the same statement:
exactly Datasette's query per column (``where col is not null group by col order by count desc,
value limit N+1``), so the values, counts, order and truncation are Datasette's.

A page without a filter or search keeps Datasette's query per column: each is then answered
from the column's index without reading a row, which one pass over every row could not beat.
A facet asked for twice (configured in metadata.yml and again with ``?_facet=``) is counted
and shown once, as configured, where Datasette 0.65 showed it twice (``provider_2``).

:func:`replace_column_facet` swaps this class in for Datasette's own ``ColumnFacet`` in the
result of ``register_facet_classes`` (a hook wrapper), for the catalog database only; any
other database of the same Datasette keeps Datasette's class.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from datasette.database import QueryInterrupted
from datasette.facets import ColumnFacet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

from vexy_catalog.serve import CATALOG_DB

__all__ = ["CatalogColumnFacet", "batched_facet_sql", "replace_column_facet"]

# SQLite before 3.35 does not know the MATERIALIZED hint; it then reads the rows once per facet,
# as Datasette's own queries do (the same answer, no faster).
_MATERIALIZED = "materialized " if sqlite3.sqlite_version_info >= (3, 35, 0) else ""


def batched_facet_sql(sql: str, columns: list[str], limit: int) -> str:
    """One statement counting every column of ``columns`` over the rows of ``sql``: rows of
    ``(facet, value, count)``, ``facet`` the column's position in ``columns``, each column's
    rows as Datasette's facet query orders and limits them."""
    names = [escape_sqlite(c) for c in columns]
    branches = [
        f"select {i} as facet, value, count from (select {name} as value, count(*) as count "
        f"from vexy_facet_rows where {name} is not null group by {name} order by count desc, value limit {limit})"
        for i, name in enumerate(names)
    ]
    return f"with vexy_facet_rows as {_MATERIALIZED}(select {', '.join(names)} from ({sql}))\n" + "\nunion all\n".join(
        branches
    )


class CatalogColumnFacet(ColumnFacet):
    """Datasette's column facet, every configured and requested column counted in one query."""

    def get_configs(self) -> list[dict[str, Any]]:
        # Metadata's configs come first: a column asked for again by ?_facet= keeps the
        # configured one (not hideable, as the page always shows it).
        configs = super().get_configs()
        if self.database != CATALOG_DB:
            return configs
        kept, seen = [], set()
        for source_and_config in configs:
            config = source_and_config["config"]
            column = config.get("column") or config["simple"]
            if column not in seen:
                seen.add(column)
                kept.append(source_and_config)
        return kept

    def _whole_table(self) -> bool:
        # Datasette's SQL for a page without a where clause ends with the table's name.
        return self.table is None or self.sql.rstrip().endswith(f"from {escape_sqlite(self.table)}")

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        configs = self.get_configs()
        if self.database != CATALOG_DB or len(configs) < 2 or self._whole_table():
            return await super().facet_results()
        columns = [c["config"].get("column") or c["config"]["simple"] for c in configs]
        facet_size = self.get_facet_size()
        try:
            rows = await self.ds.execute(
                self.database,
                batched_facet_sql(self.sql, columns, facet_size + 1),
                self.params,
                truncate=False,
                custom_time_limit=self.ds.setting("facet_time_limit_ms"),
            )
        except QueryInterrupted:
            # Too slow as one statement: Datasette's queries, each with its own time limit,
            # say which facets timed out.
            return await super().facet_results()
        by_facet: list[list[tuple[Any, int]]] = [[] for _ in columns]
        for facet, value, count in rows.rows:
            by_facet[facet].append((value, count))
        qs_pairs = self.get_querystring_pairs()
        results = [
            await self._facet_info(column, source_and_config["source"], values, facet_size, qs_pairs)
            for column, source_and_config, values in zip(columns, configs, by_facet, strict=True)
        ]
        return results, []

    async def _facet_info(
        self,
        column: str,
        source: str,
        values: list[tuple[Any, int]],
        facet_size: int,
        qs_pairs: list[tuple[str, str]],
    ) -> dict[str, Any]:
        """One facet as Datasette's ColumnFacet describes it (tests/test_facets.py compares them)."""
        shown = values[:facet_size]
        expanded = (
            await self.ds.expand_foreign_keys(self.database, self.table, column, [v for v, _ in shown])
            if self.table
            else {}
        )
        column_qs = f"{column}__exact" if column.startswith("_") else column
        results = []
        for value, count in shown:
            selected = (column_qs, str(value)) in qs_pairs
            if selected:
                toggle_path = path_with_removed_args(self.request, {column_qs: str(value)})
            else:
                toggle_path = path_with_added_args(self.request, {column_qs: value})
            results.append(
                {
                    "value": value,
                    "label": expanded.get((column, value), value),
                    "count": count,
                    "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(toggle_path)),
                    "selected": selected,
                }
            )
        return {
            "name": column,
            "type": self.type,
            "hideable": source != "metadata",
            "toggle_url": self.ds.urls.path(path_with_removed_args(self.request, {"_facet": column})),
            "results": results,
            "truncated": len(values) > facet_size,
        }


def replace_column_facet(groups: list[list[type]]) -> list[list[type]]:
    """The facet classes of every plugin, Datasette's ColumnFacet replaced by ours."""
    return [[CatalogColumnFacet if cls is ColumnFacet else cls for cls in group] for group in groups]
