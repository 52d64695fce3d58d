"""Checking a provider's configuration without sending a request (``vexy providers check``), and
the transport rule both that check and ``vexy fetch`` apply (:func:`plain_http_refusal`)."""

from __future__ import annotations

import enum
import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .providers import ProviderConfig, expand, template_variables
from .security import key_problem, mask_sensitive_data, value_problem

__all__ = [
    "ProviderValidator",
    "ValidationResult",
    "ValidationSeverity",
    "describe_missing",
    "foreign_key_refusal",
    "is_loopback",
    "plain_http_refusal",
]


class ValidationSeverity(str, enum.Enum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


@dataclass
class ValidationResult:
    is_valid: bool
    messages: list[str] = field(default_factory=list)
    severity: ValidationSeverity = ValidationSeverity.OK


def is_loopback(host: str | None) -> bool:
    """True for this machine: localhost, 127.0.0.0/8, ::1 (and 0.0.0.0, which reaches it)."""
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def plain_http_refusal(provider: ProviderConfig, url: str, sent: Iterable[str]) -> str | None:
    """Why a request to ``url`` must not be sent, or None.

    A credential (``sent``: what the request would carry, in words) never travels over plain
    http to a host that is not loopback, unless the provider sets ``allow_http: true``. One
    message for ``vexy fetch`` and ``vexy providers check``.
    """
    parts = urlsplit(url)
    sent = list(sent)
    if parts.scheme != "http" or is_loopback(parts.hostname) or provider.allow_http or not sent:
        return None
    return (
        f"plain http to {parts.hostname}: {' and '.join(sent)} would travel unencrypted - "
        "use https, or set allow_http: true in the providers file if this is a trusted network"
    )


def _origin(provider: ProviderConfig) -> str | None:
    """``scheme://host:port`` of the provider's list (placeholders as stand-ins)."""
    sample, _ = expand(provider.models_url, {n: "x" for n in template_variables(provider.models_url)})
    parts = urlsplit(sample)
    if not parts.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        port = parts.port or default
    except ValueError:
        port = None
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}"


def foreign_key_refusal(provider: ProviderConfig, configured: Iterable[ProviderConfig]) -> str | None:
    """Why ``provider`` must not send what it would send, or None: a header, parameter or URL
    of it that reads another provider's key variable sends that provider's key to another host.

    A provider's own credential (``api_key_env``, ``auth``) is its own choice and is not
    judged here; nor is a variable both providers send to the same origin.
    """
    own = {provider.api_key_env, *provider.credential_variables()}
    # Most providers read no variable but their own key: nothing to compare with the others'
    # (which would cost every fetch a pass over every pair of providers).
    read = _read_variables(provider) - own
    if not read:
        return None
    origin = _origin(provider)
    for other in configured:
        if other.name == provider.name or not other.list_auth.sends_key:
            continue
        for variable in {other.api_key_env, *other.credential_variables()} & read:
            where = _reads(provider, str(variable))
            if where and _origin(other) != origin:
                return (
                    f"{where} reads {variable}, the key of provider {other.name}: it would send that key to "
                    f"{origin or 'another host'} - if that is meant, copy the value into a variable of this "
                    "provider's own"
                )
    return None


def _read_variables(provider: ProviderConfig) -> set[str]:
    """Every variable that a header, parameter or the models URL of ``provider`` reads."""
    templates = [*provider.all_headers.values(), *provider.params.values(), provider.models_url]
    return {variable for template in templates for variable in template_variables(template)}


def _reads(provider: ProviderConfig, variable: str) -> str | None:
    """Which part of ``provider`` (other than its credential) reads ``variable``, in words."""
    for name, value in provider.all_headers.items():
        if variable in template_variables(value):
            return f"header {name}"
    for name, value in provider.params.items():
        if variable in template_variables(value):
            return f"parameter {name}"
    if variable in template_variables(provider.models_url):
        return "the models URL"
    return None


