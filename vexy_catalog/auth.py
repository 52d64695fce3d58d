"""Credentials of a list request, read at request time: keys, AWS SigV4 signatures, Google tokens.

:func:`credentials_for` turns a provider's ``auth`` into what a request carries. Key values come
from the environment when the request is built and are never stored; every value that could
identify the user (a key, a token, an access key id) is returned in ``secrets`` so the caller can
mask it wherever text leaves the process. AWS signing needs botocore (``pip install 'vexy[aws]'``),
Google service-account tokens need google-auth (``pip install 'vexy[gcp]'``); without them the
provider is skipped with a line naming the extra.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from .errors import FetchError
from .providers import ProviderConfig, expand

__all__ = ["Credentials", "MissingExtra", "credentials_for"]

GOOGLE_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GCLOUD_TIMEOUT = 30.0


class MissingExtra(FetchError):
    """An optional dependency the provider's authentication needs is not installed."""


@dataclass
class Credentials:
    """What a request carries to prove who sends it."""

    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    # Signs one request (method, URL, headers) and returns the headers to add (AWS SigV4).
    signer: Callable[[str, str, Mapping[str, str]], dict[str, str]] | None = None
    # Literal values to mask in anything written or printed.
    secrets: list[str] = field(default_factory=list)
    # What is sent, in words, for the plain-http refusal ("the key in GROQ_API_KEY").
    sent: list[str] = field(default_factory=list)


async def credentials_for(provider: ProviderConfig, environ: Mapping[str, str] | None = None) -> Credentials:
    """The credentials a list request of ``provider`` carries, read from the environment now.

    Raises :class:`MissingExtra` when an optional dependency is needed, :class:`FetchError`
    when a token cannot be had (gcloud not logged in, an unreadable credentials file).
    """
    env = os.environ if environ is None else environ
    auth = provider.list_auth
    creds = Credentials()
    if auth.sends_key:
        template = provider.credential_template()
        if template:
            value, missing = expand(template, env)
            if value and not missing:
                if auth.style == "bearer":
                    creds.headers["Authorization"] = f"Bearer {value}"
                elif auth.style == "header":
                    creds.headers[str(auth.name)] = value
                else:
                    creds.params[str(auth.name)] = value
                creds.secrets.append(value)
    elif auth.style == "aws-sigv4":
        creds.signer, secrets = _aws_signer(provider, env)
        creds.secrets.extend(secrets)
    elif auth.style == "google":
        token = await _google_token(provider, env)
        creds.headers["Authorization"] = f"Bearer {token}"
        project = env.get("GOOGLE_CLOUD_PROJECT")
        if project:
            creds.headers["x-goog-user-project"] = project
        creds.secrets.append(token)
    creds.sent = provider.credentials_sent(env)
    return creds


def _aws_signer(
    provider: ProviderConfig, env: Mapping[str, str]
) -> tuple[Callable[[str, str, Mapping[str, str]], dict[str, str]], list[str]]:
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials as AWSCredentials
        from botocore.session import Session
    except ImportError:
        raise MissingExtra(
            f"{provider.name} signs its requests with AWS SigV4, which needs botocore: pip install 'vexy[aws]'"
        ) from None
    auth = provider.list_auth
    region, _ = expand(auth.region or "", env)
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        credentials: Any = AWSCredentials(
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN") or None
        )
    else:
        # A named profile (AWS_PROFILE): botocore reads ~/.aws/config and ~/.aws/credentials,
        # SSO and credential processes included.
        try:
            credentials = Session(profile=env.get("AWS_PROFILE") or None).get_credentials()
        except Exception as e:  # botocore raises many types for a broken profile
            raise FetchError(f"AWS credentials could not be read: {type(e).__name__}: {e}") from None
        if credentials is None:
            raise FetchError(
                "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
            )
    frozen = credentials.get_frozen_credentials()
    service = str(auth.service)

    def sign(method: str, url: str, headers: Mapping[str, str]) -> dict[str, str]:
        request = AWSRequest(method=method, url=url, headers=dict(headers))
        SigV4Auth(frozen, service, region).add_auth(request)
        return {k: v for k, v in request.headers.items() if k.lower() not in {h.lower() for h in headers}}

    secrets = [s for s in (frozen.access_key, frozen.secret_key, frozen.token) if s]
    return sign, secrets


async def _google_token(provider: ProviderConfig, env: Mapping[str, str]) -> str:
    path = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    if path:
        return await anyio.to_thread.run_sync(_google_auth_token, provider, path)
    gcloud = shutil.which("gcloud", path=env.get("PATH", os.environ.get("PATH")))
    if gcloud is None:
        raise MissingExtra(
            f"{provider.name} needs a Google access token: set GOOGLE_APPLICATION_CREDENTIALS to a credentials "
            "file (with pip install 'vexy[gcp]'), or install the gcloud CLI and run 'gcloud auth login'"
        )
    try:
        with anyio.fail_after(GCLOUD_TIMEOUT):
            done = await anyio.run_process([gcloud, "auth", "print-access-token"], check=False)
    except TimeoutError:
        raise FetchError(f"'gcloud auth print-access-token' gave no token within {GCLOUD_TIMEOUT:g}s") from None
    token = done.stdout.decode("utf-8", "replace").strip()
    if done.returncode != 0 or not token:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise FetchError(f"'gcloud auth print-access-token' failed: {reason} - run 'gcloud auth login'")
    return token.splitlines()[-1].strip()


def _google_auth_token(provider: ProviderConfig, path: str) -> str:
    try:
        import google.auth.exceptions
        from google.auth.transport.requests import Request
        from google.oauth2 import credentials as user_credentials
        from google.oauth2 import service_account
    except ImportError:
        raise MissingExtra(
            f"{provider.name} reads GOOGLE_APPLICATION_CREDENTIALS through google-auth: pip install 'vexy[gcp]'"
        ) from None
    import json

    where = f"GOOGLE_APPLICATION_CREDENTIALS ({path})"
    try:
        with open(path, encoding="utf-8") as f:
            kind = json.load(f).get("type")
        # Each credential type through its own loader: a file of another type is refused, not run.
        if kind == "service_account":
            credentials = service_account.Credentials.from_service_account_file(path, scopes=[GOOGLE_SCOPE])
        elif kind == "authorized_user":
            credentials = user_credentials.Credentials.from_authorized_user_file(path, scopes=[GOOGLE_SCOPE])
        else:
            raise FetchError(
                f"{where} holds credentials of type {kind!r}: vexy reads service_account and authorized_user "
                "files; for other types unset it and use the gcloud CLI"
            )
        credentials.refresh(Request())
    except (google.auth.exceptions.GoogleAuthError, OSError, ValueError, AttributeError) as e:
        raise FetchError(f"no Google access token from {where}: {e}") from None
    token = getattr(credentials, "token", None)
    if not token:
        raise FetchError(f"no Google access token from {where}")
    return str(token)
