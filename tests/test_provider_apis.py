"""Every built-in provider added for issue 13, through `vexy fetch`, against a loopback server that
answers at the path, with the authentication and paging, and in the shape its own docs describe
(each fixture in tests/fixtures/apis names the documentation page it follows).

Each case checks what a user sees: every model listed stored once, paging followed to the end,
no request without its credential, and no credential in any stored or printed byte.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, answer
from fake_providers import FakeProviders, Paged, Route, SeenRequest

from vexy_catalog.cli import cli


def api(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "apis" / f"{name}.json").read_text(encoding="utf-8"))


def openai_list(records: list[Any], info: dict[str, Any]) -> Any:
    return {"object": "list", "data": records}


@dataclass
class Case:
    name: str
    route: Callable[[FakeProviders], Route]
    # Variables to set: the provider's address (pointed at the loopback server) and its keys.
    env: Callable[[FakeProviders], dict[str, str]]
    ids: list[str]
    # The credential that must be on every request (and never in any stored or printed byte).
    secret: str | None
    path: str  # the path every request must reach, under /<name>
    requests: int = 1  # pages
    check: Callable[[list[SeenRequest]], None] | None = None
    providers_file: Callable[[FakeProviders], str] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # The first path segment the server sees (the provider's name, unless its path starts at /).
    route_name: str | None = None

    @property
    def prefix(self) -> str:
        return self.route_name or self.name


def bearer(secret: str) -> Callable[[list[SeenRequest]], None]:
    def check(seen: list[SeenRequest]) -> None:
        assert all(s.headers.get("authorization") == f"Bearer {secret}" for s in seen)

    return check


def simple(name: str, key_env: str, secret: str, path: str = "/v1/models", **route: Any) -> Case:
    """An OpenAI-shaped list at `path`, Bearer key, addressed through the provider's base-URL variable."""
    from vexy_catalog.providers import builtin_providers

    base_env = builtin_providers()[name].base_url_env
    doc = api(name)
    return Case(
        name=name,
        route=lambda s: Route(body=doc["answer"], key=secret, path=path, **route),
        env=lambda s: {base_env: f"{s.origin}/{name}/v1", key_env: secret},
        ids=[r["id"] for r in doc["answer"]["data"]],
        secret=secret,
        path=path,
        check=bearer(secret),
    )


COHERE = api("cohere")["records"]
CLOUDFLARE = api("cloudflare-workers-ai")["records"]
VERTEX = api("vertex")["records"]
MINIMAX = api("minimax")["records"]
GCLOUD_TOKEN = "ya29.a0-gcloud-token-1234567890"

