"""Throwaway TLS material for the fake Kubernetes API server, made with the ``openssl`` command.

kubectl (client-go) sends bearer tokens only over TLS, so every test that authenticates kubectl
needs an HTTPS server whose certificate kubectl trusts. We make a private CA and a server
certificate for ``127.0.0.1`` / ``localhost`` at test time: nothing is committed, nothing lives
longer than the temporary directory it is written to. The ``openssl`` binary (not the Python
``cryptography`` package) makes them so the certificates are produced by an independent peer tool.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the generated PEM files; ``ca_pem`` is what a kubeconfig embeds."""

    ca_cert: Path
    server_cert: Path
    server_key: Path

    @property
    def ca_pem(self) -> bytes:
        return self.ca_cert.read_bytes()


def _openssl(*args: str, cwd: Path) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise RuntimeError("the openssl command is needed to make test certificates")
    subprocess.run([binary, *args], cwd=cwd, check=True, capture_output=True)


def make_tls_files(directory: Path, *, days: int = 2, dns_names: tuple[str, ...] = ()) -> TlsFiles:
    """Create a CA and a server certificate (SAN ``IP:127.0.0.1``, ``DNS:localhost``) in ``directory``.

    ``dns_names`` adds SAN entries: the cloud fakes serve real-looking host names such as
    ``*.vault.azure.net`` through a local CONNECT proxy, and the SDKs check the name.

    P-256 keys keep this fast (well under a second); Go's TLS stack accepts them.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ext = directory / "server.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost" + "".join(f",DNS:{name}" for name in dns_names) + "\n"
    )
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")
    _openssl(
        "req",
        "-x509",
        *curve,
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        str(days),
        "-subj",
        "/CN=sopskit-test-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )
    _openssl(
        "req",
        "-new",
        *curve,
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
        cwd=directory,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        str(days),
        "-extfile",
        ext.name,
        cwd=directory,
    )
    return TlsFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key")
