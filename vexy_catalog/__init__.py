"""vexy: a live, SQLite-backed catalog of the AI models that many providers serve.

Names are imported lazily, so ``vexy --help`` does not pay for httpx, anyio or sqlite-utils.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ModelCatalog": "catalog",
    "FetchSummary": "catalog",
    "UnknownProviderError": "catalog",
    "ModelFetcher": "fetch",
    "FetchResult": "fetch",
    "FetchError": "fetch",
    "ProviderConfig": "providers",
    "ProviderKind": "providers",
    "ProvidersFileError": "providers",
    "get_all_providers": "providers",
    "get_provider_by_name": "providers",
    "mask_sensitive_data": "security",
    "canonical_json": "db",
    "content_hash": "db",
    "StorageManager": "export",
    "ConfigManager": "export",
    "check_system_health": "health",
    "check_provider_health": "health",
    "get_rate_limiter": "ratelimit",
    "ProviderValidator": "validation",
}

__all__ = [
    "ConfigManager",
    "FetchError",
    "FetchResult",
    "FetchSummary",
    "ModelCatalog",
    "ModelFetcher",
    "ProviderConfig",
    "ProviderKind",
    "ProviderValidator",
    "ProvidersFileError",
    "StorageManager",
    "UnknownProviderError",
    "__version__",
    "canonical_json",
    "check_provider_health",
    "check_system_health",
    "content_hash",
    "get_all_providers",
    "get_provider_by_name",
    "get_rate_limiter",
    "mask_sensitive_data",
]

if TYPE_CHECKING:
    from .catalog import FetchSummary, ModelCatalog, UnknownProviderError
    from .db import canonical_json, content_hash
    from .export import ConfigManager, StorageManager
    from .fetch import FetchError, FetchResult, ModelFetcher
    from .health import check_provider_health, check_system_health
    from .providers import (
        ProviderConfig,
        ProviderKind,
        ProvidersFileError,
        get_all_providers,
        get_provider_by_name,
    )
    from .ratelimit import get_rate_limiter
    from .security import mask_sensitive_data
    from .validation import ProviderValidator


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vexy_catalog' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
