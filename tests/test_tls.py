"""Provider requests verify the provider's certificate: one no certificate authority signed fails
the fetch (tests/fake_providers.py serves https with a given server context)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from conftest import answer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fake_providers import FakeProviders, Route

from vexy_catalog.catalog import ModelCatalog


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context whose certificate for 127.0.0.1 no certificate authority signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.fixture
def https_server(tmp_path: Path):
    with FakeProviders(tls=_self_signed(tmp_path)) as server:
        yield server


def test_a_provider_whose_certificate_does_not_verify_fails(https_server, tmp_path, no_internet):
    https_server.set("openrouter", Route(body=answer("openrouter")))
    providers_file = tmp_path / "providers.yaml"
    providers_file.write_text(https_server.providers_yaml(), encoding="utf-8")
    assert https_server.base_url("openrouter").startswith("https://127.0.0.1:")
    summary = ModelCatalog(db_path=tmp_path / "vexy.db", providers_file=providers_file).fetch(["openrouter"])
    (row,) = summary.fetches
    assert row["status"] == "failed"
    assert "CERTIFICATE_VERIFY_FAILED" in row["error"], row["error"]
