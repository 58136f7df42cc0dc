"""The JWT signing keys: RS256, a private key only in accounts_service, public keys everywhere.

Production passes PEM text (JWT_PRIVATE_KEY / JWT_PUBLIC_KEY) or file paths (..._FILE). Several
public keys may be given, concatenated, to rotate keys: tokens name theirs by `kid`. The embedded
default generates one pair under var/jwt/ the first time any service starts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# cryptography is imported only where a key is made or a private key read: settings load the
# public keys in every process, and most (consumers, workers, beats) never verify a token;
# cryptography costs each about 10 MiB RSS.

_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


def write_once(path: Path, content: bytes, mode: int = 0o600) -> bool:
    """Create `path` with `content` unless it exists; atomic, so concurrent first starts agree."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.chmod(tmp, mode)
    try:
        os.link(tmp, path)  # fails if another process won the race; then theirs is used
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def key_id(public_pem: str) -> str:
    """The first 12 bytes of the SHA-256 of the key's DER SubjectPublicKeyInfo, which is what a
    `BEGIN PUBLIC KEY` PEM block holds, base64-encoded."""
    body = re.sub(r"-----[A-Z ]+-----|\s", "", public_pem)
    try:
        der = base64.b64decode(body, validate=True)
    except binascii.Error:
        raise ImproperlyConfigured("a JWT public key is not valid PEM (bad base64)") from None
    if der[:1] != b"\x30":  # a DER SEQUENCE, as every SubjectPublicKeyInfo is
        raise ImproperlyConfigured("a JWT public key is not a DER SubjectPublicKeyInfo")
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode().rstrip("=")


def embedded_keypair(var: Path) -> tuple[Path, Path]:
    private_path, public_path = var / "jwt" / "private.pem", var / "jwt" / "public.pem"
    if private_path.exists() and public_path.exists():
        return private_path, public_path
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not private_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_once(private_path, private_pem)
    if not public_path.exists():
        private = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        write_once(public_path, public_pem, mode=0o644)
    return private_path, public_path


def _from_env(name: str) -> str | None:
    if os.environ.get(name):
        return os.environ[name].replace("\\n", "\n")
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text()
    return None


def _embedded_allowed() -> bool:
    return os.environ.get("EMBEDDED_DEFAULTS", "1").lower() not in {"0", "false", "no", "off"}


def load_public_keys(var: Path) -> dict[str, str]:
    """kid -> PEM of every public key tokens may be signed with."""
    text = _from_env("JWT_PUBLIC_KEY")
    if text is None:
        if not _embedded_allowed():
            raise ImproperlyConfigured("set JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE")
        text = embedded_keypair(var)[1].read_text()
    blocks = _PEM_BLOCK.findall(text)
    if not blocks:
        raise ImproperlyConfigured("JWT_PUBLIC_KEY holds no PEM public key")
    return {key_id(block): block for block in blocks}


def load_private_key(var: Path) -> tuple[str, str]:
    """(kid, PEM) of the key accounts_service signs with."""
    text = _from_env("JWT_PRIVATE_KEY")
    if text is None:
        if not _embedded_allowed():
            raise ImproperlyConfigured("set JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE")
        text = embedded_keypair(var)[0].read_text()
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(text.encode(), password=None)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return key_id(public_pem), text
