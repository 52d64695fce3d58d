"""The provider registry: built-in providers, environment overrides and the user's providers file.

A provider is described by a :class:`ProviderConfig`. The built-in list is the earlier tool's
forty providers, with the same names, URLs and key variables; each one's base URL can still be
pointed elsewhere with its base-URL variable (``OPENAI_API_OPENAI=http://localhost:8080/v1``).

A user providers file (YAML, ``--providers-file`` or ``VEXY_PROVIDERS_FILE``) maps a provider
name to fields::

    groq:                       # a built-in name: only the fields given change
      base_url: http://127.0.0.1:8080/openai/v1
    ollama:                     # a new name adds a provider (kind defaults to openai)
      base_url: http://localhost:11434/v1
      api_key_env: null
    lmstudio:
      enabled: false            # drop a built-in provider

Key values are never part of a configuration: only the *name* of the variable that holds a key.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "ProviderConfig",
    "ProviderKind",
    "ProvidersFileError",
    "get_all_providers",
    "get_provider_by_name",
    "load_providers_file",
]


class ProviderKind(str, enum.Enum):
    """How a provider's model list is requested and authenticated."""

    OPENAI = "openai"  # GET {base_url}/models, Authorization: Bearer <key>
    ANTHROPIC = "anthropic"  # GET {base_url}/models, x-api-key, paginated by after_id
    URL = "url"  # GET {base_url} as is, no key

    def __str__(self) -> str:
        return self.value


class ProvidersFileError(ValueError):
    """A user providers file that cannot be used, with the file, provider and field named."""


