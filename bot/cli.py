"""`vizdots` command line: the operator's and cron's entry point."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.bootstrap import Services


class Cli(typer.Typer):
    """Typer, but a mistake on the command line is one line on stderr (what was wrong and
    where to read more) and exit 2, not a framed usage box. `vizdots` alone shows help."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        bare = not kwargs.get("args", sys.argv[1:])
        if bare or kwargs.get("standalone_mode", True) is False:
            return super().__call__(*args, **kwargs)
        try:
            code = super().__call__(*args, **{**kwargs, "standalone_mode": False})
        except typer.TyperException as error:  # typer's usage errors (its own click)
            print(one_line(error), file=sys.stderr)
            sys.exit(getattr(error, "exit_code", 2))
        except typer.Abort:
            print("aborted", file=sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def one_line(error: typer.TyperException) -> str:
    message = " ".join(error.format_message().split())
    context = getattr(error, "ctx", None)
    if context is None:
        return f"error: {message}"
    return f"{context.command_path}: {message} (see `{context.command_path} --help`)"


app = Cli(help="VizDots: scheduled AI check-ins in Slack, Teams and email.", no_args_is_help=True)
T = TypeVar("T")
NOW = typer.Option(None, "--now", help="Act as if it were this ISO-8601 instant (replays).")
RUNNING_FROM = typer.Option(
    None, "--now", help="Start the clock at this ISO-8601 instant (replays); it runs on."
)
VERBOSE = typer.Option(
    False, "--verbose", "-v", help="Also show library log lines (HTTP calls, retries, migrations)."
)
#: Library loggers too chatty at INFO for an operator's terminal (`migrate` shows its steps).
QUIET_LIBRARIES = ("alembic",)


def fail(message: str, *, code: int = 1) -> NoReturn:
    """One line on stderr and a non-zero exit: what went wrong and what to do."""
    print(message, file=sys.stderr)
    raise typer.Exit(code=code)


def settings_or_exit(*, quiet: bool = False) -> Settings:
    """Settings, or one line and exit 2. `quiet`: a command whose output is its result."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        raise typer.Exit(code=2) from None
    configure_logging(settings, quiet=quiet and "log_level" not in settings.model_fields_set)
    return settings


def configure_logging(settings: Settings, *, quiet: bool) -> None:
    """LOG_LEVEL for every logger. `quiet` (a command that prints its result or a chat,
    run without --verbose or an explicit LOG_LEVEL): the terminal shows that output,
    VizDots' own warnings and anyone's errors, but no library chatter (httpx, openai
    retries, SQLAlchemy, Alembic)."""
    from bot.log_format import log_handler

    level = "ERROR" if quiet else settings.log_level.upper()
    try:
        logging.basicConfig(level=level, handlers=[log_handler(settings.log_format)])
    except ValueError:
        known = "DEBUG, INFO, WARNING or ERROR"
        print(f"invalid setting LOG_LEVEL: {settings.log_level!r} is not {known}", file=sys.stderr)
        raise typer.Exit(code=2) from None
    if quiet:
        logging.getLogger("vizdots").setLevel(logging.WARNING)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def parse_now(value: str) -> datetime:
    """An ISO-8601 instant; without an offset it is UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        message = f"{value!r} is not an ISO-8601 date-time"
        raise typer.BadParameter(message, param_hint="--now") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def with_services(
    work: Callable[[Services], Awaitable[T]],
    *,
    now: str | None = None,
    running: bool = False,
    quiet: bool = False,
) -> T:
    """Build the services (no background loop), run `work`, release them. With `now`, the
    clock stands at that instant, or (`running`) starts there and runs on. A database that
    is unreachable or not migrated is one line and exit 1, before any work."""
    from bot.bootstrap import build_services
    from core.ports import Clock, FixedClock, ShiftedClock, SystemClock

    settings = settings_or_exit(quiet=quiet)
    clock: Clock = SystemClock()
    if now:
        clock = ShiftedClock(parse_now(now)) if running else FixedClock(parse_now(now))

    async def run() -> T:
        services = build_services(settings, clock=clock, loop_interval=None)
        try:
            await exit_unless_ready(services)
            return await work(services)
        finally:
            await services.close()

    return asyncio.run(run())


async def exit_unless_ready(services: Services) -> None:
    """One line and exit 1 unless the database is reachable and at head."""
    from core.store.health import schema_problem

    await exit_unless_engine_reachable(services.engine, services.settings.database_url)
    if problem := await schema_problem(services.engine):
        fail(f"database not ready: {problem}")


async def exit_unless_reachable(url: str, *, schema: bool = False) -> None:
    """`exit_unless_ready` (or, without `schema`, only reachable) on a throwaway engine."""
    from core.store.engine import make_async_engine
    from core.store.health import schema_problem

    engine = make_async_engine(url)
    try:
        await exit_unless_engine_reachable(engine, url)
        if schema and (problem := await schema_problem(engine)):
            fail(f"database not ready: {problem}")
    finally:
        await engine.dispose()


async def exit_unless_engine_reachable(engine: AsyncEngine, url: str) -> None:
    from sqlalchemy.engine import make_url

    from core.store.health import unreachable

    if problem := await unreachable(engine):
        shown = make_url(url).render_as_string(hide_password=True)
        fail(f"{problem}{sqlite_folder_hint(url)} (DATABASE_URL={shown})")


def sqlite_folder_hint(url: str) -> str:
    """The usual reason SQLite cannot open its file: the folder does not exist."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return ""
    folder = Path(parsed.database).parent
    return "" if folder.is_dir() else f"; the folder {folder} does not exist"


def is_loopback(host: str) -> bool:
    from ipaddress import ip_address

    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


@app.command()
def migrate(
    to: str = typer.Option(
        "head", "--to", help="Revision to reach: head, base or an id (lower: a rollback)."
    ),
) -> None:
    """Upgrade the database schema to head and seed the global agents (idempotent); with
    --to REV, upgrade or downgrade to REV (roll the application back first)."""
    from alembic.util.exc import CommandError

    from core.store.migrate import migrate_to

    settings = settings_or_exit()
    logging.getLogger("alembic.runtime.migration").setLevel(logging.getLogger().level)
    asyncio.run(exit_unless_reachable(settings.database_url))
    try:
        revision = migrate_to(settings.database_url, to)
    except CommandError as error:  # e.g. the database is at a revision this code lacks
        fail(f"cannot migrate: {error}")
    print(f"database at revision {revision}")


@app.command()
def status(now: str | None = NOW) -> None:
    """The last scheduler and reminders runs, today's sessions by state and the inbox's
    depth, as JSON (what GET /api/internal/status answers)."""
    from core.ops_status import ops_status

    async def work(services: Services) -> dict[str, Any]:
        found = await ops_status(services.sessions, runs=services.runs, now=services.clock.now())
        return found.as_dict()

    print_json(with_services(work, now=now, quiet=True))


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port to listen on (0: any free one)."),
    loop: bool = typer.Option(
        True, help="Plan and deliver every minute in this process (--no-loop with cron/workers)."
    ),
    inbox: bool = typer.Option(
        True, help="Take members' turns in this process (--no-inbox with `vizdots worker`)."
    ),
) -> None:
    """Serve the HTTP API, the local dev chat (when no chat is configured) and the loop."""
    from bot.app import create_app
    from bot.bootstrap import build_services
    from bot.serving import CannotListen, listening_socket, serve_on, url_of

    settings = settings_or_exit()
    asyncio.run(exit_unless_reachable(settings.database_url, schema=True))
    try:
        sock = listening_socket(host, port)
    except CannotListen as error:
        fail(str(error))
    settings.log_disabled_integrations()
    dev_chat = settings.dev_chat if settings.dev_chat is not None else is_loopback(host)
    services = build_services(
        settings,
        loop_interval=60.0 if loop else None,
        dev_chat=dev_chat,
        inbox_in_process=inbox,
    )
    print(f"serving on {url_of(sock)}")
    if services.dev_chat:
        print(f"local chat: {url_of(sock)}/dev  (run `vizdots demo` for a demo team)")
        print(f"dashboard:  {url_of(sock)}/dev/dashboard  (the demo team's, as its owner)")
    elif not any(services.settings.integrations()[chat] for chat in ("slack", "teams")):
        print("no chat configured and the local chat is off off-loopback (DEV_CHAT=true opens it)")
    serve_on(sock, create_app(services))


@app.command()
def worker(
    plan: bool = typer.Option(True, help="Also plan and deliver every minute (--no-plan: not)."),
    now: str | None = RUNNING_FROM,
    metrics_port: int | None = typer.Option(
        None, min=0, max=65535, help="Serve this worker's GET /metrics on this port."
    ),
    metrics_host: str = typer.Option("127.0.0.1", help="Interface for --metrics-port."),
) -> None:
    """Take members' turns from the inbox, send the outbox (and plan and deliver) until stopped."""
    from bot.serving import CannotListen, listening_socket
    from bot.worker import run_worker

    sock = None
    if metrics_port is not None:
        try:
            sock = listening_socket(metrics_host, metrics_port)
        except CannotListen as error:
            fail(str(error))

    async def work(services: Services) -> None:
        if sock is None:
            return await run_worker(services, plan=plan)
        from bot.app import create_metrics_app
        from bot.serving import serve_in_loop

        metrics = serve_in_loop(sock, create_metrics_app(services))
        await asyncio.gather(run_worker(services, plan=plan), metrics)

    with contextlib.suppress(KeyboardInterrupt):
        with_services(work, now=now, running=True)


@app.command()
def plan(now: str | None = NOW, verbose: bool = VERBOSE) -> None:
    """Create the check-in sessions due in the next 36 hours (idempotent)."""
    from bot.worker import plan as plan_now

    created = with_services(lambda s: plan_now(s, now=s.clock.now()), now=now, quiet=not verbose)
    print(f"planned {created} new sessions")


@app.command()
def deliver(now: str | None = NOW, verbose: bool = VERBOSE) -> None:
    """Send every due check-in once; expire those past their end."""
    from dataclasses import asdict

    counts = with_services(
        lambda s: s.delivery.deliver_due(now=s.clock.now()), now=now, quiet=not verbose
    )
    print_json(asdict(counts))


@app.command()
def remind(now: str | None = NOW, verbose: bool = VERBOSE) -> None:
    """Nudge and email members whose check-in waits, for the slot NOW falls in (once a slot)."""
    from bot.worker import remind as remind_now

    counts = with_services(lambda s: remind_now(s, now=s.clock.now()), now=now, quiet=not verbose)
    print_json(counts)


@app.command()
def report(
    org: str | None = typer.Option(None, help="Organisation slug; default: every organisation."),
    agent: str | None = typer.Option(None, help="Only this agent (daily, pulse, retro, …)."),
    days: int = typer.Option(7, min=1, max=366, help="How many days back."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    now: str | None = NOW,
    verbose: bool = VERBOSE,
) -> None:
    """Check-in results per organisation: participation and dots."""
    from bot.reporting import org_reports
    from core.report import last_days

    async def work(services: Services) -> list[dict[str, Any]]:
        if agent is not None and not await agent_exists(services, agent):
            fail(f"no agent {agent!r} (`/vizdots agents` lists them; daily, pulse, retro…)")
        since, until = last_days(services.clock.now(), days)
        return await org_reports(services.sessions, org=org, agent=agent, since=since, until=until)

    reports = with_services(work, now=now, quiet=not verbose)
    if org is not None and not reports:
        fail(f"no organisation with slug {org!r} (`vizdots report` lists every one)")
    if as_json:
        print_json(reports)
        return
    if not reports:
        print("no organisation yet: `vizdots demo` creates one, as does installing the app")
    for entry in reports:
        print(f"== {entry['org']} ==\n{entry['text']}\n")


async def agent_exists(services: Services, slug: str) -> bool:
    from sqlalchemy import select

    from core.store.models import Agent

    async with services.sessions() as db:
        return await db.scalar(select(Agent.id).where(Agent.slug == slug).limit(1)) is not None


@app.command()
def demo(now: str | None = NOW, verbose: bool = VERBOSE) -> None:
    """Create a demo team (idempotent) and deliver a check-in to each member."""
    from bot.demo import create_demo

    result = with_services(create_demo, now=now, quiet=not verbose)
    settings = load_settings()
    where = (
        "through SES" if settings.integrations()["email"] else f"to {settings.email_outbox_dir}/"
    )
    print(f"demo team ready: {len(result.members)} members, {result.delivered} check-ins delivered")
    print("answer in the browser at /dev, or: vizdots chat --member " + result.members[0])
    if result.emailed:
        print(f"{result.email_only} has no chat: her check-in went out by email, {where}")


@app.command()
def chat(
    member: str = typer.Option(..., "--member", help="The member's email."),
    now: str | None = RUNNING_FROM,
    verbose: bool = VERBOSE,
) -> None:
    """Answer check-ins in the terminal as a member: one line per turn, EOF to stop."""
    from bot.terminal import chat_as

    try:
        state = with_services(
            lambda s: chat_as(s, email=member), now=now, running=True, quiet=not verbose
        )
    except KeyboardInterrupt:
        print("(chat stopped)")
        raise typer.Exit(code=130) from None
    if state is None:
        print(f"no active member with email {member!r}", file=sys.stderr)
        raise typer.Exit(code=1)
    print(f"(check-in {state.replace('_', ' ')})")


admin_token_app = typer.Typer(
    help="Admin API tokens of an organisation (shown once, stored hashed)."
)
member_app = typer.Typer(help="One member's personal data: export (GDPR art. 15), erase (art. 17).")
app.add_typer(admin_token_app, name="admin-token")
app.add_typer(member_app, name="member")
ORG = typer.Option(..., "--org", help="Organisation slug.")


def in_org_or_exit(services: Services, work: Awaitable[T]) -> Awaitable[T]:
    """`work`, with an unknown org, member or token as one line and exit 1."""
    from bot.admin_cli import NotThere
    from core.admin.scope import BadInput

    async def run() -> T:
        try:
            return await work
        except (NotThere, BadInput) as problem:
            fail(str(problem))

    return run()


@admin_token_app.command("create")
def admin_token_create(
    org: str = ORG,
    name: str = typer.Option(..., "--name", help="What the token is for, e.g. 'reporting'."),
    role: str = typer.Option("admin", "--role", help="viewer, admin or owner."),
) -> None:
    """Make a token and print it once: store it now, it cannot be shown again."""
    from bot.admin_cli import token_create
    from core.admin.tokens import TokenRole, clean_name

    if role not in {r.value for r in TokenRole}:
        fail(f"--role takes viewer, admin or owner, not {role!r}", code=2)
    try:
        clean_name(name)
    except ValueError as problem:
        fail(f"--name: {problem}", code=2)
    plaintext = with_services(
        lambda s: in_org_or_exit(s, token_create(s, org=org, name=name, role=TokenRole(role))),
        quiet=True,
    )
    print(plaintext)


@admin_token_app.command("list")
def admin_token_list(org: str = ORG) -> None:
    """The org's tokens as JSON: prefix, name, role, last use, revocation (never a token)."""
    from bot.admin_cli import token_list

    print_json(with_services(lambda s: in_org_or_exit(s, token_list(s, org=org)), quiet=True))


@admin_token_app.command("revoke")
def admin_token_revoke(
    prefix: str = typer.Argument(..., help="The token's prefix, e.g. vzd_1a2b3c4d."),
    org: str = ORG,
) -> None:
    """Revoke a token at once (idempotent)."""
    from bot.admin_cli import token_revoke

    done = with_services(lambda s: in_org_or_exit(s, token_revoke(s, org=org, prefix=prefix)))
    print(f"revoked {done}")


EMAIL = typer.Option(..., "--email", help="The member's email address.")


@member_app.command("export")
def member_export(org: str = ORG, email: str = EMAIL) -> None:
    """Print everything stored about the member as JSON."""
    from bot.admin_cli import member_export as export

    print_json(
        with_services(lambda s: in_org_or_exit(s, export(s, org=org, email=email)), quiet=True)
    )


@member_app.command("delete")
def member_delete(org: str = ORG, email: str = EMAIL) -> None:
    """Erase the member's personal data; numeric aggregates stay (anonymous)."""
    from bot.admin_cli import member_delete as erase

    removed = with_services(lambda s: in_org_or_exit(s, erase(s, org=org, email=email)), quiet=True)
    print_json({"erased": email, "removed": removed})


MANIFEST_PLACEHOLDER = "https://vizdots.example.com"


@app.command("slack-manifest")
def slack_manifest() -> None:
    """Print manifest.yml with its request URLs built from APP_BASE_URL."""
    from pathlib import Path

    settings = settings_or_exit()
    base = str(settings.app_base_url).rstrip("/")
    manifest = Path(__file__).resolve().parents[1] / "manifest.yml"
    print(manifest.read_text(encoding="utf-8").replace(MANIFEST_PLACEHOLDER, base), end="")


@app.command("teams-package")
def teams_package(
    out: str = typer.Option("vizdots-teams.zip", help="where to write the zip"),
) -> None:
    """Write the Teams app package (manifest.json + icons, zipped) for MICROSOFT_APP_ID."""
    from pathlib import Path

    from adapters.teams.package import package

    settings = settings_or_exit()
    if not settings.microsoft_app_id:
        print("MICROSOFT_APP_ID is not set: the package names the bot by it", file=sys.stderr)
        raise typer.Exit(2)
    data = package(app_id=settings.microsoft_app_id, base_url=str(settings.app_base_url))
    Path(out).write_bytes(data)
    print(f"wrote {out}: upload it in the Teams admin center (Manage apps → Upload)")


@app.command("rotate-key")
def rotate_key(
    new_key: bool = typer.Option(
        False, "--new-key", help="Only print a fresh key (put it first in ENCRYPTION_KEY)."
    ),
) -> None:
    """Re-encrypt every stored secret with ENCRYPTION_KEY's first key (plain rows too).
    Idempotent and resumable: run it again after an interruption."""
    from core.store.cipher import BadKey
    from core.store.cipher import new_key as fresh_key

    if new_key:
        print(fresh_key())
        return
    settings = settings_or_exit()
    asyncio.run(exit_unless_reachable(settings.database_url, schema=True))
    try:
        changed = asyncio.run(reseal_secrets(settings))
    except BadKey as error:
        fail(f"cannot rotate: {error}")
    print(f"{changed} rows re-encrypted with the first key of ENCRYPTION_KEY")


async def reseal_secrets(settings: Settings) -> int:
    from adapters.slack.encrypted_store import reseal_stored_tokens
    from bot.slack import installation_store
    from core.store.engine import make_async_engine

    engine = make_async_engine(settings.database_url)
    try:
        return await reseal_stored_tokens(installation_store(settings, engine))
    finally:
        await engine.dispose()


if __name__ == "__main__":
    app()
