"""The reference for the full-fetch benchmark: bare concurrent GETs plus ``json.loads``.

Run by ``run.py`` as its own process (so it pays interpreter start-up and imports just as
``vexy fetch`` does): ``python _ref_fetch.py SPEC.json``, where SPEC is a list of
``{"url", "params", "headers"}``. Prints ``{"seconds", "records", "bytes"}``: seconds counts
from after the imports to the last answer parsed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx


def _count(payload: Any) -> int:
    if isinstance(payload, list):
        return len(payload)
    if isinstance(payload.get("data"), list):
        return len(payload["data"])
    return len([k for k in payload if k != "sample_spec"])


async def _get(client: httpx.AsyncClient, spec: dict[str, Any]) -> tuple[int, int]:
    response = await client.get(spec["url"], params=spec.get("params") or None, headers=spec.get("headers") or {})
    response.raise_for_status()
    return _count(json.loads(response.content)), len(response.content)


async def _main(specs: list[dict[str, Any]]) -> tuple[int, int]:
    # Same client settings as vexy's at --concurrency 64: no proxies from the environment,
    # enough connections for every provider at once.
    async with httpx.AsyncClient(timeout=30, trust_env=False, limits=httpx.Limits(max_connections=128)) as client:
        done = await asyncio.gather(*(_get(client, s) for s in specs))
    return sum(n for n, _ in done), sum(b for _, b in done)


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        specs = json.load(f)
    t0 = time.perf_counter()
    records, nbytes = asyncio.run(_main(specs))
    print(json.dumps({"seconds": time.perf_counter() - t0, "records": records, "bytes": nbytes}))


if __name__ == "__main__":
    main()
