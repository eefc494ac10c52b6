"""`seqstore serve --tls-cert --tls-key`: HTTPS with the operator's certificate, which boto3
verifies; the banner's lines say https; a certificate without its key is refused in one line."""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers.commands import banner_values, first_store
from tests.helpers.paths import ROOT
from tests.helpers.ports import free_port


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as an operator would make for a test."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


def serve(*options: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQSTORE_")}
    return subprocess.Popen(
        [sys.executable, "-m", "seqstore.cli", "serve", "--ephemeral", "--log-level", "warning", *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env,
    )  # fmt: skip


def test_https_with_the_operators_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    process = serve("--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        values = banner_values(process)
        assert values["AWS_ENDPOINT_URL_OMICS"] == f"https://127.0.0.1:{port}"
        client = boto3.client(
            "omics", endpoint_url=values["AWS_ENDPOINT_URL_OMICS"], region_name="us-east-1", verify=str(cert),
            aws_access_key_id=values["AWS_ACCESS_KEY_ID"], aws_secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
            config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}),
        )  # fmt: skip
        store = first_store(client, "over-tls")
        assert client.get_sequence_store(id=store["id"])["name"] == "over-tls"
        client.close()  # its keep-alive connection would hold the server's graceful shutdown
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    process = serve("--port", str(free_port()), "--tls-cert", str(cert))
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2 and "--tls-cert and --tls-key go together" in output
    assert "Traceback" not in output
