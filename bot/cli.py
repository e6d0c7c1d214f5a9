"""`vizdots` command line: the operator's and cron's entry point."""

from __future__ import annotations

import logging
import sys

import typer

from bot.settings import Settings, SettingsError, load_settings

app = typer.Typer(
    help="VizDots: scheduled AI check-ins in Slack, Teams and email.", no_args_is_help=True
)


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        raise typer.Exit(code=2) from None
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    return settings


@app.command()
def migrate() -> None:
    """Upgrade the database schema to head and seed the global agents (idempotent)."""
    from core.store.migrate import upgrade_to_head

    settings = settings_or_exit()
    revision = upgrade_to_head(settings.database_url)
    print(f"database at revision {revision}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Serve the HTTP API (and, by default, the in-process planning/delivery loop)."""
    import uvicorn

    from bot.app import create_app
    from bot.bootstrap import build_services

    settings = settings_or_exit()
    settings.log_disabled_integrations()
    uvicorn.run(create_app(build_services(settings)), host=host, port=port, log_level="info")