class ProviderValidator:
    """The seed's validator: ``validate_provider(provider) -> ValidationResult``."""

    def __init__(
        self, environ: Mapping[str, str] | None = None, configured: Iterable[ProviderConfig] | None = None
    ):
        self.environ = os.environ if environ is None else environ
        # Every configured provider: a header that reads another one's key variable is an error.
        self.configured = list(configured or [])

    def validate_provider(self, provider: ProviderConfig) -> ValidationResult:
        errors: list[str] = []
        warnings: list[str] = []
        if not provider.listable:
            warnings.append("no endpoint lists this provider's models: 'vexy fetch' skips it" + _note(provider))
            return ValidationResult(True, warnings, ValidationSeverity.WARNING)
        missing = provider.missing_variables(self.environ)
        # The URL as it will be requested: placeholders filled where set, else a stand-in. One
        # that starts with an unset variable (${VLLM_BASE_URL}) cannot be judged until it is set.
        template = provider.models_url
        stand_ins = {m.split(" or ")[0]: m.split(" or ")[0].lower() for m in _unset(template, self.environ)}
        url = provider.resolve({**self.environ, **stand_ins}).url if template else ""
        parts = urlsplit(url)
        undetermined = template.startswith("${") and bool(_unset(template, self.environ))
        if undetermined:
            pass
        elif parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append(f"models URL {provider.models_url!r} is not an http(s) URL with a host")
        else:
            refusal = plain_http_refusal(provider, url, provider.credentials_sent())
            if refusal:
                errors.append(refusal)
            elif parts.scheme == "http" and not is_loopback(parts.hostname):
                how = "allowed by allow_http" if provider.allow_http else "use https where the server offers it"
                warnings.append(f"plain http to {parts.hostname} ({how})")
        if parts.username or parts.password or mask_sensitive_data(template) != template:
            errors.append(
                "credentials in the URL: put the key in a variable named by api_key_env (auth: {query: NAME} "
                "sends it in the query string) instead"
            )
        if missing:
            warnings.append(f"{describe_missing(missing)}: 'vexy fetch' skips {provider.name}")
        for variable in dict.fromkeys([provider.api_key_env or "", *provider.credential_variables()]):
            value = self.environ.get(variable) if variable else None
            problem = key_problem(variable, value) if value and provider.list_auth.sends_key else None
            if problem:
                errors.append(problem)  # 'vexy fetch' refuses to send it
            elif value and (value[:1] in "'\"" or value[-1:] in "'\""):
                warnings.append(f"{variable} has surrounding quotes: the provider will refuse it")
        for variable in dict.fromkeys(provider.header_env_vars()):
            value = self.environ.get(variable)
            problem = value_problem(variable, value) if value else None
            if problem:
                errors.append(problem)
        refusal = foreign_key_refusal(provider, self.configured)
        if refusal:
            errors.append(refusal)
        auth = provider.list_auth
        literal = auth.value is not None and not template_variables(auth.value)
        if literal and mask_sensitive_data(str(auth.value)) != auth.value:
            errors.append("auth holds a literal secret: write it as ${VARIABLE} and keep the value in the environment")
        for name, value in provider.all_headers.items():
            if name.lower() in ("authorization", "x-api-key", str(auth.name or "").lower()) and auth.sends_key:
                if provider.api_key_env:
                    warnings.append(f"header {name} is also set from {provider.api_key_env}: the key wins")
            if mask_sensitive_data(value) != value:
                errors.append(
                    f"header {name} holds a literal secret: write it as ${{VARIABLE}} and keep the value "
                    "in the environment"
                )
            for variable in template_variables(value):
                if not self.environ.get(variable) and "${" + variable + ":-" not in value:
                    warnings.append(f"header {name} uses ${{{variable}}}, which is not set: the header is left out")
        for name, value in provider.params.items():
            if not template_variables(value) and mask_sensitive_data(f"?{name}={value}") != f"?{name}={value}":
                errors.append(f"parameter {name} holds a literal secret: write it as ${{VARIABLE}}")
        warnings.extend(_extra_warnings(provider, self.environ))
        if errors:
            return ValidationResult(False, errors + warnings, ValidationSeverity.ERROR)
        if warnings:
            return ValidationResult(True, warnings, ValidationSeverity.WARNING)
        return ValidationResult(True, [], ValidationSeverity.OK)


def _note(provider: ProviderConfig) -> str:
    return f" ({provider.note})" if provider.note else ""


def _extra_warnings(provider: ProviderConfig, environ: Mapping[str, str]) -> list[str]:
    """Optional dependencies the provider's authentication needs and does not have."""
    import importlib.util

    auth = provider.list_auth
    if auth.style == "aws-sigv4" and importlib.util.find_spec("botocore") is None:
        return ["AWS SigV4 signing needs botocore: pip install 'vexy[aws]'"]
    if auth.style == "google":
        if environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
            if importlib.util.find_spec("google.auth") is None:
                return ["GOOGLE_APPLICATION_CREDENTIALS is read through google-auth: pip install 'vexy[gcp]'"]
        else:
            import shutil

            if shutil.which("gcloud") is None:
                return [
                    "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS (with pip install 'vexy[gcp]') "
                    "or install the gcloud CLI"
                ]
    return []


def describe_missing(missing: list[str]) -> str:
    """``X is not set`` / ``X and Y are not set`` / ``A or B; C is not set`` for alternatives."""
    if len(missing) == 1:
        return f"{missing[0]} is not set"
    joiner = "; " if any(" " in m for m in missing) else " and "
    return f"{joiner.join(missing)} are not set"


def _unset(template: str, environ: Mapping[str, str]) -> list[str]:
    return expand(template, environ)[1]
