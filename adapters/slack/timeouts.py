"""How long one Slack Web API request may take (SDK-free: settings read it to check that
CLAIM_TIMEOUT_SECONDS outlasts a send in flight)."""

#: slack_sdk's per-request timeout for every client VizDots builds.
CALL_TIMEOUT_SECONDS = 15