CASES = [
    simple("xai", "XAI_API_KEY", "xai-test-1234567890abcdef"),
    simple("perplexity", "PERPLEXITY_API_KEY", "pplx-test-1234567890abcdef"),
    simple("nvidia", "NVIDIA_API_KEY", "nvapi-test-1234567890abcdef"),
    simple("siliconflow", "SILICONFLOW_API_KEY", "sk-siliconflow-1234567890"),
    simple("dashscope", "DASHSCOPE_API_KEY", "sk-dashscope-1234567890ab"),
    simple("vercel", "AI_GATEWAY_API_KEY", "vck_test_1234567890abcdef"),
    Case(
        name="venice",
        route=lambda s: Route(body=api("venice")["answer"], key="venice-key-1234567890", require={"type": "all"}),
        env=lambda s: {"VENICE_API_OPENAI": f"{s.origin}/venice/api/v1", "VENICE_API_KEY": "venice-key-1234567890"},
        ids=[r["id"] for r in api("venice")["answer"]["data"]],
        secret="venice-key-1234567890",
        path="/api/v1/models",
    ),
    Case(
        # Public: listed without a token, and none is sent when none is set.
        name="ovhcloud",
        route=lambda s: Route(body=api("ovhcloud")["answer"]),
        env=lambda s: {"OVHCLOUD_API_OPENAI": f"{s.origin}/ovhcloud/v1"},
        ids=[r["id"] for r in api("ovhcloud")["answer"]["data"]],
        secret=None,
        path="/v1/models",
        check=lambda seen: all("authorization" not in s.headers for s in seen),
    ),
    Case(
        name="cohere",
        route=lambda s: Route(
            key="co-test-key-1234567890",
            auth=("bearer", ""),
            paged=Paged(
                "cursor",
                COHERE,
                lambda recs, info: {"models": recs, **({"next_page_token": info["next"]} if info["next"] else {})},
                size=2,
                param="page_token",
                size_param="page_size",
            ),
        ),
        env=lambda s: {"COHERE_API_OPENAI": f"{s.origin}/cohere/v1", "CO_API_KEY": "co-test-key-1234567890"},
        ids=[r["name"] for r in COHERE],
        secret="co-test-key-1234567890",
        path="/v1/models",
        requests=3,
        check=lambda seen: (
            [s.query.get("page_token") for s in seen] == [None, ["c2"], ["c4"]]
            and all(s.query["page_size"] == ["1000"] for s in seen)
        ),
    ),
    Case(
        # OLLAMA_HOST as Ollama's own docs write it: host:port, no scheme; the list at /api/tags.
        name="ollama",
        route_name="api",
        route=lambda s: Route(body=answer("ollama"), path="/tags"),
        env=lambda s: {"OLLAMA_HOST": f"127.0.0.1:{s.port}"},
        ids=[r["name"] for r in answer("ollama")["models"]],
        secret=None,
        path="/tags",
        check=lambda seen: all("authorization" not in s.headers for s in seen),
    ),
    Case(
        name="vllm",
        route=lambda s: Route(body=api("vllm")["answer"], key="vllm-served-key-123456"),
        env=lambda s: {"VLLM_BASE_URL": f"{s.origin}/vllm/v1", "VLLM_API_KEY": "vllm-served-key-123456"},
        ids=[r["id"] for r in api("vllm")["answer"]["data"]],
        secret="vllm-served-key-123456",
        path="/v1/models",
    ),
    Case(
        # The endpoint variable holds the resource address; the key goes in an api-key header.
        name="azure",
        route=lambda s: Route(
            body=api("azure")["answer"],
            key="azure-key-0123456789abcdef",
            auth=("header", "api-key"),
            require={"api-version": "preview"},
        ),
        env=lambda s: {
            "AZURE_OPENAI_ENDPOINT": f"{s.origin}/azure",
            "AZURE_OPENAI_API_KEY": "azure-key-0123456789abcdef",
        },
        ids=[r["id"] for r in api("azure")["answer"]["data"]],
        secret="azure-key-0123456789abcdef",
        path="/openai/v1/models",
        check=lambda seen: all("authorization" not in s.headers for s in seen),
    ),
    Case(
        # The account id fills the URL; page numbers until result_info.total_count is reached.
        name="cloudflare-workers-ai",
        route=lambda s: Route(
            key="cf-token-1234567890abcdef",
            auth=("bearer", ""),
            paged=Paged(
                "page",
                CLOUDFLARE,
                lambda recs, info: {
                    "result": recs,
                    "result_info": {
                        "page": info["page"],
                        "per_page": info["per_page"],
                        "count": len(recs),
                        "total_count": info["total"],
                    },
                    "success": True,
                    "errors": [],
                    "messages": [],
                },
                size=2,
                param="page",
                size_param="per_page",
            ),
        ),
        providers_file=lambda s: (
            "cloudflare-workers-ai:\n  base_url: "
            f"{s.origin}/cloudflare-workers-ai/client/v4/accounts/${{CLOUDFLARE_ACCOUNT_ID}}/ai/v1\n"
        ),
        env=lambda s: {"CLOUDFLARE_ACCOUNT_ID": "0123abcd4567ef", "CLOUDFLARE_API_TOKEN": "cf-token-1234567890abcdef"},
        ids=[r["name"] for r in CLOUDFLARE],
        secret="cf-token-1234567890abcdef",
        path="/client/v4/accounts/0123abcd4567ef/ai/models/search",
        requests=3,
        check=lambda seen: [s.query["page"] for s in seen] == [["1"], ["2"], ["3"]],
    ),
    Case(
        name="cloudflare-ai-gateway",
        route=lambda s: Route(body=api("cloudflare-ai-gateway")["answer"], key="cf-token-1234567890abcdef"),
        providers_file=lambda s: (
            "cloudflare-ai-gateway:\n  base_url: "
            f"{s.origin}/cloudflare-ai-gateway/v1/${{CLOUDFLARE_ACCOUNT_ID}}/${{CLOUDFLARE_GATEWAY_ID:-default}}/compat\n"
        ),
        env=lambda s: {"CLOUDFLARE_ACCOUNT_ID": "0123abcd4567ef", "CLOUDFLARE_API_TOKEN": "cf-token-1234567890abcdef"},
        ids=[r["id"] for r in api("cloudflare-ai-gateway")["answer"]["data"]],
        secret="cf-token-1234567890abcdef",
        path="/v1/0123abcd4567ef/default/compat/models",
    ),
    Case(
        name="github-models",
        route=lambda s: Route(body=api("github-models")["answer"], key="ghp_test1234567890abcdef"),
        env=lambda s: {
            "GITHUB_MODELS_API_OPENAI": f"{s.origin}/github-models/inference",
            "GITHUB_TOKEN": "ghp_test1234567890abcdef",
        },
        ids=[r["id"] for r in api("github-models")["answer"]],
        secret="ghp_test1234567890abcdef",
        path="/catalog/models",
        check=lambda seen: all(
            s.headers["accept"] == "application/vnd.github+json" and s.headers["x-github-api-version"] == "2022-11-28"
            for s in seen
        ),
    ),
    Case(
        # Anthropic's paged list shape, but a Bearer key.
        name="minimax",
        route=lambda s: Route(
            body=MINIMAX, kind="anthropic", key="minimax-key-1234567890", auth=("bearer", ""), page_size=2
        ),
        env=lambda s: {
            "MINIMAX_API_OPENAI": f"{s.origin}/minimax/anthropic/v1",
            "MINIMAX_API_KEY": "minimax-key-1234567890",
        },
        ids=[r["id"] for r in MINIMAX],
        secret="minimax-key-1234567890",
        path="/anthropic/v1/models",
        requests=2,
        check=lambda seen: "x-api-key" not in seen[0].headers,
    ),
    Case(
        # AWS Signature Version 4, checked by the server with botocore.
        name="bedrock",
        route=lambda s: Route(
            body=api("bedrock")["answer"],
            sigv4=("AKIDEXAMPLE12345", "bedrock-secret-key-abcdef123456", "us-west-2", "bedrock"),
        ),
        env=lambda s: {
            "BEDROCK_API_OPENAI": f"{s.origin}/bedrock",
            "AWS_REGION": "us-west-2",
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE12345",
            "AWS_SECRET_ACCESS_KEY": "bedrock-secret-key-abcdef123456",
        },
        ids=[r["modelId"] for r in api("bedrock")["answer"]["modelSummaries"]],
        secret="bedrock-secret-key-abcdef123456",
        path="/foundation-models",
        check=lambda seen: seen[0].headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE12345/"),
    ),
    Case(
        # A token from `gcloud auth print-access-token` (a stand-in gcloud on PATH), pageToken paging.
        name="vertex",
        route=lambda s: Route(
            key=GCLOUD_TOKEN,
            auth=("bearer", ""),
            paged=Paged(
                "cursor",
                VERTEX,
                lambda recs, info: {
                    "publisherModels": recs,
                    **({"nextPageToken": info["next"]} if info["next"] else {}),
                },
                size=3,
                param="pageToken",
                size_param="pageSize",
            ),
        ),
        env=lambda s: {"VERTEX_API_OPENAI": f"{s.origin}/vertex/v1beta1", "GOOGLE_CLOUD_PROJECT": "my-project-42"},
        ids=[r["name"] for r in VERTEX],
        secret=GCLOUD_TOKEN,
        path="/v1beta1/publishers/google/models",
        requests=2,
        check=lambda seen: all(s.headers.get("x-goog-user-project") == "my-project-42" for s in seen),
    ),
]