_DEFAULT_MODELS_PATH = {
    ProviderKind.OPENAI: "/models",
    ProviderKind.ANTHROPIC: "/models",
    ProviderKind.URL: "",
}

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_ENV_REF_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class ProviderConfig:
    """One provider: where its model list lives and how to authenticate.

    ``headers`` values may reference environment variables as ``$VAR`` or ``${VAR}``; they are
    expanded at request time by :meth:`request_headers`, so a key held in a header is never
    stored in the configuration either.
    """

    name: str
    kind: ProviderKind = ProviderKind.OPENAI
    base_url: str = ""
    api_key_env: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    models_path: str | None = None
    # False for providers whose model list is public: fetched without a key when none is set.
    key_required: bool = True
    base_url_env: str | None = None
    enabled: bool = True
    source: str = "builtin"
    # Politeness towards the provider's host: concurrent requests and seconds between starts.
    max_concurrent: int | None = None
    min_interval: float | None = None
    # Plain http to a host that is not loopback is refused by validation unless allowed.
    allow_http: bool = False
    # Where facts sit in this provider's records, when vexy cannot find them itself:
    # {fact: {"path": [keys...], "unit": str | None}} (see _parse_facts_map).
    facts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def models_url(self) -> str:
        """The URL of the model list: ``base_url`` joined with ``models_path``."""
        path = self.models_path
        if path is None:
            path = _DEFAULT_MODELS_PATH[self.kind]
        if not path:
            return self.base_url
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    @property
    def env_var(self) -> str | None:
        """The earlier tool's name for :attr:`api_key_env`."""
        return self.api_key_env

    @property
    def models_endpoint(self) -> str:
        """The earlier tool's name for :attr:`models_url`."""
        return self.models_url

    @property
    def needs_key(self) -> bool:
        """True when a request must carry a key (a variable is named and the list is not public)."""
        return bool(self.api_key_env) and self.key_required and self.kind != ProviderKind.URL

    def api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key's value, read from the environment at the moment of asking."""
        if not self.api_key_env:
            return None
        env = os.environ if environ is None else environ
        return env.get(self.api_key_env) or None

    def has_key(self, environ: Mapping[str, str] | None = None) -> bool:
        return self.api_key(environ) is not None

    def request_headers(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Authentication and configured headers for a request, keys read from the environment now."""
        env = os.environ if environ is None else environ
        headers: dict[str, str] = {}
        key = self.api_key(env)
        if key and self.kind == ProviderKind.OPENAI:
            headers["Authorization"] = f"Bearer {key}"
        elif self.kind == ProviderKind.ANTHROPIC:
            if key:
                headers["x-api-key"] = key
            headers["anthropic-version"] = "2023-06-01"
        for name, value in self.headers.items():
            headers[name] = _ENV_REF_RE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), value)
        return headers

    def header_env_vars(self) -> list[str]:
        """Names of the variables that configured headers read (their values are secrets too)."""
        names = []
        for value in self.headers.values():
            names.extend(m.group(1) or m.group(2) for m in _ENV_REF_RE.finditer(value))
        return names


# name, kind, base URL, key variable, base-URL variable
_BUILTIN_TABLE: list[tuple[str, str, str, str | None, str]] = [
    ("aihorde", "openai", "https://oai.aihorde.net/v1", "AIHORDE_KEY", "AIHORDE_API_OPENAI"),
    ("anthropic", "anthropic", "https://api.anthropic.com/v1", "ANTHROPIC_API_KEY", "ANTHROPIC_API_OPENAI"),
    ("atlascloud", "openai", "https://api.atlascloud.ai/v1", "ATLASCLOUD_API_KEY", "ATLASCLOUD_API_OPENAI"),
    ("avian", "openai", "https://api.avian.io/v1", "AVIAN_API_KEY", "AVIAN_API_OPENAI"),
    ("baseten", "openai", "https://inference.baseten.co/v1", "BASETEN_API_KEY", "BASETEN_API_OPENAI"),
    ("cerebras", "openai", "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY", "CEREBRAS_API_OPENAI"),
    ("chutes", "openai", "https://llm.chutes.ai/v1", "CHUTES_API_KEY", "CHUTES_API_OPENAI"),
    ("deepinfra", "openai", "https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY", "DEEPINFRA_API_OPENAI"),
    ("deepseek", "openai", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", "DEEPSEEK_API_OPENAI"),
    ("enfer", "openai", "https://api.enfer.ai/v1", "ENFER_API_KEY", "ENFER_API_OPENAI"),
    ("featherless", "openai", "https://api.featherless.ai/v1", "FEATHERLESS_API_KEY", "FEATHERLESS_API_OPENAI"),
    ("fireworks", "openai", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY", "FIREWORKS_API_OPENAI"),
    ("friendli", "openai", "https://api.friendli.ai/serverless/v1", "FRIENDLI_TOKEN", "FRIENDLI_API_OPENAI"),
    (
        "gemini",
        "openai",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "GOOGLE_API_KEY",
        "GEMINI_API_OPENAI",
    ),
    ("groq", "openai", "https://api.groq.com/openai/v1", "GROQ_API_KEY", "GROQ_API_OPENAI"),
    ("huggingface", "openai", "https://router.huggingface.co/v1", "HUGGINGFACEHUB_API_TOKEN", "HUGGINGFACE_API_OPENAI"),
    ("hyperbolic", "openai", "https://api.hyperbolic.xyz/v1", "HYPERBOLIC_API_KEY", "HYPERBOLIC_API_OPENAI"),
    ("inference", "openai", "https://api.inference.net/v1", "INFERENCENET_API_KEY", "INFERENCENET_API_OPENAI"),
    ("infermatic", "openai", "https://api.totalgpt.ai/v1", "INFERMATIC_API_KEY", "INFERMATIC_API_OPENAI"),
    (
        "litellm",
        "url",
        "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json",
        None,
        "LITELLM_API_OPENAI",
    ),
    ("llm7", "openai", "https://api.llm7.io/v1", "LLM7_API_KEY", "LLM7_API_OPENAI"),
    ("lmstudio", "openai", "http://othello.local:1234/v1", "LMSTUDIO_API_KEY", "LMSTUDIO_API_OPENAI"),
    ("mancer", "openai", "https://neuro.mancer.tech/oai/v1", "MANCER_API_KEY", "MANCER_API_OPENAI"),
    ("mistral", "openai", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", "MISTRAL_API_OPENAI"),
    ("modelsdev", "url", "https://models.dev/api.json", None, "MODELSDEV_API_OPENAI"),
    ("moonshot", "openai", "https://api.moonshot.ai/v1", "MOONSHOT_API_KEY", "MOONSHOT_API_OPENAI"),
    ("morphllm", "openai", "https://api.morphllm.com/v1", "MORPHLLM_API_KEY", "MORPHLLM_API_OPENAI"),
    ("nebius", "openai", "https://api.studio.nebius.com/v1", "NEBIUS_API_KEY", "NEBIUS_API_OPENAI"),
    ("nineteenai", "openai", "https://api.nineteen.ai/v1", "NINETEENAI_API_KEY", "NINETEENAI_API_OPENAI"),
    ("novita", "openai", "https://api.novita.ai/v3/openai", "NOVITA_API_KEY", "NOVITA_API_OPENAI"),
    ("openai", "openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_API_OPENAI"),
    ("openrouter", "openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "OPENROUTER_API_OPENAI"),
    ("parasail", "openai", "https://api.parasail.io/v1", "PARASAIL_API_KEY", "PARASAIL_API_OPENAI"),
    ("poe", "openai", "https://api.poe.com/v1", "POE_API_KEY", "POE_API_OPENAI"),
    (
        "pollinations",
        "openai",
        "https://text.pollinations.ai/openai",
        "POLLINATIONS_API_KEY",
        "POLLINATIONS_API_OPENAI",
    ),
    ("redpill", "openai", "https://api.redpill.ai/v1", "REDPILL_API_KEY", "REDPILL_API_OPENAI"),
    ("sambanova", "openai", "https://api.sambanova.ai/v1", "SAMBANOVA_API_KEY", "SAMBANOVA_API_OPENAI"),
    ("targon", "openai", "https://api.targon.com/v1", "TARGON_API_KEY", "TARGON_API_OPENAI"),
    ("togetherai", "openai", "https://api.together.xyz/v1", "TOGETHERAI_API_KEY", "TOGETHERAI_API_OPENAI"),
    ("xai", "openai", "https://api.x.ai/v1", "XAI_API_KEY", "XAI_API_OPENAI"),
    ("zai", "openai", "https://api.z.ai/api/paas/v4", "ZAI_API_KEY", "ZAI_API_OPENAI"),
]

# Lists anyone may read: a user with no keys at all still gets thousands of models from these.
_PUBLIC_LISTS = frozenset({"litellm", "modelsdev", "openrouter", "pollinations", "llm7"})


def _builtin_providers() -> dict[str, ProviderConfig]:
    return {
        name: ProviderConfig(
            name=name,
            kind=ProviderKind(kind),
            base_url=base_url,
            api_key_env=key_env,
            key_required=name not in _PUBLIC_LISTS,
            base_url_env=base_env,
        )
        for name, kind, base_url, key_env, base_env in _BUILTIN_TABLE
    }


# Fields a providers file may set, and what each must be.
_FILE_FIELDS: dict[str, str] = {
    "kind": "one of openai, anthropic, url",
    "base_url": "an http:// or https:// URL",
    "api_key_env": "an environment variable name, or null for no key",
    "headers": "a mapping of header name to value ($VAR expands from the environment)",
    "models_path": "a path such as /models, or a full URL",
    "key_required": "true or false",
    "base_url_env": "an environment variable name, or null",
    "enabled": "true or false",
    "max_concurrent": "a whole number of concurrent requests to the host, at least 1",
    "min_interval": "seconds between request starts to the host, a number from 0 to 3600",
    "allow_http": "true or false",
    "facts": "a mapping of fact to a path in the record (limits.context) or to {path: ..., unit: ...}",
}


def _field_error(path: Path, provider: str, fld: str, value: Any) -> ProvidersFileError:
    return ProvidersFileError(
        f"{path}: provider '{provider}', field '{fld}': expected {_FILE_FIELDS[fld]}, got {value!r}"
    )


def _check_url(path: Path, provider: str, fld: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _field_error(path, provider, fld, value)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _field_error(path, provider, fld, value)
    return value


def _parse_facts_map(path: Path, provider: str, value: Any) -> dict[str, dict[str, Any]]:
    """``facts:`` of a provider entry: fact -> ``"a.b.c"`` or ``{path: "a.b.c", unit: ...}``.

    Paths are dotted keys (a number indexes a list); ``unit`` is for prices, such as
    usd_per_token, usd_per_1k_tokens, usd_per_1m_tokens, usd_cents_per_token, cny_per_1m_tokens.
    """
    from .facts.records import FACT_PARSERS, unit_of_map
    from .facts.schema import PRICE_FIELDS

    settable = (*FACT_PARSERS, *PRICE_FIELDS)
    where = f"{path}: provider '{provider}', field 'facts'"
    if not isinstance(value, dict):
        raise ProvidersFileError(f"{where}: expected a mapping of fact to path, got {value!r}")
    parsed: dict[str, dict[str, Any]] = {}
    for fact, spec in value.items():
        if fact not in settable:
            raise ProvidersFileError(f"{where}: unknown fact {fact!r} (facts: {', '.join(sorted(settable))})")
        spec = {"path": spec} if isinstance(spec, str) else spec
        if not isinstance(spec, dict) or set(spec) - {"path", "unit"}:
            raise ProvidersFileError(f"{where}: {fact}: expected a path or {{path: ..., unit: ...}}, got {spec!r}")
        dotted, unit = spec.get("path"), spec.get("unit")
        keys = dotted.split(".") if isinstance(dotted, str) else []
        if not keys or not all(k.strip() for k in keys):
            raise ProvidersFileError(f"{where}: {fact}: path {dotted!r} is not a dotted path such as limits.context")
        if unit is not None:
            understood = unit_of_map(str(unit)) if isinstance(unit, str) else None
            if fact not in PRICE_FIELDS or understood is None or not understood.decided:
                raise ProvidersFileError(
                    f"{where}: {fact}: unit {unit!r} is not understood (prices only: usd_per_token, "
                    "usd_per_1k_tokens, usd_per_1m_tokens, usd_cents_per_token, cny_per_1m_tokens ...)"
                )
        parsed[fact] = {"path": [k.strip() for k in keys], "unit": unit}
    return parsed


def _parse_entry(path: Path, name: str, entry: Any, base: ProviderConfig | None) -> ProviderConfig:
    if entry is None:
        entry = {}
    if not isinstance(entry, dict):
        raise ProvidersFileError(
            f"{path}: provider '{name}': expected a mapping of fields "
            f"({', '.join(_FILE_FIELDS)}), got {type(entry).__name__}"
        )
    changes: dict[str, Any] = {}
    for fld, value in entry.items():
        if fld not in _FILE_FIELDS:
            raise ProvidersFileError(
                f"{path}: provider '{name}': unknown field '{fld}' (known fields: {', '.join(_FILE_FIELDS)})"
            )
        if fld == "kind":
            try:
                changes["kind"] = ProviderKind(value)
            except ValueError:
                raise _field_error(path, name, fld, value) from None
        elif fld == "base_url":
            changes["base_url"] = _check_url(path, name, fld, value)
        elif fld in ("api_key_env", "base_url_env"):
            if value is not None and not (isinstance(value, str) and _ENV_NAME_RE.match(value)):
                raise _field_error(path, name, fld, value)
            changes[fld] = value
        elif fld == "headers":
            if value is None:
                value = {}
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and _HEADER_NAME_RE.match(k) and isinstance(v, str) and "\n" not in v
                for k, v in value.items()
            ):
                raise _field_error(path, name, fld, value)
            changes["headers"] = dict(value)
        elif fld == "models_path":
            if value is not None and not isinstance(value, str):
                raise _field_error(path, name, fld, value)
            if isinstance(value, str) and value.startswith(("http://", "https://")):
                _check_url(path, name, fld, value)
            changes["models_path"] = value
        elif fld in ("key_required", "enabled", "allow_http"):
            if not isinstance(value, bool):
                raise _field_error(path, name, fld, value)
            changes[fld] = value
        elif fld == "max_concurrent":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
                raise _field_error(path, name, fld, value)
            changes[fld] = value
        elif fld == "min_interval":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
                raise _field_error(path, name, fld, value)
            changes[fld] = float(value)
        elif fld == "facts":
            changes["facts"] = _parse_facts_map(path, name, value)
    if base is not None:
        return replace(base, source="user", **changes)
    if "base_url" not in changes:
        raise ProvidersFileError(
            f"{path}: provider '{name}': field 'base_url' is required for a provider that is "
            f"not built in (built-in names: see 'vexy providers')"
        )
    return ProviderConfig(name=name, source="user", **changes)


def load_providers_file(
    path: str | os.PathLike[str], base: Mapping[str, ProviderConfig] | None = None
) -> dict[str, ProviderConfig]:
    """Read a user providers file and apply it on top of ``base`` (the built-ins by default).

    Raises :class:`ProvidersFileError` naming the file, the provider and the field at fault.
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProvidersFileError(f"{path}: providers file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ProvidersFileError(f"{path}: cannot read providers file: {e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ProvidersFileError(f"{path}: not valid YAML{where}: {problem}") from None
    providers = dict(_builtin_providers() if base is None else base)
    if data is None:
        return providers
    if not isinstance(data, dict):
        raise ProvidersFileError(f"{path}: expected a mapping of provider name to fields, got {type(data).__name__}")
    for name, entry in data.items():
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ProvidersFileError(
                f"{path}: provider name {name!r} is not valid: use lowercase letters, digits, '-', '_' or '.'"
            )
        providers[name] = _parse_entry(path, name, entry, providers.get(name))
    return providers


def _apply_env_base_urls(providers: dict[str, ProviderConfig], environ: Mapping[str, str]) -> dict[str, ProviderConfig]:
    for name, provider in providers.items():
        if provider.base_url_env and environ.get(provider.base_url_env):
            providers[name] = replace(provider, base_url=environ[provider.base_url_env])
    return providers


def _providers_file_from_env(providers_file: str | os.PathLike[str] | None) -> str | os.PathLike[str] | None:
    if providers_file is not None:
        return providers_file
    return os.environ.get("VEXY_PROVIDERS_FILE") or None


def load_providers(
    providers_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    include_disabled: bool = False,
) -> dict[str, ProviderConfig]:
    """All providers by name: built-ins, base-URL variables, then the user's file (if any)."""
    env = os.environ if environ is None else environ
    providers = _apply_env_base_urls(_builtin_providers(), env)
    providers_file = _providers_file_from_env(providers_file)
    if providers_file:
        # The file is applied last: a base_url written in it wins over a base-URL variable.
        providers = load_providers_file(providers_file, base=providers)
    if not include_disabled:
        providers = {name: p for name, p in providers.items() if p.enabled}
    return dict(sorted(providers.items()))


def get_all_providers(providers_file: str | os.PathLike[str] | None = None) -> list[ProviderConfig]:
    """Every enabled provider, sorted by name."""
    return list(load_providers(providers_file).values())


def get_provider_by_name(name: str, providers_file: str | os.PathLike[str] | None = None) -> ProviderConfig | None:
    """The provider called ``name``, or None."""
    return load_providers(providers_file).get(name)
