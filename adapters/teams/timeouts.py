"""How long one call to the Bot Framework connector may take (SDK-free: settings read it
to check that CLAIM_TIMEOUT_SECONDS outlasts a send in flight)."""

#: A whole connector request: connecting, sending, reading the answer.
CALL_TIMEOUT_SECONDS = 20.0
#: Of which connecting.
CONNECT_TIMEOUT_SECONDS = 5.0
