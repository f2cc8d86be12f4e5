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
) -> None:
    """Serve the Enforcement gRPC service until stopped."""
    from backend.server import serve as run_server

    run_server(_config(config, database_url, host=host, port=port))


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
    """Load demo permits that match some plates of the demo clip and not others."""
    from backend.permits.demo import DEMO_PLATES, load_demo_seed
    from backend.permits.demo import seed_demo as seed
    from backend.storage.base import utc_now
    from backend.storage.engine import make_engine, make_session_factory
    from backend.storage.migrate import upgrade_to_head

    engine = make_engine(_config(config, database_url).database_url)
    upgrade_to_head(engine)
    result = load_demo_seed(plates or DEMO_PLATES)
    with make_session_factory(engine)() as session:
        seed(session, utc_now(), result)
    typer.echo(f"permitted: {' '.join(result.permitted)}")
    typer.echo(f"expired:   {' '.join(result.expired)}")
    typer.echo(f"no permit: {' '.join(result.unpermitted)}")
