"""Prometheus metrics (prometheus-client): the runbook's alert signals, per process."""
