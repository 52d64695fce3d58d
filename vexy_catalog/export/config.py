"""The seed's ``ConfigManager``: one provider's model list in, a client config file out.

    >>> manager = ConfigManager(Path("./config"))                                   # doctest: +SKIP
    >>> manager.generate_aichat_config("groq", {"models": [{"id": "llama-3.3-70b-versatile",
    ...     "max_input_tokens": 131072, "max_output_tokens": 32768}]})              # doctest: +SKIP
    PosixPath('config/aichat/config.yaml')

``models_data`` is a provider's answer in any shape the catalog reads (``{"data": [...]}``,
``{"models": [...]}``, a list, an object keyed by id); each record's facts are read by the same
normalizer as ``vexy fetch``. The provider's kind, URL and key variable come from the built-in
providers (or the keyword arguments). Files go to ``<config_root>/<client>/`` and each call
merges into what is there, so calling it for several providers builds one config.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .common import ExportData, Provider
from .storage import atomic_write_text

__all__ = ["ConfigManager"]


class ConfigManager:
    def __init__(self, config_root: str | os.PathLike[str]):
        self.config_root = Path(config_root)

    def provider(
        self,
        provider_name: str,
        *,
        kind: str | None = None,
        base_url: str | None = None,
        api_key_env: str | None = None,
    ) -> Provider:
        from ..providers import get_provider_by_name

        known = get_provider_by_name(provider_name)
        if known is None and base_url is None:
            raise ValueError(f"Unknown provider '{provider_name}': pass base_url= (and api_key_env=) for it")
        return Provider(
            name=provider_name,
            kind=kind or (known.kind.value if known else "openai"),
            base_url=base_url or (known.base_url if known else None),
            api_key_env=api_key_env if api_key_env is not None else (known.api_key_env if known else None),
        )

    def export_data(self, provider_name: str, models_data: Any, **provider: Any) -> ExportData:
        from ..facts import normalize_record
        from ..fetch import extract_records

        p = self.provider(provider_name, **provider)
        records, _, _ = extract_records(models_data)
        rows = []
        for model_id, raw in sorted(records):
            facts = normalize_record(provider_name, model_id, raw)
            rows.append({**facts, "provider": provider_name, "model_id": model_id})
        return ExportData(providers={provider_name: p}, models=rows)

    def _write(self, client: str, filename: str, text: str) -> Path:
        path = self.config_root / client / filename
        atomic_write_text(path, text)
        return path

    def _current(self, client: str, filename: str) -> str | None:
        path = self.config_root / client / filename
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def _single(self, module: Any, client: str, provider_name: str, models_data: Any, **provider: Any) -> Path:
        data = self.export_data(provider_name, models_data, **provider)
        text = module.render(data, self._current(client, module.FILENAME))
        return self._write(client, module.FILENAME, text)

    def generate_aichat_config(self, provider_name: str, models_data: Any, **provider: Any) -> Path:
        """``<config_root>/aichat/config.yaml``."""
        from . import aichat

        return self._single(aichat, "aichat", provider_name, models_data, **provider)

    def generate_mods_config(self, provider_name: str, models_data: Any, **provider: Any) -> Path:
        """``<config_root>/mods/mods.yml``."""
        from . import mods

        return self._single(mods, "mods", provider_name, models_data, **provider)

    def generate_llm_config(self, provider_name: str, models_data: Any, **provider: Any) -> Path:
        """``<config_root>/llm/extra-openai-models.yaml``."""
        from . import llm

        return self._single(llm, "llm", provider_name, models_data, **provider)

    def generate_litellm_config(self, provider_name: str, models_data: Any, **provider: Any) -> Path:
        """``<config_root>/litellm/litellm-config.yaml``."""
        from . import litellm

        return self._single(litellm, "litellm", provider_name, models_data, **provider)

    def generate_codex_config(self, provider_name: str, models_data: Any, **provider: Any) -> Path:
        """``<config_root>/codex/config.toml``, with the profile files beside it."""
        from . import codex

        data = self.export_data(provider_name, models_data, **provider)
        directory = self.config_root / "codex"
        current = (
            {p.name: p.read_text(encoding="utf-8") for p in directory.glob("*.toml")} if directory.is_dir() else {}
        )
        for filename, text in codex.render(data, current).items():
            self._write("codex", filename, text)
        return directory / codex.CONFIG
