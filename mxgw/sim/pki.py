"""A throw-away test PKI in pure Python (standard library only).

Locked-down hosts may have neither a C extension nor an `openssl` binary, so the CA, server
and client certificates are built here by hand: RSA-2048 keys (Miller-Rabin over `secrets`),
X.509 v3 certificates in DER, sha256WithRSAEncryption (PKCS#1 v1.5) signatures, PKCS#8 PEM
keys. Python's `ssl` accepts them under OpenSSL's default security level (RSA >= 2048).

    pki = write_test_pki("/tmp/pki", hosts=["gateway.test"], client=True)
    pki.ca_cert, pki.server_cert, pki.server_key, pki.client_cert, pki.client_key  # paths

`mxgw.sim.tls.server_context` makes a server SSL context of such a pair. Key generation
costs a fraction of a second to a few seconds of CPU per key; it blocks the caller, so do
it at start-up, before serving.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import ipaddress
import math
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

KEY_BITS = 2048
PUBLIC_EXPONENT = 65537

# ---------------------------------------------------------------------------- DER encoding


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _length(len(body)) + body


def _integer(value: int) -> bytes:
    if value < 0:
        raise ValueError("negative INTEGER not needed here")
    # one extra byte when the top bit is set keeps the two's-complement value positive
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _sequence(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _set(*items: bytes) -> bytes:
    return _tlv(0x31, b"".join(sorted(items)))  # DER: SET OF sorted by encoding


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _null() -> bytes:
    return b"\x05\x00"


def _boolean(value: bool) -> bytes:
    return b"\x01\x01" + (b"\xff" if value else b"\x00")


def _bit_string(data: bytes, unused_bits: int = 0) -> bytes:
    return _tlv(0x03, bytes([unused_bits]) + data)


def _octet_string(data: bytes) -> bytes:
    return _tlv(0x04, data)


def _utf8(text: str) -> bytes:
    return _tlv(0x0C, text.encode("utf-8"))


def _explicit(number: int, body: bytes) -> bytes:
    return _tlv(0xA0 | number, body)


def _time(moment: _dt.datetime) -> bytes:
    moment = moment.astimezone(_dt.timezone.utc)
    if 1950 <= moment.year < 2050:  # RFC 5280: UTCTime until 2049, GeneralizedTime after
        return _tlv(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())
    return _tlv(0x18, moment.strftime("%Y%m%d%H%M%SZ").encode())


def _pem(label: str, der: bytes) -> str:
    text = base64.b64encode(der).decode("ascii")
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


# ---------------------------------------------------------------------------- RSA

def _odd_primes_below(bound: int) -> list[int]:
    sieve = bytearray([1]) * bound
    sieve[:2] = b"\x00\x00"
    for i in range(2, int(bound**0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytearray(len(range(i * i, bound, i)))
    return [i for i in range(3, bound) if sieve[i]]


# one gcd with the product of the odd primes below 10000 rejects ~88% of odd candidates
_SMALL_PRIMES_PRODUCT = math.prod(_odd_primes_below(10_000))


def _probably_prime(n: int, rounds: int) -> bool:
    """Miller-Rabin with random bases, for odd n far above the small primes."""
    if math.gcd(n, _SMALL_PRIMES_PRODUCT) != 1:
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        a = 2 + secrets.randbelow(n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int) -> int:
    """A random prime of exactly `bits` bits with the top two set (so p*q has 2*bits bits)."""
    top = 0b11 << (bits - 2)
    while True:
        candidate = secrets.randbits(bits) | top | 1
        # 5 rounds bound the error below 2**-100 for random 1024-bit candidates (FIPS 186-4 C.3)
        if (candidate - 1) % PUBLIC_EXPONENT and _probably_prime(candidate, 5):
            return candidate


@dataclass(frozen=True, repr=False)
class RsaKey:
    """An RSA private key (n, e, d and the CRT parts)."""

    n: int
    e: int
    d: int
    p: int
    q: int

    def __repr__(self) -> str:
        return f"RsaKey({self.n.bit_length()} bits, <private>)"

    @classmethod
    def generate(cls, bits: int = KEY_BITS) -> RsaKey:
        """A fresh key of `bits` bits (blocks for the time the primes take)."""
        while True:
            p, q = _prime(bits // 2), _prime(bits // 2)
            if p == q:
                continue
            n = p * q
            phi = (p - 1) * (q - 1)
            d = pow(PUBLIC_EXPONENT, -1, phi)
            if n.bit_length() == bits:
                return cls(n, PUBLIC_EXPONENT, d, max(p, q), min(p, q))

    def public_der(self) -> bytes:
        """SubjectPublicKeyInfo."""
        return _sequence(
            _sequence(_oid("1.2.840.113549.1.1.1"), _null()),
            _bit_string(_sequence(_integer(self.n), _integer(self.e))),
        )

    def pkcs1_der(self) -> bytes:
        """RSAPrivateKey (PKCS#1)."""
        p, q, d = self.p, self.q, self.d
        return _sequence(*(_integer(v) for v in (
            0, self.n, self.e, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))))

    def pkcs8_der(self) -> bytes:
        """PrivateKeyInfo (PKCS#8) wrapping the PKCS#1 key."""
        return _sequence(_integer(0), _sequence(_oid("1.2.840.113549.1.1.1"), _null()),
                         _octet_string(self.pkcs1_der()))

    def pem(self) -> str:
        """The key as PKCS#8 PEM (`BEGIN PRIVATE KEY`)."""
        return _pem("PRIVATE KEY", self.pkcs8_der())

    def key_id(self) -> bytes:
        """A 20-byte key identifier (truncated SHA-256 of the public key)."""
        return hashlib.sha256(_sequence(_integer(self.n), _integer(self.e))).digest()[:20]

    def sign_sha256(self, data: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 signature with SHA-256."""
        digest_info = bytes.fromhex("3031300d060960864801650304020105000420")
        t = digest_info + hashlib.sha256(data).digest()
        size = (self.n.bit_length() + 7) // 8
        encoded = b"\x00\x01" + b"\xff" * (size - len(t) - 3) + b"\x00" + t
        m = int.from_bytes(encoded, "big")
        # CRT: two half-size exponentiations instead of one full-size one
        p, q, d = self.p, self.q, self.d
        m1, m2 = pow(m, d % (p - 1), p), pow(m, d % (q - 1), q)
        s = m2 + q * ((pow(q, -1, p) * (m1 - m2)) % p)
        if pow(s, self.e, self.n) != m:
            raise ArithmeticError("RSA signature self-check failed")
        return s.to_bytes(size, "big")


# ---------------------------------------------------------------------------- X.509

_SHA256_RSA = _sequence(_oid("1.2.840.113549.1.1.11"), _null())
_SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"


def _name(common_name: str) -> bytes:
    return _sequence(
        _set(_sequence(_oid("2.5.4.10"), _utf8("mxgw test PKI"))),
        _set(_sequence(_oid("2.5.4.3"), _utf8(common_name))),
    )


def _extension(oid: str, value: bytes, critical: bool = False) -> bytes:
    parts = [_oid(oid)] + ([_boolean(True)] if critical else []) + [_octet_string(value)]
    return _sequence(*parts)


def _san(names: Iterable[str]) -> bytes:
    entries = []
    for name in names:
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            entries.append(_tlv(0x82, name.encode("idna")))  # [2] dNSName
        else:
            entries.append(_tlv(0x87, address.packed))  # [7] iPAddress
    return _sequence(*entries)


def _certificate(
    subject_cn: str,
    key: RsaKey,
    issuer_cn: str,
    issuer_key: RsaKey,
    extensions: list[bytes],
    days: int,
) -> bytes:
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    serial = int.from_bytes(secrets.token_bytes(16), "big") >> 1 or 1  # positive, <= 16 bytes
    tbs = _sequence(
        _explicit(0, _integer(2)),  # v3
        _integer(serial),
        _SHA256_RSA,
        _name(issuer_cn),
        _sequence(_time(now - _dt.timedelta(hours=1)), _time(now + _dt.timedelta(days=days))),
        _name(subject_cn),
        key.public_der(),
        _explicit(3, _sequence(
            _extension("2.5.29.14", _octet_string(key.key_id())),  # subjectKeyIdentifier
            _extension("2.5.29.35", _sequence(_tlv(0x80, issuer_key.key_id()))),  # authorityKeyId
            *extensions,
        )),
    )
    return _sequence(tbs, _SHA256_RSA, _bit_string(issuer_key.sign_sha256(tbs)))


def ca_certificate(key: RsaKey, common_name: str, days: int = 365) -> bytes:
    """A self-signed CA certificate (DER)."""
    return _certificate(common_name, key, common_name, key, [
        _extension("2.5.29.19", _sequence(_boolean(True)), critical=True),  # CA:TRUE
        _extension("2.5.29.15", _bit_string(b"\x06", 1), critical=True),  # keyCertSign, cRLSign
    ], days)


def leaf_certificate(
    key: RsaKey,
    common_name: str,
    ca_key: RsaKey,
    ca_name: str,
    *,
    names: Iterable[str] = (),
    server: bool = True,
    days: int = 30,
) -> bytes:
    """An end-entity certificate (DER) signed by the CA: server (SANs `names`) or client."""
    extensions = [
        _extension("2.5.29.19", _sequence(), critical=True),  # CA:FALSE
        _extension("2.5.29.15", _bit_string(b"\xa0", 5), critical=True),  # digSig, keyEnc
        _extension("2.5.29.37", _sequence(_oid(_SERVER_AUTH if server else _CLIENT_AUTH))),
    ]
    names = list(names)
    if names:
        extensions.append(_extension("2.5.29.17", _san(names)))
    return _certificate(common_name, key, ca_name, ca_key, extensions, days)


def certificate_pem(der: bytes) -> str:
    """A DER certificate as PEM."""
    return _pem("CERTIFICATE", der)


# ---------------------------------------------------------------------------- files

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")

_leaf_keys: dict[tuple[str, int], RsaKey] = {}


def _leaf_key(role: str, bits: int) -> RsaKey:
    """The process's key for server or client certificates: generated once, reused.

    Every PKI still gets its own freshly generated CA key and a CA name of its own, so a
    certificate of one PKI never verifies against another PKI's CA.
    """
    key = _leaf_keys.get((role, bits))
    if key is None:
        key = _leaf_keys[(role, bits)] = RsaKey.generate(bits)
    return key


@dataclass(frozen=True)
class Pki:
    """Paths of a written test PKI (the client pair only when asked for)."""

    directory: str
    ca_cert: str
    server_cert: str
    server_key: str
    client_cert: str | None = None
    client_key: str | None = None


def _write(path: Path, text: str, secret: bool = False) -> str:
    if secret:  # a private key: owner-only from the start
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="ascii")
    return str(path)


def write_test_pki(
    directory: str | os.PathLike[str],
    hosts: Iterable[str] = (),
    *,
    client: bool = False,
    only_hosts: bool = False,
    key_bits: int = KEY_BITS,
) -> Pki:
    """Generate a CA, a server certificate and optionally a client certificate into `directory`.

    The server certificate names localhost, 127.0.0.1, ::1 and `hosts` (only `hosts` with
    `only_hosts=True`). Files: ca.pem, server.pem, server.key, client.pem, client.key.
    Each call makes a new CA (fresh key); the server and client keys are generated once per
    process and reused. Blocks the caller for the key generation: about 0.3-1 s per RSA-2048
    key on one core, so ~1-3 s on the first call and ~0.3-1 s on later ones.
    """
    names = list(dict.fromkeys(list(hosts) if only_hosts else [*DEFAULT_HOSTS, *hosts]))
    if not names:
        raise ValueError("the server certificate needs at least one host name")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = RsaKey.generate(key_bits)
    ca_name = f"mxgw test CA {secrets.token_hex(4)}"
    ca_der = ca_certificate(ca_key, ca_name)
    server_key = _leaf_key("server", key_bits)
    server_der = leaf_certificate(server_key, names[0], ca_key, ca_name, names=names)
    ca_path = _write(folder / "ca.pem", certificate_pem(ca_der))
    # the chain file carries the server certificate only: clients trust the CA itself
    pki = Pki(
        str(folder), ca_path,
        _write(folder / "server.pem", certificate_pem(server_der)),
        _write(folder / "server.key", server_key.pem(), secret=True),
    )
    if not client:
        return pki
    client_key = _leaf_key("client", key_bits)
    client_der = leaf_certificate(client_key, "mxgw test client", ca_key, ca_name, server=False)
    return Pki(
        pki.directory, pki.ca_cert, pki.server_cert, pki.server_key,
        _write(folder / "client.pem", certificate_pem(client_der)),
        _write(folder / "client.key", client_key.pem(), secret=True),
    )
