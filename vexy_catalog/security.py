"""Keeping secrets out of everything vexy writes: errors, logs, the database."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

__all__ = ["mask_sensitive_data"]

MASK = "***"

_PATTERNS = [
    # Bearer tokens in headers or pasted error text
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"),
    # Vendor key shapes: sk-..., sk-ant-..., sk-or-v1-..., gsk_..., xai-..., hf_..., r8_...
    re.compile(r"\b(sk-(?:ant-|or-v1-|proj-)?|gsk_|xai-|hf_|r8_|fw_|pplx-|nvapi-|csk-)[A-Za-z0-9_-]{6,}"),
    # Credentials in URLs: https://user:secret@host, ?key=..., &api_key=...
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
    re.compile(r"(?i)([?&](?:key|api_key|apikey|token|access_token)=)[^&\s#\"']+"),
]

# Variable names that hold secrets by convention, besides the ones providers name.
_SECRET_NAME_RE = re.compile(r"(?i)(API_KEY|_KEY$|TOKEN|SECRET)")


def mask_sensitive_data(text: str, secret_names: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> str:
    """Mask key-shaped strings and the value of every secret variable that is set.

    >>> mask_sensitive_data("API key: sk-1234567890")
    'API key: sk-***'
    """
    if not text:
        return text
    env = os.environ if environ is None else environ
    names = {name for name in env if _SECRET_NAME_RE.search(name)}
    names.update(secret_names)
    # Longest first, so a key that contains another key is masked whole.
    values = sorted({env[n] for n in names if env.get(n) and len(env[n]) >= 4}, key=len, reverse=True)
    for value in values:
        text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
        else:
            text = pattern.sub(MASK, text)
    return text
