"""`platepatrol backend ...`: serve, migrate, add devices, seed the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.config import DATABASE_URL_ENV, BackendConfig, load_backend_config

app = typer.Typer(help="The office: the enforcement service and its database.", no_args_is_help=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", help="backend YAML config", exists=False)]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", envvar=DATABASE_URL_ENV, help="SQLAlchemy URL (default: embedded SQLite file)"),
]


def _config(config: Path | None, database_url: str | None, **overrides: object) -> BackendConfig:
    return load_backend_config(config, database_url=database_url, **overrides)


@app.command()
def serve(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="gRPC port (default 50051; 0 picks a free one)")] = None,
    web_port: Annotated[
        int | None, typer.Option(help="web pages' port (default 8080; 0 picks a free one)", min=0, max=65535)
    ] = None,
    processes: Annotated[int | None, typer.Option(help="serving processes on the gRPC port (default 1)")] = None,
) -> None:
    """Serve the Enforcement gRPC service and the web pages until stopped."""
    from backend.server import serve as run_server

    settings = _config(config, database_url, host=host, port=port, processes=processes)
    if web_port is not None:
        settings = settings.model_copy(update={"web": settings.web.model_copy(update={"port": web_port})})
    run_server(settings)


@app.command()
def migrate(config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """Bring the database schema to the newest revision."""
    from backend.storage.engine import make_engine
    from backend.storage.migrate import upgrade_to_head

    upgrade_to_head(make_engine(_config(config, database_url).database_url))
    typer.echo("database schema is at head")


@app.command("add-device")
def add_device(
    name: Annotated[str, typer.Argument(help="the patrol car's name, e.g. car-17")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Register a device and print its token. The token is shown this once and stored only hashed."""
    from backend.devices.tokens import add_device as register
    from backend.storage.engine import make_engine, make_session_factory
    from backend.storage.migrate import upgrade_to_head

    engine = make_engine(_config(config, database_url).database_url)
    upgrade_to_head(engine)
    with make_session_factory(engine)() as session:
        token = register(session, name)
        session.commit()
    typer.echo(token)


@app.command("seed-demo")
def seed_demo(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    plates: Annotated[Path | None, typer.Option(help="CSV of the demo clip's plates")] = None,
) -> None:
    """Load demo permits that match some plates of the demo clip and not others, and the demo city around them:
    zones, permit types, residents with vehicles and permits, past review decisions, and the demo accounts
    (admin, supervisor, officer, holder) with new passwords, printed."""
    from backend.permits.demo import DEMO_PLATES, load_demo_seed
    from backend.permits.demo import seed_demo as seed
    from backend.permits.demo_city import describe, seed_city
    from backend.storage.base import utc_now
    from backend.storage.engine import make_engine, make_session_factory
    from backend.storage.migrate import upgrade_to_head

    engine = make_engine(_config(config, database_url).database_url)
    upgrade_to_head(engine)
    result = load_demo_seed(plates or DEMO_PLATES)
    with make_session_factory(engine)() as session:
        now = utc_now()
        seed(session, now, result)
        city = seed_city(session, now, result)
    typer.echo(f"permitted: {' '.join(result.permitted)}")
    typer.echo(f"expired:   {' '.join(result.expired)}")
    typer.echo(f"no permit: {' '.join(result.unpermitted)}")
    for line in describe(city):
        typer.echo(line)


@app.command("as-of")
def as_of(
    plate: Annotated[str, typer.Argument(help="the plate, as read or typed")],
    moment: Annotated[str, typer.Argument(metavar="TIME", help="ISO 8601, e.g. 2026-11-25T14:30:00+02:00")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Was PLATE permitted at TIME, as the permit records stood then? Replays the revision history."""
    from datetime import datetime

    from backend.enforcement.wire import plate_from_text
    from backend.permits.history import decide_as_of
    from backend.storage.engine import make_engine, make_session_factory
    from platepatrol.errors import UserError

    try:
        at = datetime.fromisoformat(moment)
    except ValueError:
        raise UserError(f"TIME {moment!r} is not an ISO 8601 time like 2026-11-25T14:30:00+02:00") from None
    if at.tzinfo is None:
        raise UserError(f"TIME {moment!r} needs a UTC offset (e.g. +00:00): a local time is ambiguous")
    try:
        normalised = plate_from_text(plate)
    except ValueError as problem:
        raise UserError(str(problem)) from None
    engine = make_engine(_config(config, database_url).database_url)
    with make_session_factory(engine)() as session:
        decision, permits = decide_as_of(session, normalised, at)
    typer.echo(f"{decision.outcome.value} {decision.reason.value}: {decision.sentence}")
    for permit in permits:
        state = "active" if permit.active else "suspended/revoked"
        typer.echo(
            f"  permit {permit.code} revision {permit.revision}: {permit.valid_from.isoformat()} to "
            f"{permit.valid_until.isoformat()}, {state}"
        )


@app.command()
def purge(config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """Delete the reads the retention policy no longer allows us to keep (serve also does this on a schedule)."""
    from backend.enforcement.retention import purge_expired
    from backend.storage.base import utc_now
    from backend.storage.engine import make_engine, make_session_factory

    settings = _config(config, database_url)
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        count = purge_expired(session, utc_now(), settings.retention.keep_for)
    typer.echo(f"purged {count} reads older than {settings.retention.keep_reads_hours:g} h")
