"""One reminder run over many pending sessions against moto's SES v2, against as many bare
boto3 send_email calls to the same server in the same run.

    python bench/reminders.py [--sessions 20000] [--database-url postgresql://…]

The database is PostgreSQL: a scratch database on --database-url or TEST_DATABASE_URL
(dropped afterwards), else a throwaway cluster from the local binaries. moto's server
runs in a child process (`python -m moto.server`), so its CPU is not this process's.
Every session is an email-only member's daily check-in, delivered an hour before the
09:00 slot and not answered; the run (core/reminders.py with the SES adapter, settings
as deployed but for SES_MAX_SEND_RATE, set far above what moto takes) sends each its
09:00 reminder: an email_logs row before, SES, the row updated after.

Figures: wall time and emails a second of the run and of the bare calls (sequential,
one client, the same email), their ratio (goal <= 1.5); then a second run in the same
slot, which must send nothing, as a share of the first (goal < 5%). Emails are counted
in moto (GET /moto-api/data.json), not in our own logs. Exit 1 when a goal is not met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3
from sqlalchemy import Engine, insert, select

from adapters.email.compose import TemplateComposer
from adapters.email.ses import SesConfig, SesMailer
from bench.plan_sessions import postgres_server, scratch_database
from core.channels import ChannelSet
from core.outbox import Outbox
from core.reminder_slots import ReminderSlots
from core.reminders import Reminders
from core.store import models as m
from core.store.engine import make_async_engine, make_sessionmaker, make_sync_engine
from core.store.migrate import upgrade_to_head
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import free_port
from tests.fakes.links import FakeLinks

DELIVERED = datetime(2026, 11, 25, 8, tzinfo=UTC)  # a Wednesday
RUN_AT = datetime(2026, 11, 25, 9, 5, tzinfo=UTC)  # works on the 09:00 slot
SENDER = "noreply@vizdots.test"
GOAL_RATIO, GOAL_RERUN = 1.5, 0.05


@contextmanager
def moto_server() -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json").close()
                break
            except OSError:
                time.sleep(0.05)
        ses_client(url).create_email_identity(EmailIdentity=SENDER)
        yield url
    finally:
        child.terminate()
        child.wait()


def ses_client(url: str):  # type: ignore[no-untyped-def]
    return boto3.session.Session().client(
        "sesv2",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


def sent_count(url: str) -> int:
    with urllib.request.urlopen(f"{url}/moto-api/data.json") as response:
        return len(json.load(response).get("ses", {}).get("Message", []))


def load(engine: Engine, count: int) -> None:
    """One org, `count` email-only members, each with a delivered, unanswered check-in."""
    with engine.begin() as db:
        org = db.execute(
            insert(m.Organization).values(slug="bench", name="Bench")
        ).inserted_primary_key
        org_id = org[0]
        agent = db.scalar(
            select(m.Agent.id).where(m.Agent.slug == "daily", m.Agent.org_id.is_(None))
        )
        db.execute(
            insert(m.Member),
            [
                {"org_id": org_id, "display_name": f"Member {n}", "email": f"m{n}@bench.test",
                 "email_only": True}
                for n in range(count)
            ],
        )  # fmt: skip
        ids = list(db.scalars(select(m.Member.id).where(m.Member.org_id == org_id)))
        db.execute(
            insert(m.CheckinSession),
            [
                {"org_id": org_id, "member_id": member, "agent_id": agent,
                 "local_date": date(2026, 11, 25), "due_at": DELIVERED,
                 "expires_at": DELIVERED + timedelta(hours=18), "state": "delivered",
                 "channel": "email", "delivered_at": DELIVERED, "version": 1,
                 "brain_state": {"pending": "mood"}}
                for member in ids
            ],
        )  # fmt: skip


def reminders_for(url: str, database_url: str) -> tuple[Reminders, object]:
    engine = make_async_engine(database_url)
    sessions = make_sessionmaker(engine)
    clock = FakeClock(RUN_AT)
    channels = ChannelSet([])
    mailer = SesMailer(
        SesConfig(
            region="us-east-1",
            access_key_id="bench",
            secret_access_key="bench",
            sender=SENDER,
            endpoint_url=url,
            max_send_rate=1_000_000.0,
        )
    )
    reminders = Reminders(
        sessions=sessions,
        channels=channels,
        outbox=Outbox(sessions=sessions, channels=channels, clock=clock),
        mailer=mailer,
        composer=TemplateComposer(),
        clock=clock,
        slots=ReminderSlots(),
        links=FakeLinks(),
    )
    return reminders, engine


def bare(url: str, count: int) -> float:
    """`count` send_email calls, one after the other, of an email like the run's."""
    email = TemplateComposer().compose(sample_content())
    client = ses_client(url)
    started = time.perf_counter()
    for n in range(count):
        client.send_email(
            FromEmailAddress=SENDER,
            Destination={"ToAddresses": [f"bare{n}@bench.test"]},
            Content={"Simple": {"Subject": {"Data": email.subject},
                                "Body": {"Text": {"Data": email.text},
                                         "Html": {"Data": email.html or ""}}}},
        )  # fmt: skip
    return time.perf_counter() - started


def sample_content():  # type: ignore[no-untyped-def]
    from core.ports import CheckinEmail

    return CheckinEmail(
        kind="reminder",
        to="bare@bench.test",
        member_name="Member",
        agent_name="Daily check-in",
        question="How are you feeling today, from 1 (rough) to 5 (great)?",
        link="https://vizdots.test/checkin/1/1?sig=fake",
        unsubscribe_url="https://vizdots.test/unsubscribe/1?sig=fake",
    )


async def timed_run(reminders: Reminders) -> tuple[float, int]:
    started = time.perf_counter()
    counts = await reminders.remind()
    elapsed = time.perf_counter() - started
    if counts.errors:
        print(f"errors: {counts.errors[:3]} … ({len(counts.errors)})")
    return elapsed, counts.emailed


async def measure(url: str, database_url: str) -> tuple[float, int, float, int]:
    reminders, engine = reminders_for(url, database_url)
    try:
        first, emailed = await timed_run(reminders)
        rerun, again = await timed_run(reminders)
    finally:
        await engine.dispose()  # type: ignore[attr-defined]
    return first, emailed, rerun, again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    n = args.sessions
    with postgres_server(args.database_url) as server, scratch_database(server) as db_url:
        upgrade_to_head(db_url)
        sync = make_sync_engine(db_url)
        load(sync, n)
        sync.dispose()
        with moto_server() as url:
            baseline = bare(url, n)
            before = sent_count(url)
            first, emailed, rerun, again = asyncio.run(measure(url, db_url))
            in_moto = sent_count(url) - before
    ratio, share = first / baseline, rerun / first
    print(f"pending sessions:        {n} (email-only, delivered 08:00, run at 09:05)")
    print(f"bare boto3 send_email:   {baseline:.2f} s, {n / baseline:.0f} emails/s")
    print(f"reminder run:            {first:.2f} s, {emailed / first:.0f} emails/s "
          f"({emailed} sent, {in_moto} in moto)")  # fmt: skip
    print(f"ratio:                   {ratio:.2f} (goal <= {GOAL_RATIO})")
    print(f"second run, same slot:   {rerun:.3f} s = {share:.1%} of the first, "
          f"{again} sent (goal < {GOAL_RERUN:.0%}, 0 sent)")  # fmt: skip
    met = ratio <= GOAL_RATIO and share < GOAL_RERUN and again == 0 and in_moto == emailed == n
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
