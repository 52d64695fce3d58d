"""The TLS context a fetch prepares on a thread as it starts (vexy_catalog.tlscontext) is the one
httpx would build for the fetch's client, is taken by one client only, and a failed build leaves
the client to build its own."""

from __future__ import annotations

import ssl

import certifi
import httpx
import pytest

from vexy_catalog import tlscontext
from vexy_catalog.fetch import ModelFetcher


@pytest.fixture(autouse=True)
def nothing_pending():
    tlscontext.take()  # a context another test prepared and left
    yield
    tlscontext.take()


def _described(context: ssl.SSLContext) -> dict:
    return {
        "protocol": context.protocol,
        "verify_mode": context.verify_mode,
        "check_hostname": context.check_hostname,
        "options": context.options,
        "verify_flags": context.verify_flags,
        "minimum_version": context.minimum_version,
        "maximum_version": context.maximum_version,
        "ca_certs": context.get_ca_certs(),
        "stats": context.cert_store_stats(),
    }


def test_the_prepared_context_is_the_one_httpx_builds_for_the_client(monkeypatch, tmp_path):
    # The client ignores the environment's certificate settings (trust_env=False); so does the
    # prepared context.
    other = tmp_path / "other.pem"
    other.write_text("not a certificate", encoding="utf-8")
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    ours = tlscontext.build()
    theirs = httpx.create_ssl_context(verify=True, trust_env=False)
    assert _described(ours) == _described(theirs)
    assert _described(ours)["stats"]["x509_ca"] > 0


def test_a_fetch_client_takes_the_prepared_context_once():
    tlscontext.prepare()
    tlscontext.prepare()  # one build at a time: the second call finds the first under way
    client = ModelFetcher()._new_client()
    assert tlscontext.take() is None  # the client took it
    second = ModelFetcher()._new_client()  # builds its own, as without a prepared one
    assert isinstance(client, httpx.AsyncClient) and isinstance(second, httpx.AsyncClient)
    tlscontext.prepare()
    prepared = tlscontext.take()
    assert isinstance(prepared, ssl.SSLContext)
    assert tlscontext.take() is None


def test_a_failed_build_keeps_nothing_and_the_client_builds_its_own(monkeypatch, tmp_path):
    monkeypatch.setattr(certifi, "where", lambda: str(tmp_path / "missing.pem"))
    tlscontext.prepare()
    assert tlscontext.take() is None
    monkeypatch.undo()
    client = ModelFetcher()._new_client()
    assert isinstance(client, httpx.AsyncClient)
