"""The provider registry: built-in providers, environment overrides and the user's providers file.

A provider is described by a :class:`ProviderConfig`: where its model list lives, how a request
for it is authenticated, how it is paged and where the records are in the answer. Every list API
is described with the same fields; a ``kind`` is only a preset of them:

========== =========================== ====================================== ==========
kind       models path                 authentication                         paging
========== =========================== ====================================== ==========
openai     ``/models``                 ``Authorization: Bearer <key>``        none
anthropic  ``/models``                 ``x-api-key: <key>`` + anthropic-version anthropic
url        the base URL itself         none                                   none
native     ``/models``                 ``Authorization: Bearer <key>``        none
========== =========================== ====================================== ==========

``openai`` and ``anthropic`` also tell exporters that the base URL speaks that chat API; ``url``
is a list to read, not an API; ``native`` is a provider's own API (Cohere, Ollama, Bedrock,
Vertex) that exporters leave out. Any field given explicitly wins over the preset.

Values are templates: ``${VAR}`` (or ``${VAR:-default}``) is filled from the environment at request
time, in base URLs (``https://api.cloudflare.com/client/v4/accounts/${CLOUDFLARE_ACCOUNT_ID}/ai``),
headers, query parameters and credentials. Key values are never part of a configuration: only the
*names* of the variables that hold them.

A user providers file (YAML, ``--providers-file`` or ``VEXY_PROVIDERS_FILE``) maps a provider
name to fields; see the README ("Your own providers file") for every field with an example.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .builtins import _BUILTIN_TABLE, _MORE_BUILTINS, _PUBLIC_LISTS

__all__ = [
    "Auth",
    "Paging",
    "ProviderConfig",
    "ProviderKind",
    "ProvidersFileError",
    "expand",
    "get_all_providers",
    "get_provider_by_name",
    "load_providers_file",
]


class ProviderKind(str, enum.Enum):
    """A preset of the list fields, and the API family of the base URL (see the module docstring)."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    URL = "url"
    NATIVE = "native"

    def __str__(self) -> str:
        return self.value


class ProvidersFileError(ValueError):
    """A user providers file that cannot be used, with the file, provider and field named."""


