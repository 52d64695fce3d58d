"""What ``vexy fetch`` has loaded when its first request leaves.

A refetch opens the catalog (sqlite-utils, the facts package: ~60 ms of imports) on a thread
once its requests are out, so those imports never hold the requests back. A module-level
import of them added to a module the request path loads (cli, catalog, fetch, providers, ...)
would quietly undo that; this test sees it.
"""

from __future__ import annotations

import json
import subprocess
import sys

# Records sys.modules as the first request is sent (httpx's send, not vexy's code, is wrapped).
_PROBE = """
import json, sys
import httpx

seen = []
send = httpx.AsyncClient.send

async def first(self, *args, **kwargs):
    if not seen:
        seen.append(sorted(sys.modules))
    return await send(self, *args, **kwargs)

httpx.AsyncClient.send = first
from vexy_catalog.cli import cli

try:
    cli(sys.argv[1:], standalone_mode=False)
finally:
    print(json.dumps(seen[0] if seen else None))
"""

# Needed only once answers are stored, or by other commands.
NOT_BEFORE_THE_REQUESTS = (
    "sqlite_utils",
    "vexy_catalog.db",
    "vexy_catalog.facts",
    "vexy_catalog.query",
    "vexy_catalog.export",
    "vexy_catalog.history",
    "datasette",
)


def test_a_refetch_sends_its_requests_before_the_catalog_imports(fetched):
    providers_file, db_path = fetched
    args = ["--db", str(db_path), "--providers-file", str(providers_file), "fetch", "groq", "openrouter", "litellm"]
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded is not None, "no request was sent"
    # The probe itself works: what a fetch needs to send is there.
    assert {"vexy_catalog.fetch", "vexy_catalog.providers", "anyio"} <= set(loaded)
    early = sorted(m for m in loaded for p in NOT_BEFORE_THE_REQUESTS if m == p or m.startswith(p + "."))
    assert not early, f"imported before the first request left: {sorted(set(early))}"
