"""How the car reaches the office: one place that opens gRPC channels, plaintext or TLS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from platepatrol.errors import UserError

OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)


@dataclass(frozen=True)
class Link:
    target: str  # HOST:PORT
    token: str
    root_certificates: bytes | None = None  # PEM; None: plaintext (loopback and tests only)

    @classmethod
    def to(cls, target: str, token: str, tls_ca: Path | None = None) -> Link:
        if tls_ca is None:
            return cls(target, token)
        try:
            return cls(target, token, tls_ca.read_bytes())
        except OSError as error:
            raise UserError(f"cannot read the backend's CA certificate {tls_ca}: {error.strerror}") from None

    @property
    def metadata(self) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {self.token}"),)

    def channel(self) -> grpc.Channel:
        """A channel with a connection of its own (not shared with an earlier channel's): a new channel after a
        refused stream is a new connection, which the office's kernel may hand to another serving process."""
        if self.root_certificates is None:
            return grpc.insecure_channel(self.target, options=OWN_CONNECTION)
        credentials = grpc.ssl_channel_credentials(self.root_certificates)
        return grpc.secure_channel(self.target, credentials, options=OWN_CONNECTION)