def fake_gcloud(folder: Path, token: str = GCLOUD_TOKEN, fail: str | None = None) -> Path:
    """A `gcloud` on PATH that answers `gcloud auth print-access-token` as the real one does."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "gcloud"
    body = f'echo "{fail}" >&2; exit 1' if fail else f'echo "{token}"'
    script.write_text(f'#!/bin/sh\n[ "$1 $2" = "auth print-access-token" ] || exit 2\n{body}\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def stored_bytes(db_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_builtin_provider_end_to_end(case: Case, server, no_internet, tmp_path, monkeypatch):
    from vexy_catalog.providers import builtin_providers

    server.set(case.prefix, case.route(server))
    base_env = builtin_providers()[case.name].base_url_env
    env = {**case.env(server), **case.extra_env}
    if base_env and base_env not in env:
        monkeypatch.delenv(base_env)  # the built-in address template itself, filled from env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if case.name == "vertex":
        monkeypatch.setenv("PATH", f"{fake_gcloud(tmp_path / 'bin')}{os.pathsep}{os.environ['PATH']}")
    args = ["--db", str(tmp_path / "vexy.db")]
    if case.providers_file:
        (tmp_path / "providers.yaml").write_text(case.providers_file(server), encoding="utf-8")
        args += ["--providers-file", str(tmp_path / "providers.yaml")]
    result = CliRunner().invoke(cli, [*args, "fetch", case.name, "--json", "-v"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    (row,) = summary["fetches"]
    assert row["status"] == "ok", row["error"]
    # Every model listed, once, in the provider's order; the rule that found them is recorded.
    with sqlite3.connect(tmp_path / "vexy.db") as conn:
        stored = [
            r[0] for r in conn.execute("select model_id from models where provider = ? order by rowid", [case.name])
        ]
        shape = conn.execute("select shape from fetches where provider = ?", [case.name]).fetchone()[0]
    assert stored == case.ids
    assert row["model_count"] == len(case.ids) == len(set(case.ids))
    assert shape and "[]" in shape
    # Paging followed to the end, every request at the documented path and carrying its credential.
    seen = server.seen(case.prefix)
    assert len(seen) == case.requests
    assert all(s.path == f"/{case.prefix}{case.path}" for s in seen), [s.path for s in seen]
    if case.check:
        assert case.check(seen) is not False
    if case.secret:
        assert case.secret not in result.output
        assert case.secret.encode() not in stored_bytes(tmp_path / "vexy.db")


def test_paged_shape_says_how_many_pages(server, no_internet, tmp_path, monkeypatch):
    case = next(c for c in CASES if c.name == "cohere")
    server.set("cohere", case.route(server))
    for name, value in case.env(server).items():
        monkeypatch.setenv(name, value)
    CliRunner().invoke(cli, ["--db", str(tmp_path / "v.db"), "fetch", "cohere"], catch_exceptions=False)
    with sqlite3.connect(tmp_path / "v.db") as conn:
        shape, body = conn.execute(
            "select f.shape, p.body from fetches f join payloads p on p.hash = f.payload_hash "
            "where f.provider = 'cohere'"
        ).fetchone()
    assert shape == "models[].name (3 pages, cursor (next_page_token -> page_token))"
    # The stored answer is every page's records under the key the pages hold them at.
    assert json.loads(body) == {"models": COHERE}


def test_a_provider_missing_its_variables_is_skipped_with_each_named(server, tmp_path, monkeypatch):
    # The built-in addresses, untouched: the account id is part of the URL, the region too.
    server.set("cloudflare-workers-ai", Route(body={"result": []}))
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "cf-token-1234567890abcdef")
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "v.db"), "fetch", "cloudflare-workers-ai", "bedrock"])
    assert result.exit_code == 0
    assert "Skipped cloudflare-workers-ai: CLOUDFLARE_ACCOUNT_ID is not set" in result.stderr
    assert (
        "Skipped bedrock: AWS_REGION or AWS_DEFAULT_REGION; AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        "(or AWS_PROFILE) are not set" in result.stderr
    )
    assert server.requests == []


def test_ollama_not_running_is_skipped_not_failed(tmp_path, monkeypatch, no_internet):
    # no_internet points OLLAMA_HOST at a closed port: nothing is listening there.
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "v.db"), "fetch", "ollama"])
    assert result.exit_code == 0, result.output
    assert "Skipped ollama: nothing is listening at http://127.0.0.1:9" in result.stderr


def test_gcloud_not_logged_in_fails_with_its_reason(server, no_internet, tmp_path, monkeypatch):
    server.set("vertex", Route(body={"publisherModels": []}))
    monkeypatch.setenv("VERTEX_API_OPENAI", f"{server.origin}/vertex/v1beta1")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    bin_dir = fake_gcloud(
        tmp_path / "bin",
        fail="ERROR: (gcloud.auth.print-access-token) You do not currently have an active account selected.",
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "v.db"), "fetch", "vertex"])
    assert result.exit_code == 1
    assert (
        "Failed vertex: 'gcloud auth print-access-token' failed: ERROR: (gcloud.auth.print-access-token) You do not"
        in result.stderr
    )
    assert "gcloud auth login" in result.stderr
    assert server.seen("vertex") == []


def test_vertex_without_gcloud_or_credentials_file_says_what_to_install(tmp_path, monkeypatch, no_internet):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "v.db"), "fetch", "vertex"])
    assert result.exit_code == 0
    assert "Skipped vertex: vertex needs a Google access token: set GOOGLE_APPLICATION_CREDENTIALS" in result.stderr
    assert "pip install 'vexy[gcp]'" in result.stderr


def test_vertex_service_account_token_through_google_auth(server, no_internet, tmp_path, monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    token = "ya29.c-service-account-token-0987654321"
    server.set("oauth", Route(post_body={"access_token": token, "expires_in": 3600, "token_type": "Bearer"}))
    server.set("vertex", Route(body={"publisherModels": VERTEX[:2]}, key=token, auth=("bearer", "")))
    credentials = tmp_path / "sa.json"
    credentials.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "my-project-42",
                "private_key_id": "abc123",
                "private_key": pem.decode(),
                "client_email": "vexy@my-project-42.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "token_uri": f"{server.origin}/oauth/token",
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(credentials))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "my-project-42")
    monkeypatch.setenv("VERTEX_API_OPENAI", f"{server.origin}/vertex/v1beta1")
    result = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "v.db"), "fetch", "vertex", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fetches"][0]["model_count"] == 2
    (grant,) = server.seen("oauth")
    assert grant.query["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert token not in result.output and token.encode() not in stored_bytes(tmp_path / "v.db")


@pytest.mark.parametrize(
    "provider,block,extra",
    [
        ("bedrock", "botocore", "pip install 'vexy[aws]'"),
        ("vertex", "google", "pip install 'vexy[gcp]'"),
    ],
)
def test_a_missing_optional_extra_is_named_in_one_line(provider, block, extra, tmp_path):
    # A separate Python where the optional package cannot be imported, as on a plain install.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOOGLE_"))}
    env.update(
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE12345",
        AWS_SECRET_ACCESS_KEY="secret-1234567890abcdef",
        GOOGLE_CLOUD_PROJECT="p",
        GOOGLE_APPLICATION_CREDENTIALS=str(tmp_path / "sa.json"),
        BEDROCK_API_OPENAI="http://127.0.0.1:9/bedrock",
        VERTEX_API_OPENAI="http://127.0.0.1:9/vertex",
    )
    code = (
        f"import sys; sys.modules[{block!r}] = None; "
        "from vexy_catalog.cli import cli; "
        f"cli(['--db', {str(tmp_path / 'v.db')!r}, 'fetch', {provider!r}])"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith(f"Skipped {provider}")]
    assert line.endswith(extra)
    assert "Traceback" not in done.stderr
