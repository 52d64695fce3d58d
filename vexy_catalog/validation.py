"""Checking a provider's configuration without sending a request (``vexy providers check``)."""

from __future__ import annotations

import enum
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .providers import ProviderConfig, ProviderKind
from .security import mask_sensitive_data

__all__ = ["ProviderValidator", "ValidationResult", "ValidationSeverity", "is_loopback"]


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
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ProviderValidator:
    """The seed's validator: ``validate_provider(provider) -> ValidationResult``."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self.environ = os.environ if environ is None else environ

    def validate_provider(self, provider: ProviderConfig) -> ValidationResult:
        errors: list[str] = []
        warnings: list[str] = []
        url = provider.models_url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append(f"models URL {url!r} is not an http(s) URL with a host")
        elif parts.scheme == "http" and not is_loopback(parts.hostname):
            sends_key = provider.api_key_env and provider.kind != ProviderKind.URL
            if provider.allow_http:
                warnings.append(f"plain http to {parts.hostname} (allowed by allow_http)")
            elif sends_key:
                errors.append(
                    f"plain http to {parts.hostname}: the key in {provider.api_key_env} would travel unencrypted - "
                    "use https, or set allow_http: true in the providers file if this is a trusted network"
                )
            else:
                warnings.append(f"plain http to {parts.hostname}: use https where the server offers it")
        if parts.username or parts.password:
            errors.append("credentials in the URL: put the key in a variable named by api_key_env instead")
        if provider.api_key_env:
            value = self.environ.get(provider.api_key_env)
            if value is None or value == "":
                if provider.needs_key:
                    warnings.append(f"{provider.api_key_env} is not set: 'vexy fetch' skips {provider.name}")
            elif value != value.strip() or value[:1] in "'\"" or value[-1:] in "'\"":
                warnings.append(f"{provider.api_key_env} has surrounding spaces or quotes: the provider will refuse it")
        for name, value in provider.headers.items():
            if name.lower() in ("authorization", "x-api-key") and provider.api_key_env:
                warnings.append(f"header {name} is also set from {provider.api_key_env}: the header wins")
            if mask_sensitive_data(value) != value:
                errors.append(
                    f"header {name} holds a literal secret: write it as ${{VARIABLE}} and keep the value "
                    "in the environment"
                )
            for variable in provider.header_env_vars():
                if variable in value and not self.environ.get(variable):
                    warnings.append(f"header {name} uses ${{{variable}}}, which is not set")
        if errors:
            return ValidationResult(False, errors + warnings, ValidationSeverity.ERROR)
        if warnings:
            return ValidationResult(True, warnings, ValidationSeverity.WARNING)
        return ValidationResult(True, [], ValidationSeverity.OK)
