"""The backend's one strict config, built at start-up from an optional YAML file, flags and the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from platepatrol.config import StrictModel, load_config

DEFAULT_DATABASE_URL = "sqlite:///var/platepatrol.db"
# The database URL may hold a password, so production passes it in the environment, never in a file.
DATABASE_URL_ENV = "PLATEPATROL_DATABASE_URL"


class ReadLimits(StrictModel):
    """What a read must respect to be answered; anything outside gets an ERROR verdict for that read."""

    max_crop_bytes: int = Field(default=256 * 1024, gt=0)
    max_context_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    max_future_skew_s: float = Field(default=300.0, ge=0, description="how far in the future a capture may be")
    max_age_days: float = Field(default=30.0, gt=0, description="older captures are refused as impossible")
    max_alternatives: int = Field(default=10, ge=0)
    max_reads_per_batch: int = Field(default=1000, ge=1, description="reads past this in one batch are refused")


class EnforcementPolicy(StrictModel):
    """The city's rules of judgement; the rules themselves are in `platepatrol.verdicts`."""

    review_below_confidence: float = Field(default=0.5, ge=0.0, le=1.0, description="weaker reads go to a person")
    grace_minutes: float = Field(default=0.0, ge=0.0, le=24 * 60, description="a permit counts this long after it ends")
    max_lookalike_changes: int = Field(default=2, ge=0, le=3, description="look-alike swaps tried per plate")
    overtime_distance_m: float = Field(default=25.0, gt=0, description="a plate seen again this close is still there")
    overtime_lookback_hours: float = Field(default=24.0, gt=0, le=24 * 7)

    @property
    def grace(self) -> timedelta:
        return timedelta(minutes=self.grace_minutes)

    @property
    def overtime_lookback(self) -> timedelta:
        return timedelta(hours=self.overtime_lookback_hours)


class RetentionPolicy(StrictModel):
    keep_reads_hours: float = Field(
        default=72.0, gt=0, description="reads that led to no violation are deleted after this long"
    )
    purge_every_minutes: float = Field(default=60.0, gt=0, description="how often the backend purges")

    @property
    def keep_for(self) -> timedelta:
        return timedelta(hours=self.keep_reads_hours)


DEFAULT_REJECT_REASONS = {
    "misread": "The plate was read wrongly",
    "permit_shown": "A valid permit was displayed",
    "not_parked": "The vehicle was not parked (stopped in traffic, loading)",
    "exempt_vehicle": "An exempt vehicle (emergency, disability badge, utility)",
    "signage": "The zone's signs were missing or unclear",
    "other": "Another reason (see the note)",
}


class WebConfig(StrictModel):
    """The permit office on the web: portal, admin console and review queue."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535, description="0 picks a free port")
    base_url: str = Field(default="", description="public address for links in mail; empty: http://host:port")
    timezone: str = Field(default="UTC", description="the city's time zone (IANA): dates on pages, permit periods")
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    secure_cookies: bool = Field(default=False, description="mark cookies Secure: set it when served over HTTPS")
    reset_link_minutes: float = Field(default=30.0, gt=0, le=24 * 60)
    mail_dir: Path = Field(default=Path("var/mail"), description="the development mailer writes .eml files here")
    payment_provider: str = Field(default="sandbox", pattern=r"^sandbox$", description="only the sandbox ships")
    waitlist_offer_hours: float = Field(default=48.0, gt=0, description="how long a waitlist offer is held")
    chores_every_minutes: float = Field(
        default=15.0, gt=0, description="how often pending payments, waitlist offers and renewal reminders are done"
    )
    citation_amount_minor: int = Field(default=5000, ge=0, description="the fine on a citation, minor units")
    reject_reasons: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_REJECT_REASONS),
        description="supervisors' reasons for rejecting a flagged read: code -> label",
    )

    @model_validator(mode="after")
    def _checks(self) -> WebConfig:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {self.timezone!r} is not an IANA time zone like Europe/Paris") from None
        if not self.reject_reasons:
            raise ValueError("reject_reasons needs at least one reason")
        return self


class BackendConfig(StrictModel):
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(default=50051, ge=0, le=65535, description="0 picks a free port")
    workers: int = Field(default=16, ge=1, le=256, description="threads serving gRPC calls")
    processes: int = Field(
        default=1, ge=1, le=64, description="serving processes sharing the gRPC port: Python uses one core per process"
    )
    auto_migrate: bool = Field(default=True, description="bring the schema to head at start-up")
    permit_mirror: bool = Field(
        default=True,
        description="keep the permit data in memory while the permit clock says it is current (less work a verdict)",
    )
    policy: EnforcementPolicy = EnforcementPolicy()
    retention: RetentionPolicy = RetentionPolicy()
    tls_cert: Path | None = Field(default=None, description="PEM certificate chain: serve TLS instead of plaintext")
    tls_key: Path | None = Field(default=None, description="PEM private key of tls_cert")

    @model_validator(mode="after")
    def _checks(self) -> BackendConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        # Overtime needs the earlier, permitted reads of a stay: keep them at least as long as it looks back.
        if self.retention.keep_reads_hours < self.policy.overtime_lookback_hours:
            raise ValueError(
                f"retention.keep_reads_hours ({self.retention.keep_reads_hours:g}) must be at least "
                f"policy.overtime_lookback_hours ({self.policy.overtime_lookback_hours:g})"
            )
        return self

    watch_poll_s: float = Field(default=0.5, gt=0, le=60, description="how often permit watchers look for changes")
    limits: ReadLimits = ReadLimits()
    web: WebConfig = WebConfig()


def load_backend_config(path: Path | None = None, **overrides: Any) -> BackendConfig:
    env_url = os.environ.get(DATABASE_URL_ENV)
    if env_url and overrides.get("database_url") is None:
        overrides["database_url"] = env_url
    return load_config(BackendConfig, path, overrides)