# ``${VAR}``, ``${VAR:-default}`` (the default may hold one more placeholder) and, in headers as
# before, a bare ``$VAR``.
_PLACEHOLDER_RE = re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-((?:[^{}$]|\$\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_PATH_RE = re.compile(r"^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$")
# A list_path may also pass through every entry of an object: "*.models" (see records.py).
_LIST_PATH_RE = re.compile(r"^(?:[A-Za-z0-9_$-]+|\*)(?:\.(?:[A-Za-z0-9_$-]+|\*))*$")


def expand(template: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """Fill a template's placeholders from ``environ``; also return what was missing.

    A missing variable with a default takes the default; one without is reported (a chain of
    defaults as ``AWS_REGION or AWS_DEFAULT_REGION``) and replaced by an empty string.

    >>> expand("https://${HOST:-localhost}:${PORT}/v1", {"PORT": "8080"})
    ('https://localhost:8080/v1', [])
    """
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        value = environ.get(name)
        if value:
            return value
        default = match.group(2)
        if default is None:
            missing.append(name)
            return ""
        text, inner = expand(default, environ)
        missing.extend(f"{name} or {n}" for n in inner)
        return text

    return _PLACEHOLDER_RE.sub(fill, template), missing


def template_variables(template: str | None) -> list[str]:
    """Every variable a template reads, defaults' variables included, in order."""
    names: list[str] = []
    for match in _PLACEHOLDER_RE.finditer(template or ""):
        names.append(match.group(1) or match.group(3))
        names.extend(template_variables(match.group(2)))
    return list(dict.fromkeys(names))


def _required_variables(template: str | None) -> list[str]:
    """The variables a template cannot do without (those with no default)."""
    _, missing = expand(template or "", {})
    return missing


@dataclass(frozen=True)
class Auth:
    """How a list request is authenticated.

    ``style`` is ``bearer`` (``Authorization: Bearer <value>``), ``header`` (``<name>: <value>``),
    ``query`` (``?<name>=<value>``), ``none``, ``aws-sigv4`` (AWS Signature Version 4 through
    botocore, ``service`` and ``region``) or ``google`` (an OAuth token from google-auth or the
    gcloud CLI). ``value`` is a template; None means the key in ``api_key_env``.
    """

    style: str
    name: str | None = None
    value: str | None = None
    service: str | None = None
    region: str | None = None

    @property
    def sends_key(self) -> bool:
        """True for the styles that send the value of a variable (the key)."""
        return self.style in ("bearer", "header", "query")

    def describe(self) -> str:
        if self.style in ("header", "query"):
            return f"{self.style} {self.name}"
        if self.style == "aws-sigv4":
            return f"aws-sigv4 ({self.service})"
        return self.style


@dataclass(frozen=True)
class Paging:
    """How a list is paged.

    ``none``; ``anthropic`` (``limit`` / ``after_id`` until ``has_more`` is false); ``cursor``
    (send ``param`` = the answer's ``field`` until it is empty; with no ``param`` the field holds
    the next page's URL); ``page`` (``param`` = 1, 2, ... with ``size_param`` = ``size``, until
    ``total_field`` records are in or a page is empty); ``link-header`` (follow ``Link: <...>;
    rel="next"``).
    """

    style: str = "none"
    param: str | None = None
    field: str | None = None
    size_param: str | None = None
    size: int | None = None
    total_field: str | None = None
    start: int = 1

    def describe(self) -> str:
        if self.style == "cursor":
            return f"cursor ({self.field} -> {self.param or 'next URL'})"
        if self.style == "page":
            return f"page ({self.param}" + (f", {self.size_param}={self.size}" if self.size_param else "") + ")"
        return self.style


@dataclass(frozen=True)
class _Preset:
    models_path: str
    auth: Auth
    paging: Paging
    headers: Mapping[str, str] = field(default_factory=dict)


_BEARER = Auth("bearer")
PRESETS: dict[ProviderKind, _Preset] = {
    ProviderKind.OPENAI: _Preset("/models", _BEARER, Paging()),
    ProviderKind.ANTHROPIC: _Preset(
        "/models", Auth("header", "x-api-key"), Paging("anthropic"), {"anthropic-version": "2023-06-01"}
    ),
    ProviderKind.URL: _Preset("", Auth("none"), Paging()),
    ProviderKind.NATIVE: _Preset("/models", _BEARER, Paging()),
}


@dataclass(frozen=True)
class Resolved:
    """A provider's list request with the environment filled in (credentials not yet added)."""

    url: str
    headers: dict[str, str]
    params: dict[str, str]
    missing: list[str]


@dataclass(frozen=True)
class ProviderConfig:
    """One provider: where its model list lives, how to authenticate, page and read it.

    Fields left as None take the value of the ``kind`` preset (see :data:`PRESETS`).
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
    # Plain http to a host that is not loopback carries no credential unless this is set.
    allow_http: bool = False
    auth: Auth | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    paging: Paging | None = None
    # Where the records are in the answer, and which field is the id (None: found by meaning).
    list_path: str | None = None
    id_field: str | None = None
    # A server on this machine (Ollama): nothing listening there is "skipped", not "failed".
    local: bool = False
    # Where facts sit in this provider's records, when vexy cannot find them itself:
    # {fact: {"path": [keys...], "unit": str | None}} (see _parse_facts).
    facts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # False when the provider has no endpoint that lists models; `note` says more.
    listable: bool = True
    note: str | None = None
    docs: str | None = None

    @property
    def preset(self) -> _Preset:
        return PRESETS[self.kind]

    @property
    def list_auth(self) -> Auth:
        """The authentication in effect: the ``auth`` field, else the kind's."""
        return self.auth or self.preset.auth

    @property
    def list_paging(self) -> Paging:
        return self.paging or self.preset.paging

    @property
    def all_headers(self) -> dict[str, str]:
        """Header templates: the kind's, then the configured ones."""
        return {**self.preset.headers, **self.headers}

    @property
    def models_url(self) -> str:
        """The URL template of the model list: ``base_url`` joined with ``models_path``.

        A path is appended to the base URL (``/models``); each leading ``../`` first drops the
        base URL's last path segment (``../catalog/models``); a full URL stands alone.
        """
        path = self.models_path
        if path is None:
            path = self.preset.models_path
        if not path:
            return self.base_url
        if path.startswith(("http://", "https://", "${")):
            return path
        base = self.base_url.rstrip("/")
        while path.startswith("../"):
            # Up one path segment, never past the origin (nor into a placeholder's default).
            head, _, last = base.rpartition("/")
            if last and "://" in head + "/" and not head.endswith(":/") and head.count("}") == base.count("}"):
                base = head
            path = path[3:]
        return base + "/" + path.lstrip("/")

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
        """True when a request must carry the key (a variable is named, sent, and the list is not public)."""
        return bool(self.api_key_env) and self.key_required and self.list_auth.sends_key

    def api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key's value, read from the environment at the moment of asking."""
        if not self.api_key_env:
            return None
        env = os.environ if environ is None else environ
        return env.get(self.api_key_env) or None

    def has_key(self, environ: Mapping[str, str] | None = None) -> bool:
        return self.api_key(environ) is not None

    def credential_template(self) -> str | None:
        """The template of the value the auth style sends (None: nothing from the environment)."""
        auth = self.list_auth
        if not auth.sends_key:
            return None
        if auth.value is not None:
            return auth.value
        return "${" + self.api_key_env + "}" if self.api_key_env else None

    def credential_variables(self) -> list[str]:
        """Variables whose values are sent as the credential."""
        return template_variables(self.credential_template())

    def header_env_vars(self) -> list[str]:
        """Names of the variables that configured headers read (their values are secrets too)."""
        names: list[str] = []
        for value in self.all_headers.values():
            names.extend(template_variables(value))
        return names

    def secret_env_vars(self) -> list[str]:
        """Every variable whose value must never be shown: keys, credential, header and parameter values."""
        names = [self.api_key_env or "", *self.credential_variables(), *self.header_env_vars()]
        for value in self.params.values():
            names.extend(template_variables(value))
        return [n for n in dict.fromkeys(names) if n]

    def variables(self, environ: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every variable the provider reads: ``{"name", "required", "set"}``, in the order read.

        Alternatives are one entry (``AWS_REGION or AWS_DEFAULT_REGION``), set when one is.
        """
        env = os.environ if environ is None else environ
        required = self.missing_variables({})
        missing = set(self.missing_variables(env))
        entries = [{"name": r, "required": True, "set": r not in missing} for r in required]
        covered = {n for r in required for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", r) if n not in ("or", "and")}
        for name in self.variable_names():
            if name not in covered:
                entries.append({"name": name, "required": False, "set": bool(env.get(name))})
        return entries

    def variable_names(self) -> list[str]:
        """The name of every environment variable the provider reads (base-URL variable aside)."""
        names = [
            *template_variables(self.base_url),
            *template_variables(self.models_path),
            *([self.api_key_env] if self.api_key_env else []),
            *self.credential_variables(),
            *self.header_env_vars(),
            *(n for v in self.params.values() for n in template_variables(v)),
            *_auth_variables(self.list_auth),
        ]
        return list(dict.fromkeys(names))

    def missing_variables(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """The variables a fetch needs that are not set (a chain as ``A or B``)."""
        env = os.environ if environ is None else environ
        missing = [*expand(self.models_url, env)[1]]
        for value in self.params.values():
            missing.extend(expand(value, env)[1])
        auth = self.list_auth
        if self.key_required and auth.sends_key:
            template = self.credential_template()
            if template:
                missing.extend(expand(template, env)[1])
        elif auth.style == "aws-sigv4":
            missing.extend(expand(auth.region or "", env)[1])
            keys = env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY")
            if not keys and not env.get("AWS_PROFILE"):
                missing.append("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)")
        elif auth.style == "google":
            missing.extend(n for n in _GOOGLE_REQUIRED if not env.get(n))
        return list(dict.fromkeys(missing))

    def resolve(self, environ: Mapping[str, str] | None = None) -> Resolved:
        """The list request's URL, headers and parameters with the environment filled in.

        A header whose variables are all unset is left out (an empty header helps no server).
        """
        env = os.environ if environ is None else environ
        url, missing = expand(self.models_url, env)
        if url:
            url = _with_scheme(url)
        headers = {}
        for name, template in self.all_headers.items():
            value, unset = expand(template, env)
            if not unset or value.strip():
                headers[name] = value
        params = {}
        for name, template in self.params.items():
            value, unset = expand(template, env)
            missing.extend(unset)
            params[name] = value
        return Resolved(url, headers, params, missing)

    def request_headers(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Key and configured headers of a request (bearer and header styles), read from the environment now."""
        env = os.environ if environ is None else environ
        headers: dict[str, str] = {}
        auth = self.list_auth
        template = self.credential_template()
        if template and auth.style in ("bearer", "header"):
            value, missing = expand(template, env)
            if not missing and value:
                headers["Authorization" if auth.style == "bearer" else str(auth.name)] = (
                    f"Bearer {value}" if auth.style == "bearer" else value
                )
        headers.update(self.resolve(env).headers)
        return headers

    def credentials_sent(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """What a list request carries that must stay secret, in words ("the key in GROQ_API_KEY").

        Without ``environ``, everything the configuration would send once its variables are set;
        with it, only what is set now.
        """

        def is_set(names: list[str]) -> bool:
            return bool(names) and (environ is None or all(environ.get(n) for n in names))

        auth = self.list_auth
        sent = []
        credential = self.credential_variables()
        if auth.sends_key and is_set(credential):
            where = {"bearer": "", "header": f" (header {auth.name})", "query": f" (query parameter {auth.name})"}
            sent.append(f"the key in {', '.join(credential)}{where[auth.style]}")
        elif auth.style == "aws-sigv4":
            sent.append("the AWS credentials (a signature and the access key id)")
        elif auth.style == "google":
            sent.append("the Google access token")
        for name, template in self.all_headers.items():
            variables = [v for v in template_variables(template) if environ is None or environ.get(v)]
            if variables:
                sent.append(f"the value of {', '.join(variables)} in header {name}")
        return sent

    def describe_listing(self) -> dict[str, str]:
        """How the list is requested, for `vexy providers`: URL template, auth and paging."""
        if not self.listable:
            return {"url": "-", "auth": "-", "paging": "-"}
        return {"url": self.models_url, "auth": self.list_auth.describe(), "paging": self.list_paging.describe()}


# The project billed for a Vertex request (the quota project Google needs with user credentials).
_GOOGLE_REQUIRED = ("GOOGLE_CLOUD_PROJECT",)
_GOOGLE_OPTIONAL = ("GOOGLE_APPLICATION_CREDENTIALS",)


def _auth_variables(auth: Auth) -> list[str]:
    if auth.style == "aws-sigv4":
        return [
            *template_variables(auth.region),
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
        ]
    if auth.style == "google":
        return [*_GOOGLE_REQUIRED, *_GOOGLE_OPTIONAL]
    return []


def _builtin_providers() -> dict[str, ProviderConfig]:
    providers = {
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
    for name, entry in _MORE_BUILTINS.items():
        providers[name] = _parse_entry(_BUILTIN_SOURCE, name, entry, None, source="builtin")
    return dict(sorted(providers.items()))


_BUILTIN_SOURCE = Path("<built-in providers>")


# ---------------------------------------------------------------------------------------------
# The providers file: one small parser per field, so a new field is one entry in _FIELDS.


@dataclass
class _Field:
    description: str
    parse: Callable[[_Context, Any], dict[str, Any]]


@dataclass
class _Context:
    path: Path
    provider: str
    field: str

    def error(self, value: Any, description: str | None = None) -> ProvidersFileError:
        expected = description or _FIELDS[self.field].description
        return ProvidersFileError(
            f"{self.path}: provider '{self.provider}', field '{self.field}': expected {expected}, got {shown(value)}"
        )


def _check_placeholders(ctx: _Context, value: str) -> str:
    """Reject a ``$`` that starts no valid placeholder (``${VAR``, ``${1X}``)."""
    stripped = _PLACEHOLDER_RE.sub("", value)
    if "$" in stripped:
        raise ctx.error(value, "a value whose placeholders read ${VARIABLE} or ${VARIABLE:-default}")
    return value


def _template(ctx: _Context, value: Any, *, multiline: bool = False) -> str:
    if not isinstance(value, str) or (not multiline and ("\n" in value or "\r" in value)):
        raise ctx.error(value)
    return _check_placeholders(ctx, value)


def _url_template(ctx: _Context, value: Any) -> str:
    """An http(s) URL, possibly with placeholders (a URL may start with one: ``${VLLM_BASE_URL}``)."""
    text = _template(ctx, value)
    if text.startswith("${"):
        return text
    sample, _ = expand(text, {name: "x" for name in template_variables(text)})
    parts = urlsplit(sample)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ctx.error(value)
    return text


def _parse_kind(ctx: _Context, value: Any) -> dict[str, Any]:
    try:
        return {"kind": ProviderKind(value)}
    except ValueError:
        raise ctx.error(value) from None


def _parse_base_url(ctx: _Context, value: Any) -> dict[str, Any]:
    return {"base_url": _url_template(ctx, value)}


def _parse_env_name(ctx: _Context, value: Any) -> dict[str, Any]:
    if value is not None and not (isinstance(value, str) and _ENV_NAME_RE.match(value)):
        raise ctx.error(value)
    return {ctx.field: value}


def _parse_string_map(ctx: _Context, value: Any, key_re: re.Pattern[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ctx.error(value)
    out = {}
    for key, item in value.items():
        if isinstance(item, (int, float)) and not isinstance(item, bool) and ctx.field == "params":
            item = str(item)  # api-version: 2024-10-21 is read by YAML as a date-like string anyway
        if not (isinstance(key, str) and key_re.match(key)) or not isinstance(item, str):
            raise ctx.error(value)
        out[key] = _template(ctx, item)
    return out


def _parse_headers(ctx: _Context, value: Any) -> dict[str, Any]:
    return {"headers": _parse_string_map(ctx, value, _HEADER_NAME_RE)}


_PARAM_NAME_RE = re.compile(r"^[A-Za-z0-9_.~\[\]-]+$")


def _parse_params(ctx: _Context, value: Any) -> dict[str, Any]:
    return {"params": _parse_string_map(ctx, value, _PARAM_NAME_RE)}


def _parse_models_path(ctx: _Context, value: Any) -> dict[str, Any]:
    if value is None:
        return {"models_path": None}
    text = _template(ctx, value)
    if text.startswith(("http://", "https://")):
        _url_template(ctx, text)
    return {"models_path": text}


def _parse_models_url(ctx: _Context, value: Any) -> dict[str, Any]:
    return {"models_path": _url_template(ctx, value)}


def _parse_bool(ctx: _Context, value: Any) -> dict[str, Any]:
    if not isinstance(value, bool):
        raise ctx.error(value)
    return {_ATTRIBUTE.get(ctx.field, ctx.field): value}


def _parse_max_concurrent(ctx: _Context, value: Any) -> dict[str, Any]:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
        raise ctx.error(value)
    return {"max_concurrent": value}


def _parse_min_interval(ctx: _Context, value: Any) -> dict[str, Any]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 3600:
        raise ctx.error(value)
    return {"min_interval": float(value)}


def _parse_auth(ctx: _Context, value: Any) -> dict[str, Any]:
    if value in ("bearer", "none", "google"):
        return {"auth": Auth(value)}
    if not isinstance(value, dict) or len(value) not in (1, 2):
        raise ctx.error(value)
    if "bearer" in value and len(value) == 1:
        return {"auth": Auth("bearer", value=_template(ctx, value["bearer"]))}
    for style in ("header", "query"):
        if style in value and set(value) <= {style, "value"}:
            name = value[style]
            if not isinstance(name, str) or not (_HEADER_NAME_RE if style == "header" else _PARAM_NAME_RE).match(name):
                raise ctx.error(value)
            template = _template(ctx, value["value"]) if "value" in value else None
            return {"auth": Auth(style, name=name, value=template)}
    if set(value) == {"aws_sigv4"} and isinstance(value["aws_sigv4"], dict):
        spec = value["aws_sigv4"]
        service, region = spec.get("service"), spec.get("region")
        if set(spec) <= {"service", "region"} and isinstance(service, str) and service and isinstance(region, str):
            return {"auth": Auth("aws-sigv4", service=service, region=_template(ctx, region))}
    raise ctx.error(value)


def _positive_int(spec: dict[str, Any], key: str) -> bool:
    value = spec.get(key)
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100_000)


def _names(spec: dict[str, Any], *keys: str) -> bool:
    return all(spec.get(k) is None or (isinstance(spec[k], str) and _PATH_RE.match(spec[k])) for k in keys)


def _parse_paging(ctx: _Context, value: Any) -> dict[str, Any]:
    if value in ("none", "anthropic", "link-header"):
        return {"paging": Paging(value)}
    if isinstance(value, dict) and len(value) == 1:
        ((style, spec),) = value.items()
        if style == "cursor" and isinstance(spec, dict) and set(spec) <= {"param", "field", "size_param", "size"}:
            if spec.get("field") and _names(spec, "param", "field", "size_param") and _positive_int(spec, "size"):
                if (spec.get("size") is None) == (spec.get("size_param") is None):
                    return {"paging": Paging("cursor", **spec)}
        if (
            style == "page"
            and isinstance(spec, dict)
            and set(spec) <= {"param", "size_param", "size", "total_field", "start"}
        ):
            start = spec.get("start", 1)
            if (
                spec.get("param")
                and _names(spec, "param", "size_param", "total_field")
                and _positive_int(spec, "size")
                and start in (0, 1)
                and (spec.get("size") is None) == (spec.get("size_param") is None)
            ):
                return {"paging": Paging("page", **spec)}
    raise ctx.error(value)


def _parse_json_path(ctx: _Context, value: Any) -> dict[str, Any]:
    listing = ctx.field == "list_path"
    if value is not None and not (
        isinstance(value, str)
        and (value == "" and listing or (_LIST_PATH_RE if listing else _PATH_RE).match(value))
    ):
        raise ctx.error(value)
    return {ctx.field: value}


def _parse_text(ctx: _Context, value: Any) -> dict[str, Any]:
    if value is not None and not isinstance(value, str):
        raise ctx.error(value)
    return {ctx.field: value}


def _parse_facts(ctx: _Context, value: Any) -> dict[str, Any]:
    """``facts:``: fact -> ``"a.b.c"`` or ``{path: "a.b.c", unit: ...}``.

    Paths are dotted keys (a number indexes a list); ``unit`` is for prices, such as
    usd_per_token, usd_per_1k_tokens, usd_per_1m_tokens, usd_cents_per_token, cny_per_1m_tokens.
    """
    from .facts.schema import PRICE_FIELDS
    from .facts.stated import FACT_PARSERS, unit_of_map

    settable = (*FACT_PARSERS, *PRICE_FIELDS)
    where = f"{ctx.path}: provider '{ctx.provider}', field 'facts'"
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
    return {"facts": parsed}


# File field -> dataclass attribute, where they differ.
_ATTRIBUTE = {"list": "listable"}

_FIELDS: dict[str, _Field] = {
    "kind": _Field("one of openai, anthropic, url, native", _parse_kind),
    "base_url": _Field("an http:// or https:// URL (${VARIABLE} placeholders allowed)", _parse_base_url),
    "api_key_env": _Field("an environment variable name, or null for no key", _parse_env_name),
    "auth": _Field(
        "bearer, none, google, {header: NAME}, {query: PARAM} (either with an optional value: ...), "
        "{bearer: VALUE} or {aws_sigv4: {service: NAME, region: REGION}}",
        _parse_auth,
    ),
    "headers": _Field("a mapping of header name to value (${VARIABLE} expands from the environment)", _parse_headers),
    "params": _Field("a mapping of query parameter to value (${VARIABLE} expands from the environment)", _parse_params),
    "models_path": _Field("a path such as /models (or ../other/path, or a full URL)", _parse_models_path),
    "models_url": _Field("an http:// or https:// URL (${VARIABLE} placeholders allowed)", _parse_models_url),
    "paging": _Field(
        "none, anthropic, link-header, {cursor: {param, field[, size_param, size]}} or "
        "{page: {param[, size_param, size, total_field, start]}}",
        _parse_paging,
    ),
    "list_path": _Field(
        "a dotted path to the list in the answer, such as result.models ('' for the top; "
        "a * segment for every entry of a catalog grouped by provider, such as *.models)",
        _parse_json_path,
    ),
    "id_field": _Field("the name (or dotted path) of the field holding a model's id", _parse_json_path),
    "key_required": _Field("true or false", _parse_bool),
    "base_url_env": _Field("an environment variable name, or null", _parse_env_name),
    "enabled": _Field("true or false", _parse_bool),
    "max_concurrent": _Field("a whole number of concurrent requests to the host, at least 1", _parse_max_concurrent),
    "min_interval": _Field("seconds between request starts to the host, a number from 0 to 3600", _parse_min_interval),
    "allow_http": _Field("true or false", _parse_bool),
    "local": _Field("true or false", _parse_bool),
    "list": _Field("true or false (false: the provider has no endpoint that lists models)", _parse_bool),
    "note": _Field("a line of text", _parse_text),
    "docs": _Field("a URL of the provider's documentation", _parse_text),
    "facts": _Field(
        "a mapping of fact to a path in the record (limits.context) or to {path: ..., unit: ...}", _parse_facts
    ),
}


def _parse_entry(
    path: Path, name: str, entry: Any, base: ProviderConfig | None, source: str = "user"
) -> ProviderConfig:
    if entry is None:
        entry = {}
    if not isinstance(entry, dict):
        raise ProvidersFileError(
            f"{path}: provider '{name}': expected a mapping of fields ({', '.join(_FIELDS)}), "
            f"got {type(entry).__name__}"
        )
    if "models_path" in entry and "models_url" in entry:
        raise ProvidersFileError(f"{path}: provider '{name}': give models_path or models_url, not both")
    changes: dict[str, Any] = {}
    for fld, value in entry.items():
        spec = _FIELDS.get(fld)
        if spec is None:
            raise ProvidersFileError(
                f"{path}: provider '{name}': unknown field '{fld}' (known fields: {', '.join(_FIELDS)})"
            )
        changes.update(spec.parse(_Context(path, name, fld), value))
    if base is not None:
        config = replace(base, source=source, **changes)
    elif "base_url" not in changes:
        raise ProvidersFileError(
            f"{path}: provider '{name}': field 'base_url' is required for a provider that is "
            f"not built in (built-in names: see 'vexy providers')"
        )
    else:
        config = ProviderConfig(name=name, source=source, **changes)
    if "*" in (config.list_path or "").split(".") and config.list_paging.style != "none":
        # Pages are merged as one list at one path; records gathered from many groups are not.
        raise ProvidersFileError(
            f"{path}: provider '{name}': a list_path with '*' ({config.list_path}) cannot be paged: "
            "drop paging, or point list_path at one list"
        )
    return config


# A providers file is a few kilobytes; YAML aliases may not make it bigger than this once
# expanded (a "billion laughs" file of a few hundred bytes expands to billions of values).
MAX_PROVIDERS_FILE_BYTES = 1024 * 1024
MAX_EXPANDED_VALUES = 10_000


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut short: a value in an error message is never longer than ``limit``, and
    showing it never walks more than a few of its items (an expanded alias may hold billions)."""
    import reprlib

    brief = reprlib.Repr()
    brief.maxlevel, brief.maxlist, brief.maxdict, brief.maxtuple, brief.maxset = 2, 4, 4, 4, 4
    brief.maxstring = brief.maxother = limit
    text = brief.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _safe_load(text: str, path: Path) -> Any:
    """``yaml.safe_load``, refusing a document whose aliases expand past
    :data:`MAX_EXPANDED_VALUES` values before anything is built from it."""
    import yaml

    # libyaml's loader where PyYAML was built with it: the same documents, several times quicker.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded = _expanded_size(node)
        if expanded > MAX_EXPANDED_VALUES:
            raise ProvidersFileError(
                f"{path}: its YAML aliases (*name) expand to more than {MAX_EXPANDED_VALUES:,} values; a providers "
                "file needs far fewer - write the repeated parts out, or use fewer aliases"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(root: Any) -> int:
    """How many values a composed YAML node holds once every alias is expanded (counted once per
    distinct node, so counting is as quick as the file is short)."""
    import yaml

    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            sizes[id(node)] = 1
            continue
        if children_done:
            sizes[id(node)] = min(1 + sum(sizes.get(id(c), 1) for c in children), MAX_EXPANDED_VALUES + 1)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def load_providers_file(
    path: str | os.PathLike[str], base: Mapping[str, ProviderConfig] | None = None
) -> dict[str, ProviderConfig]:
    """Read a user providers file and apply it on top of ``base`` (the built-ins by default).

    Raises :class:`ProvidersFileError` naming the file, the provider and the field at fault.
    """
    import yaml

    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_PROVIDERS_FILE_BYTES:
            raise ProvidersFileError(
                f"{path}: the providers file is {size:,} bytes; vexy reads at most {MAX_PROVIDERS_FILE_BYTES:,}"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProvidersFileError(f"{path}: providers file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ProvidersFileError(f"{path}: cannot read providers file: {e}") from None
    try:
        data = _safe_load(text, path)
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
                f"{path}: provider name {shown(name)} is not valid: use lowercase letters, digits, '-', '_' or '.'"
            )
        providers[name] = _parse_entry(path, name, entry, providers.get(name))
    return providers


def _apply_env_base_urls(providers: dict[str, ProviderConfig], environ: Mapping[str, str]) -> dict[str, ProviderConfig]:
    for name, provider in providers.items():
        if provider.base_url_env and environ.get(provider.base_url_env):
            providers[name] = replace(provider, base_url=_with_scheme(environ[provider.base_url_env]))
    return providers


def _with_scheme(url: str) -> str:
    """``host:port`` as local servers' own variables often hold it (OLLAMA_HOST) is ``http://host:port``."""
    return url if "://" in url or url.startswith("${") else "http://" + url


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


def builtin_providers() -> dict[str, ProviderConfig]:
    """The built-in providers as shipped (no environment, no providers file)."""
    return _builtin_providers()


def get_all_providers(providers_file: str | os.PathLike[str] | None = None) -> list[ProviderConfig]:
    """Every enabled provider, sorted by name."""
    return list(load_providers(providers_file).values())


def get_provider_by_name(name: str, providers_file: str | os.PathLike[str] | None = None) -> ProviderConfig | None:
    """The provider called ``name``, or None."""
    return load_providers(providers_file).get(name)
