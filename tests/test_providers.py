from __future__ import annotations

from pathlib import Path

import pytest

from vexy_catalog import ProviderConfig, ProviderKind, get_all_providers, get_provider_by_name
from vexy_catalog.providers import ProvidersFileError, load_providers, load_providers_file

SEED_NAMES = """aihorde anthropic atlascloud avian baseten cerebras chutes deepinfra deepseek enfer
featherless fireworks friendli gemini groq huggingface hyperbolic inference infermatic litellm llm7
lmstudio mancer mistral moonshot morphllm nebius nineteenai novita openai openrouter parasail poe
pollinations redpill sambanova targon togetherai xai zai""".split()


ADDED_NAMES = """azure bedrock cloudflare-ai-gateway cloudflare-workers-ai cohere dashscope github-models minimax
modelsdev nvidia ollama ovhcloud perplexity siliconflow venice vercel vertex vllm""".split()


def test_the_forty_builtin_providers_of_the_seed_and_the_ones_added_since():
    providers = get_all_providers()
    assert [p.name for p in providers] == sorted(SEED_NAMES + ADDED_NAMES)
    assert len(SEED_NAMES) == 40
    assert all(p.source == "builtin" for p in providers)
    # Each added provider cites the page that documents its list endpoint.
    assert all((get_provider_by_name(n).docs or "").startswith("https://") for n in ADDED_NAMES)


