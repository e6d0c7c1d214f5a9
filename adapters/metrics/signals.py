"""Every metric VizDots exports, registered in the CollectorRegistry it is given (one per
process, built in the composition root: nothing global that tests must reset).

Counters and histograms are this process's own; the gauges read from the database at
scrape time (adapters/metrics/database.py) are the same whichever process answers."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram

from core.job_runs import JOBS
from core.ports import AiCall

#: Seconds: the AI alert fires above 10 s, so 10 is a bucket boundary.
AI_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 60.0)
LAG_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Every inbound path that refuses callers (adapters/metrics/http.py maps routes to them).
INBOUND_PATHS = (
    "slack_signature", "teams_jwt", "stripe_signature", "sns_signature", "scheduler_bearer",
    "admin_token", "dashboard_session", "signed_link", "metrics_token",
)  # fmt: skip


class AppMetrics:
    """The application's counters and histograms; implements core.ports.Signals."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.http_requests = Counter(
            "vizdots_http_requests", "HTTP requests by route template and status",
            ["method", "route", "status"], registry=registry,
        )  # fmt: skip
        self.http_duration = Histogram(
            "vizdots_http_request_duration_seconds", "HTTP request handling time by route",
            ["route"], buckets=HTTP_BUCKETS, registry=registry,
        )  # fmt: skip
        self.auth_failures = Counter(
            "vizdots_auth_failures", "Requests refused for a bad signature, token or session",
            ["inbound"], registry=registry,
        )  # fmt: skip
        self.ai_calls = Counter(
            "vizdots_ai_calls", "LLM calls by outcome (ok, invalid, error)",
            ["outcome"], registry=registry,
        )  # fmt: skip
        self.ai_latency = Histogram(
            "vizdots_ai_call_duration_seconds", "LLM call latency",
            buckets=AI_BUCKETS, registry=registry,
        )  # fmt: skip
        self.emails = Counter(
            "vizdots_emails", "Emails handed to the mailer, by outcome (sent, failed)",
            ["outcome"], registry=registry,
        )  # fmt: skip
        self.job_runs = Counter(
            "vizdots_job_runs", "Scheduler and reminders runs by trigger and outcome",
            ["job", "trigger", "outcome"], registry=registry,
        )  # fmt: skip
        self.delivery_lag = Histogram(
            "vizdots_delivery_lag_seconds", "From a check-in's due time to its delivery",
            buckets=LAG_BUCKETS, registry=registry,
        )  # fmt: skip

        self._start_at_zero()

    def _start_at_zero(self) -> None:
        """Every known series exported from the start, at 0: `increase()` then sees the
        first failure, and an alert rule never names a series that does not exist yet."""
        for inbound in INBOUND_PATHS:
            self.auth_failures.labels(inbound=inbound)
        for outcome in ("ok", "invalid", "error"):
            self.ai_calls.labels(outcome=outcome)
        for outcome in ("sent", "failed"):
            self.emails.labels(outcome=outcome)
        for job in JOBS:
            for trigger in ("cron", "loop"):
                for outcome in ("ok", "failed"):
                    self.job_runs.labels(job=job, trigger=trigger, outcome=outcome)

    def delivered(self, *, lag: timedelta) -> None:
        self.delivery_lag.observe(max(lag.total_seconds(), 0.0))

    def ai_call(self, call: AiCall) -> None:
        self.ai_calls.labels(outcome=call.outcome).inc()
        self.ai_latency.observe(call.latency_ms / 1000)

    def email(self, *, outcome: str) -> None:
        self.emails.labels(outcome=outcome).inc()

    def job_run(self, *, job: str, trigger: str, failed: bool) -> None:
        outcome = "failed" if failed else "ok"
        self.job_runs.labels(job=job, trigger=trigger, outcome=outcome).inc()

    def auth_failed(self, *, inbound: str) -> None:
        self.auth_failures.labels(inbound=inbound).inc()
