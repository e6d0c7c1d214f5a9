"""Sends paced under Teams' documented limits, per conversation and per tenant.

Teams throttles a bot per conversation (7 messages a second, 8 in 2 s, 60 in 30 s,
1,800 an hour) and per app and tenant (about 30–50 requests a second). A send waits
for room in every window it falls under instead of being answered 429. The windows
are counted in this process: with several workers each keeps its own count, and the
429s that still come are retried by the outbox with back-off and jitter.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable

#: (seconds, sends) per conversation, then per tenant.
PER_CONVERSATION = ((1.0, 7), (2.0, 8), (30.0, 60), (3600.0, 1800))
PER_TENANT = ((1.0, 30),)


class Pacer:
    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        self._lock = asyncio.Lock()

    async def wait_turn(self, *, tenant: str, conversation: str) -> None:
        """Return once a send to `conversation` in `tenant` stays under every limit."""
        while True:
            async with self._lock:  # the count and the send it admits go together
                delay = self._delay(tenant, conversation)
                if delay <= 0:
                    now = self._now()
                    self._sent[f"c:{conversation}"].append(now)
                    self._sent[f"t:{tenant}"].append(now)
                    return
            await asyncio.sleep(delay)  # other conversations' sends go on meanwhile

    def _delay(self, tenant: str, conversation: str) -> float:
        now = self._now()
        waits = [0.0]
        for key, windows in ((f"c:{conversation}", PER_CONVERSATION), (f"t:{tenant}", PER_TENANT)):
            sent = self._sent[key]
            longest = max(seconds for seconds, _ in windows)
            while sent and sent[0] <= now - longest:
                sent.popleft()
            for seconds, most in windows:
                recent = [at for at in sent if at > now - seconds]
                if len(recent) >= most:
                    waits.append(recent[-most] + seconds - now)
        return max(waits)