@pytest.mark.parametrize(
    "name,kind,base_url,key_env,models_url",
    [
        ("openai", "openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "https://api.openai.com/v1/models"),
        (
            "anthropic",
            "anthropic",
            "https://api.anthropic.com/v1",
            "ANTHROPIC_API_KEY",
            "https://api.anthropic.com/v1/models",
        ),
        (
            "deepinfra",
            "openai",
            "https://api.deepinfra.com/v1/openai",
            "DEEPINFRA_API_KEY",
            "https://api.deepinfra.com/v1/openai/models",
        ),
        (
            "friendli",
            "openai",
            "https://api.friendli.ai/serverless/v1",
            "FRIENDLI_TOKEN",
            "https://api.friendli.ai/serverless/v1/models",
        ),
        (
            "huggingface",
            "openai",
            "https://router.huggingface.co/v1",
            "HUGGINGFACEHUB_API_TOKEN",
            "https://router.huggingface.co/v1/models",
        ),
        (
            "inference",
            "openai",
            "https://api.inference.net/v1",
            "INFERENCENET_API_KEY",
            "https://api.inference.net/v1/models",
        ),
        ("zai", "openai", "https://api.z.ai/api/paas/v4", "ZAI_API_KEY", "https://api.z.ai/api/paas/v4/models"),
        (
            "litellm",
            "url",
            "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json",
            None,
            "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json",
        ),
    ],
)
def test_builtin_urls_and_key_variables(name, kind, base_url, key_env, models_url):
    p = get_provider_by_name(name)
    assert p is not None
    assert (p.kind.value, p.base_url, p.api_key_env, p.models_url) == (kind, base_url, key_env, models_url)


def test_public_lists_need_no_key_and_the_rest_do():
    providers = {p.name: p for p in get_all_providers()}
    public = {n for n, p in providers.items() if not p.missing_variables({})}
    assert public == {"litellm", "modelsdev", "openrouter", "pollinations", "llm7", "ovhcloud", "ollama"}
    assert providers["groq"].needs_key and not providers["groq"].has_key()
    # Local servers and cloud accounts need their address or account, not (only) a key.
    assert providers["vllm"].missing_variables({}) == ["VLLM_BASE_URL"]
    assert providers["azure"].missing_variables({}) == ["AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"]
    assert providers["vertex"].missing_variables({}) == ["GOOGLE_CLOUD_PROJECT"]


def test_base_url_variables_still_override(monkeypatch):
    monkeypatch.setenv("OPENAI_API_OPENAI", "http://localhost:8080/v1")
    monkeypatch.setenv("INFERENCENET_API_OPENAI", "http://127.0.0.1:9/v1")
    assert get_provider_by_name("openai").models_url == "http://localhost:8080/v1/models"
    assert get_provider_by_name("inference").base_url == "http://127.0.0.1:9/v1"


def test_atlascloud_key_is_not_a_base_url(monkeypatch):
    # The earlier tool read ATLASCLOUD_API_KEY as atlascloud's base URL too.
    monkeypatch.setenv("ATLASCLOUD_API_KEY", "atlas-secret-123456")
    p = get_provider_by_name("atlascloud")
    assert p.base_url == "https://api.atlascloud.ai/v1"
    assert p.base_url_env == "ATLASCLOUD_API_OPENAI"


def test_unknown_name_is_none():
    assert get_provider_by_name("nope") is None


def test_request_headers_by_kind(monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "gsk_abc")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-xyz")
    assert get_provider_by_name("groq").request_headers() == {"Authorization": "Bearer gsk_abc"}
    assert get_provider_by_name("anthropic").request_headers() == {
        "x-api-key": "sk-ant-xyz",
        "anthropic-version": "2023-06-01",
    }
    assert get_provider_by_name("litellm").request_headers() == {}


def test_header_values_expand_variables_at_request_time(monkeypatch):
    p = ProviderConfig(name="x", base_url="http://127.0.0.1/v1", headers={"X-Team": "${TEAM_SECRET}", "X-Plain": "a"})
    monkeypatch.setenv("TEAM_SECRET", "first")
    assert p.request_headers()["X-Team"] == "first"
    monkeypatch.setenv("TEAM_SECRET", "second")
    assert p.request_headers() == {"X-Team": "second", "X-Plain": "a"}
    assert p.header_env_vars() == ["TEAM_SECRET"]


def test_models_path_joins_and_full_urls_win():
    p = ProviderConfig(name="x", base_url="http://h/v1/", models_path="models/list")
    assert p.models_url == "http://h/v1/models/list"
    assert ProviderConfig(name="x", base_url="http://h/v1", models_path="http://other/m").models_url == "http://other/m"
    assert ProviderConfig(name="x", kind=ProviderKind.URL, base_url="http://h/p.json").models_url == "http://h/p.json"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "providers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_user_file_overrides_only_given_fields_and_adds_providers(tmp_path):
    path = write(
        tmp_path,
        """
groq:
  base_url: http://127.0.0.1:9999/openai/v1
ollama:
  base_url: http://localhost:11434/v1
  api_key_env: null
lmstudio:
  enabled: false
""",
    )
    providers = load_providers(path)
    groq = providers["groq"]
    assert groq.base_url == "http://127.0.0.1:9999/openai/v1"
    assert (groq.kind, groq.api_key_env, groq.source) == (ProviderKind.OPENAI, "GROQ_API_KEY", "user")
    ollama = providers["ollama"]
    assert (ollama.kind, ollama.api_key_env, ollama.needs_key, ollama.source) == (
        ProviderKind.OPENAI,
        None,
        False,
        "user",
    )
    # Written before ollama was built in, this entry still lists Ollama's models at /api/tags.
    assert ollama.models_url == "http://localhost:11434/api/tags"
    assert "lmstudio" not in providers
    assert len(providers) == 40 + len(ADDED_NAMES) - 1  # the built-ins - lmstudio (ollama is one of them)
    assert "lmstudio" in load_providers(path, include_disabled=True)


def test_user_file_from_environment(tmp_path, monkeypatch):
    path = write(tmp_path, "mine:\n  base_url: http://127.0.0.1:1/v1\n  kind: anthropic\n")
    monkeypatch.setenv("VEXY_PROVIDERS_FILE", str(path))
    assert get_provider_by_name("mine").kind == ProviderKind.ANTHROPIC


def test_user_file_base_url_beats_base_url_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("GROQ_API_OPENAI", "http://127.0.0.1:1/env")
    path = write(tmp_path, "groq:\n  base_url: http://127.0.0.1:2/file\n")
    assert load_providers(path)["groq"].base_url == "http://127.0.0.1:2/file"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("groq:\n  base_ulr: http://x\n", "provider 'groq': unknown field 'base_ulr'"),
        (
            "groq:\n  kind: grpc\n",
            "provider 'groq', field 'kind': expected one of openai, anthropic, url, native, got 'grpc'",
        ),
        ("groq:\n  base_url: ftp://x\n", "provider 'groq', field 'base_url': expected an http:// or https:// URL"),
        ("groq:\n  base_url: 42\n", "provider 'groq', field 'base_url'"),
        ("groq:\n  api_key_env: 'not a name'\n", "provider 'groq', field 'api_key_env'"),
        ("groq:\n  headers: [a, b]\n", "provider 'groq', field 'headers'"),
        ("groq:\n  headers: {X-A: 1}\n", "provider 'groq', field 'headers'"),
        ("groq:\n  enabled: 'no'\n", "provider 'groq', field 'enabled': expected true or false"),
        ("newone:\n  kind: openai\n", "provider 'newone': field 'base_url' is required"),
        ("groq: [1, 2]\n", "provider 'groq': expected a mapping of fields"),
        ("- groq\n", "expected a mapping of provider name to fields, got list"),
        ("groq:\n  base_url: [unclosed\n", "not valid YAML at line"),
        ("'Bad Name':\n  base_url: http://x\n", "provider name 'Bad Name' is not valid"),
    ],
)
def test_broken_user_file_names_file_provider_and_field(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ProvidersFileError) as info:
        load_providers_file(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert expected in message


def test_missing_user_file(tmp_path):
    with pytest.raises(ProvidersFileError, match="providers file not found"):
        load_providers(tmp_path / "nope.yaml")


def test_empty_user_file_changes_nothing(tmp_path):
    assert load_providers(write(tmp_path, "")) == load_providers()


ROOT = Path(__file__).parent.parent


def test_the_readme_example_providers_file_is_valid_and_every_field_is_documented(tmp_path):
    from vexy_catalog.providers import _FIELDS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Your own providers file") :]
    example = section[section.index("```yaml\n") + len("```yaml\n") : section.index("```\n", section.index("```yaml"))]
    providers = load_providers(write(tmp_path, example), include_disabled=True)
    assert providers["my-azure"].list_auth.describe() == "header api-key"
    assert providers["my-azure"].params == {"api-version": "preview"}
    assert providers["my-ollama"].models_url == "http://gpu-box.lan:11434/api/tags"
    assert providers["my-workers-ai"].list_paging.total_field == "result_info.total_count"
    assert providers["corp-gateway"].models_url == "https://llm.example.com/api/v2/catalog?format=full"
    assert not providers["vendor-docs-only"].listable
    table = section[section.index("| field | meaning |") :]
    for name in _FIELDS:
        assert f"`{name}`" in table, name


@pytest.mark.parametrize(
    "text,expected",
    [
        ("x:\n  base_url: http://h\n  auth: basic\n", "provider 'x', field 'auth': expected bearer, none, google"),
        ("x:\n  base_url: http://h\n  auth: {header: 'bad name'}\n", "field 'auth'"),
        (
            "x:\n  base_url: http://h\n  auth: {query: key, value: '${K'}\n",
            "field 'auth': expected a value whose placeholders",
        ),
        ("x:\n  base_url: http://h\n  auth: {aws_sigv4: {service: bedrock}}\n", "field 'auth'"),
        ("x:\n  base_url: http://h\n  paging: pages\n", "field 'paging': expected none, anthropic, link-header"),
        ("x:\n  base_url: http://h\n  paging: {cursor: {param: p}}\n", "field 'paging'"),
        ("x:\n  base_url: http://h\n  paging: {page: {param: p, size: 10}}\n", "field 'paging'"),
        ("x:\n  base_url: http://h\n  paging: {page: {param: p, start: 5}}\n", "field 'paging'"),
        ("x:\n  base_url: http://h\n  params: {v: [1]}\n", "field 'params'"),
        ("x:\n  base_url: http://h\n  list_path: 'a..b'\n", "field 'list_path': expected a dotted path"),
        ("x:\n  base_url: http://h\n  id_field: ''\n", "field 'id_field'"),
        ("x:\n  base_url: 'https://${ACCOUNT/v1'\n", "field 'base_url'"),
        ("x:\n  base_url: 'ftp://${HOST}/v1'\n", "field 'base_url': expected an http:// or https:// URL"),
        ("x:\n  models_url: /relative\n  base_url: http://h\n", "field 'models_url'"),
        (
            "x:\n  base_url: http://h\n  models_path: /m\n  models_url: http://h/m\n",
            "give models_path or models_url, not both",
        ),
        ("x:\n  base_url: http://h\n  local: 1\n", "field 'local': expected true or false"),
        ("x:\n  base_url: http://h\n  list: 'no'\n", "field 'list': expected true or false"),
        ("x:\n  base_url: http://h\n  note: [a]\n", "field 'note'"),
    ],
)
def test_every_new_field_is_checked_with_file_provider_and_field_named(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ProvidersFileError) as info:
        load_providers_file(path)
    assert str(info.value).startswith(f"{path}: provider 'x'")
    assert expected in str(info.value)


def test_placeholders_fill_urls_headers_params_and_credentials_at_request_time(tmp_path):
    path = write(
        tmp_path,
        """
acme:
  base_url: https://${ACME_HOST:-api.acme.example}/${ACME_ACCOUNT}/v1
  api_key_env: ACME_KEY
  auth: {header: Authorization, value: 'Token ${ACME_KEY}'}
  headers: {X-Org: '${ACME_ORG}'}
  params: {region: '${ACME_REGION:-eu}'}
""",
    )
    acme = load_providers(path)["acme"]
    env = {"ACME_ACCOUNT": "a1", "ACME_KEY": "k-123456", "ACME_ORG": "o"}
    resolved = acme.resolve(env)
    assert resolved.url == "https://api.acme.example/a1/v1/models"
    assert resolved.headers == {"X-Org": "o"} and resolved.params == {"region": "eu"}
    assert acme.request_headers(env)["Authorization"] == "Token k-123456"
    assert acme.missing_variables({"ACME_KEY": "k"}) == ["ACME_ACCOUNT"]
    assert acme.resolve({**env, "ACME_ORG": ""}).headers == {}  # an unset header is left out
    # Values sent in headers and query strings are masked like keys.
    assert set(acme.secret_env_vars()) == {"ACME_KEY", "ACME_ORG", "ACME_REGION"}
