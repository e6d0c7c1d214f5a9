"""The conversation engine: one for every channel.

A member's turn is stored before anything else happens; then the brain is asked for
the next agent turn outside any transaction, and the result is saved only if no other
turn was saved meanwhile (the session's `version`), else the turn is worked out again
on the newer state. Two events for one session are thereby serialised by the database.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.answers import is_skip, read_answer, reask, with_answer
from core.catalog import shown, spoken_input
from core.channels import ChannelSet
from core.continuity import carry_blocker, engine_dots
from core.conversation_store import (
    Conversation,
    load_conversation,
    record_calls,
    record_dots,
    replace_dot,
)
from core.delivery import Delivery
from core.domain import Provider, SessionState, Speaker
from core.home import next_checkin
from core.i18n import N_, _, member_language, speaking
from core.identity import find_member, find_or_enrol, find_org
from core.inbound import EditedMessage, IncomingMessage, Sender
from core.outbox import Outbox, record_intent
from core.ports import (
    Brain,
    BrainReply,
    CheckinListener,
    Clock,
    DeliveryError,
    MemberAddress,
    MemberDirectory,
    OutgoingMessage,
)
from core.records import address_of
from core.rendering import Choice, agent_message, answered, decode_choice
from core.store.models import CheckinSession, Member, Message, Organization

log = logging.getLogger("vizdots.conversation")

OPEN_STATES = (SessionState.DELIVERED.value, SessionState.IN_PROGRESS.value)
#: The engine's own texts, in English; each is said in the member's language (`_()`).
UNKNOWN_SENDER = N_("Hi! I don't know you yet in VizDots. Ask an admin to run `members sync`.")
NOTHING_OPEN = N_("No check-in is open for you right now.")
CAN_START = N_("Type **start** to begin one now, or **help** to see what you can ask.")
ALREADY_DONE = N_("You've had today's check-in already.")
#: What a member with nothing open is told about today, by how today's check-in ended.
TODAY_OVER = {
    SessionState.COMPLETED: ALREADY_DONE,
    SessionState.SKIPPED: N_("You skipped today's check-in."),
    SessionState.EXPIRED: N_("Today's check-in has closed."),
}
NEXT_DUE = N_("Your next check-in ({agent}) is due {local}, {timezone} time.")
NONE_PLANNED = N_("No check-in is planned for you yet.")
HELP_HINT = N_("Type **help** to see what you can ask.")
START_WORDS = frozenset({"start", "check in", "checkin", "check-in", "start checkin"})
SNAG = N_(
    "Sorry, something went wrong on my side. "
    "Your message is saved; please send it again in a minute."
)
SKIPPED = N_("Skipped for today — see you next time! 👋")
GIVEN_UP = N_(
    "Sorry, I could not process your last message. "
    "Please send it again; if it keeps failing, tell your VizDots admin."
)
CHOSE = N_("You chose {choice}")
SKIPPED_MARK = N_("Skipped")
MAX_TURN_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a member turn changes: new state, the agent's answer, and the end if any."""

    state: Mapping[str, Any]
    reply: BrainReply | None = None
    text: str | None = None
    new_state: SessionState = SessionState.IN_PROGRESS


class Conversations:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        brain: Brain,
        channels: ChannelSet,
        clock: Clock,
        delivery: Delivery,
        outbox: Outbox,
        listeners: Sequence[CheckinListener] = (),
        directories: Mapping[Provider, MemberDirectory] | None = None,
    ) -> None:
        """`directories`: where a sender not known yet is looked up and enrolled."""
        self.sessions = sessions
        self.directories = dict(directories or {})
        self.outbox = outbox
        self.delivery = delivery
        self.listeners = tuple(listeners)
        self.brain = brain
        self.channels = channels
        self.clock = clock

    # --- reading ---------------------------------------------------------------------------
    async def open_session_of(self, db: AsyncSession, member: Member, now: datetime) -> int | None:
        return await db.scalar(
            select(CheckinSession.id)
            .where(
                CheckinSession.member_id == member.id,
                CheckinSession.state.in_(OPEN_STATES),
                CheckinSession.expires_at > now,
            )
            .order_by(CheckinSession.due_at.desc())
            .limit(1)
        )

    async def question_waiting(self, sender: Sender) -> bool:
        """Whether a check-in question waits for this member's answer (an open session)."""
        async with self.sessions() as db:
            found = await find_member(db, sender)
            if found is None:
                return False
            return await self.open_session_of(db, found[1], self.clock.now()) is not None

    async def waiting_question(self, sender: Sender) -> OutgoingMessage | None:
        """The open check-in's last agent turn, with its pending question's buttons."""
        async with self.sessions() as db:
            found = await find_member(db, sender)
            session_id = (
                await self.open_session_of(db, found[1], self.clock.now()) if found else None
            )
            if session_id is None:
                return None
            convo = await load_conversation(db, session_id)
        turns = reversed(convo.transcript)
        asked = next((t.text for t in turns if t.speaker is Speaker.AGENT), "")
        return agent_message(session_id, asked, convo.pending)

    async def language_for(self, sender: Sender) -> str:
        """The language to speak with a sender: the member's, else their org's, else English."""
        async with self.sessions() as db:
            found = await find_member(db, sender)
            if found is not None:
                return spoken_to(found[1], found[0])
            org = await find_org(db, provider=sender.provider, workspace=sender.workspace)
        return member_language(None, org.language if org else None)

    async def tell(self, sender: Sender, message: OutgoingMessage, *, key: str) -> bool:
        """Send a known member something outside their check-in's turns, once per key."""
        async with self.sessions() as db:
            found = await find_member(db, sender)
        if found is None:
            return False
        await self._notify(found[1], message, key=key)
        return True

    # --- the member's turn -----------------------------------------------------------------
    async def handle_message(
        self, incoming: IncomingMessage, *, apologise: bool = True
    ) -> list[OutgoingMessage]:
        """Store the member's turn, then answer it. Returns what was said back.

        Safe to run again for the same event (a worker taking over from a dead one): a
        stored turn is not stored twice, an answered turn is not answered twice, and a
        recorded reply is sent if it was not. `apologise=False` lets a failing turn
        raise, for the inbox to retry it later, instead of apologising at once.
        """
        choice = decode_choice(incoming.choice) if incoming.choice else None
        stored = await self._stored_turn(incoming.event_id)
        if stored is not None:
            return await self._answer(*stored, incoming, choice, apologise=apologise)
        found = await find_or_enrol(
            sessions=self.sessions,
            sender=incoming.sender,
            directory=self.directories.get(incoming.sender.provider),
            clock=self.clock,
        )
        async with self.sessions() as db:
            session_id = await self._target_session(db, found[1], choice) if found else None
            if found and choice and session_id is None and await self._open_elsewhere(db, found[1]):
                return []  # a closed check-in's button, ignored like any stale press
        if found is None:
            return await self._stranger(incoming.sender)
        if session_id is None:
            with speaking(spoken_to(found[1], found[0])):
                return await self._nothing_open(found[1], incoming)
        turn_id = await self._store_member_turn(session_id, incoming, choice)
        if turn_id is None:
            return []  # a second press on an answered question
        return await self._answer(session_id, turn_id, incoming, choice, apologise=apologise)

    async def _stored_turn(self, event_id: str | None) -> tuple[int, int] | None:
        """(session, message) of the member turn already stored for this event, if any."""
        if event_id is None:
            return None
        async with self.sessions() as db:
            row = (
                await db.execute(
                    select(Message.session_id, Message.id).where(
                        Message.inbound_event_id == event_id
                    )
                )
            ).first()
        return (row.session_id, row.id) if row else None

    async def could_not_process(self, sender: Sender, *, event_id: str) -> None:
        """Tell the member, once, that their message was given up after its retries."""
        async with self.sessions() as db:
            found = await find_member(db, sender)
        if found is not None:
            with speaking(spoken_to(found[1], found[0])):
                message = OutgoingMessage(_(GIVEN_UP))
            await self._notify(found[1], message, key=f"given-up:{event_id}")

    async def _stranger(self, sender: Sender) -> list[OutgoingMessage]:
        """Someone in a known workspace whom VizDots does not know: told how to join."""
        async with self.sessions() as db:
            org = await find_org(db, provider=sender.provider, workspace=sender.workspace)
        with speaking(org.language if org else None):
            message = OutgoingMessage(_(UNKNOWN_SENDER))
        channel = self.channels.get(sender.provider)
        if org is None or channel is None:
            return [message]
        slack_user = sender.user if sender.provider is Provider.SLACK else None
        address = MemberAddress(0, org.id, "", slack_user_id=slack_user)
        try:
            await channel.send(address, message)
        except DeliveryError as error:
            log.warning("could not tell an unknown sender in org %s: %s", org.id, error)
        return [message]

    async def handle_edit(self, edited: EditedMessage) -> bool:
        """A member corrected an earlier reply: the stored turn and its answer follow."""
        async with self.sessions.begin() as db:
            found = await find_member(db, edited.sender)
            if found is None:
                return False
            turn = await db.scalar(
                select(Message)
                .join(CheckinSession, CheckinSession.id == Message.session_id)
                .where(
                    CheckinSession.member_id == found[1].id,
                    Message.channel_message_id == edited.message_id,
                    Message.speaker == Speaker.MEMBER.value,
                )
            )
            if turn is None:
                return False
            turn.text, turn.edited_at = edited.text, self.clock.now()
            session_id, key = turn.session_id, turn.question_key
        if key is not None:
            await self._correct_answer(session_id, key, edited.text)
        return True

    async def _correct_answer(self, session_id: int, key: str, text: str) -> None:
        """The corrected value replaces the answer (and its dot), version-checked like a turn."""
        for _attempt in range(MAX_TURN_ATTEMPTS):
            async with self.sessions() as db:
                convo = await load_conversation(db, session_id)
            question = next((q for q in convo.agent.questions if q.key == key), None)
            value = read_answer(question, text) if question else None
            if value is None:
                return
            session = convo.session
            answers = {**session.brain_state.get("answers", {}), key: value}
            async with self.sessions.begin() as db:
                result = await db.execute(
                    update(CheckinSession)
                    .where(
                        CheckinSession.id == session.id, CheckinSession.version == session.version
                    )
                    .values(
                        brain_state={**session.brain_state, "answers": answers},
                        version=session.version + 1,
                    )
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                if session.state == SessionState.COMPLETED.value:
                    await replace_dot(db, convo, key, value)
                return

    async def _target_session(
        self, db: AsyncSession, member: Member, choice: Choice | None
    ) -> int | None:
        if choice is None:
            return await self.open_session_of(db, member, self.clock.now())
        session = await db.get(CheckinSession, choice.session_id)
        if session is None or session.member_id != member.id or session.state not in OPEN_STATES:
            return None
        return session.id

    async def _open_elsewhere(self, db: AsyncSession, member: Member) -> bool:
        """Another check-in is open than the closed one a press targeted."""
        return await self.open_session_of(db, member, self.clock.now()) is not None

    async def _store_member_turn(
        self, session_id: int, incoming: IncomingMessage, choice: Choice | None
    ) -> int | None:
        """The stored turn's id (the one stored before for this event, if any); None for a
        press on a question that is no longer pending."""
        try:
            async with self.sessions.begin() as db:
                session = await db.get_one(CheckinSession, session_id)
                pending = session.brain_state.get("pending")
                if choice and not choice.is_skip and choice.question_key != pending:
                    return None
                turn = Message(
                    session_id=session_id,
                    speaker=Speaker.MEMBER.value,
                    text=incoming.text,
                    question_key=pending,
                    channel_message_id=incoming.message_id,
                    inbound_event_id=incoming.event_id,
                )
                db.add(turn)
        except IntegrityError:  # the same event, stored meanwhile by another worker
            stored = await self._stored_turn(incoming.event_id)
            return stored[1] if stored else None
        return turn.id

    async def _answer(
        self,
        session_id: int,
        turn_id: int,
        incoming: IncomingMessage,
        choice: Choice | None,
        *,
        apologise: bool,
    ) -> list[OutgoingMessage]:
        """Take the agent's turn for the member turn `turn_id`, once (a recorded reply is
        sent, not decided again); re-decided when another turn was saved meanwhile."""
        for _attempt in range(MAX_TURN_ATTEMPTS):
            if await self._answered(turn_id):
                return await self._resend(turn_id)
            async with self.sessions() as db:
                convo = await load_conversation(db, session_id)
            if convo.session.state not in OPEN_STATES:
                return []
            with speaking(spoken_to(convo.member, convo.org)):
                said = await self._take_turn(convo, turn_id, incoming, choice, apologise)
            if said is not None:
                return said
        log.warning("session %s: gave up after %d concurrent turns", session_id, MAX_TURN_ATTEMPTS)
        return []

    async def _take_turn(
        self,
        convo: Conversation,
        turn_id: int,
        incoming: IncomingMessage,
        choice: Choice | None,
        apologise: bool,
    ) -> list[OutgoingMessage] | None:
        """Decide, save and send the agent's turn; None when another turn was saved first."""
        try:
            outcome = await self._decide(convo, incoming, choice)
        except Exception:
            if not apologise:
                raise  # the inbox retries the event later; the turn is kept
            log.exception("session %s: turn failed", convo.session.id)
            return await self._apologise(convo, turn_id)
        if outcome is None:
            return []  # a press on a question answered meanwhile
        saved = await self._save(convo, outcome, turn_id)
        return await self._say(convo, outcome, saved, choice) if saved is not None else None

    async def _answered(self, turn_id: int) -> bool:
        async with self.sessions() as db:
            reply = await db.scalar(select(Message.id).where(Message.reply_to_id == turn_id))
        return reply is not None

    async def _resend(self, turn_id: int) -> list[OutgoingMessage]:
        """The turn was answered before (a redelivery, or a worker that died): its recorded
        reply goes out if it has not. Nothing new is said."""
        await self.outbox.send(reply_key(turn_id))
        return []

    async def _decide(
        self, convo: Conversation, incoming: IncomingMessage, choice: Choice | None
    ) -> Outcome | None:
        state = dict(convo.session.brain_state)
        if (choice and choice.is_skip) or (choice is None and is_skip(incoming.text)):
            return Outcome(state=state, text=_(SKIPPED), new_state=SessionState.SKIPPED)
        question = convo.pending
        if choice and question is not None and choice.question_key != question.key:
            return None
        if question is not None:
            value = read_answer(question, choice.value if choice else incoming.text)
            if value is None:
                return Outcome(state=state, text=reask(question))
            state = carry_blocker(with_answer(state, question, value))
        reply = await self.brain.respond(spoken_input(convo.brain_input(state)))
        done = SessionState.COMPLETED if reply.done else SessionState.IN_PROGRESS
        return Outcome(state=reply.state, reply=reply, text=reply.text, new_state=done)

    async def _apologise(self, convo: Conversation, turn_id: int) -> list[OutgoingMessage]:
        message = OutgoingMessage(_(SNAG), session_id=convo.session.id)
        await self._notify(convo.member, message, key=f"snag:{turn_id}")
        return [message]

    async def _save(self, convo: Conversation, outcome: Outcome, turn_id: int) -> Message | None:
        """Persist the turn, and record its reply in the outbox, if the session is still at
        the version it was read at and the member turn has no reply yet."""
        now = self.clock.now()
        session = convo.session
        values: dict[str, Any] = {
            "brain_state": dict(outcome.state),
            "version": session.version + 1,
            "state": outcome.new_state.value,
        }
        if outcome.new_state is SessionState.COMPLETED and outcome.reply is not None:
            values |= {"completed_at": now, "summary": outcome.reply.summary}
        if outcome.new_state is SessionState.SKIPPED:
            values["outcome_note"] = "skipped by member"
        try:
            async with self.sessions.begin() as db:
                result = await db.execute(
                    update(CheckinSession)
                    .where(
                        CheckinSession.id == session.id, CheckinSession.version == session.version
                    )
                    .values(**values)
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    return None
                if outcome.reply is not None:
                    record_calls(db, convo, outcome.reply.calls)
                    if outcome.reply.done:
                        dots = {**outcome.reply.dots, **engine_dots(outcome.state)}
                        record_dots(db, convo, dots)
                message = self._agent_turn(session.id, outcome, turn_id)
                db.add(message)
                await db.flush()
                await record_intent(
                    db,
                    key=reply_key(turn_id),
                    to=address_of(convo.member),
                    kind="reply",
                    message=self._outgoing(convo, outcome),
                    now=now,
                    message_row_id=message.id,
                )
        except IntegrityError:  # answered meanwhile (messages.reply_to_id is unique)
            return None
        return message

    def _agent_turn(self, session_id: int, outcome: Outcome, turn_id: int) -> Message:
        question = outcome.reply.question if outcome.reply else None
        return Message(
            session_id=session_id,
            speaker=Speaker.AGENT.value,
            text=outcome.text or "",
            question_key=question.key if question else outcome.state.get("pending"),
            reply_to_id=turn_id,
        )

    def _outgoing(self, convo: Conversation, outcome: Outcome) -> OutgoingMessage:
        question = outcome.reply.question if outcome.reply else None
        if outcome.reply is None and outcome.new_state is SessionState.IN_PROGRESS:
            question = convo.pending  # a re-ask keeps the buttons
        return agent_message(convo.session.id, outcome.text or "", question)

    async def _say(
        self, convo: Conversation, outcome: Outcome, saved: Message, choice: Choice | None
    ) -> list[OutgoingMessage]:
        address = address_of(convo.member)
        await self._mark_answered(convo, address, choice)
        assert saved.reply_to_id is not None
        await self.outbox.send(reply_key(saved.reply_to_id))
        if outcome.new_state is SessionState.COMPLETED:
            await self._tell_completed(convo.session.id, address)
        return [self._outgoing(convo, outcome)]

    async def _notify(self, member: Member, message: OutgoingMessage, *, key: str) -> None:
        """A message outside the check-in's turns (a notice), recorded once per key, sent."""
        async with self.sessions.begin() as db:
            await record_intent(
                db, key=key, to=address_of(member), kind="notice", message=message,
                now=self.clock.now(),
            )  # fmt: skip
        await self.outbox.send(key)

    async def _tell_completed(self, session_id: int, address: MemberAddress) -> None:
        for listener in self.listeners:
            try:
                await listener.completed(session_id=session_id, member=address)
            except Exception:  # a listener's failure must not undo the member's check-in
                log.exception("check-in listener failed for session %s", session_id)

    async def _mark_answered(
        self, convo: Conversation, address: MemberAddress, choice: Choice | None
    ) -> None:
        """After a button press, the question message shows the choice and loses its buttons
        (every question carries "Skip today": its press marks the question it was under)."""
        if choice is None or convo.pending is None:
            return
        asked_key = convo.pending.key if choice.is_skip else choice.question_key
        async with self.sessions() as db:
            asked = await db.scalar(
                select(Message)
                .where(
                    Message.session_id == convo.session.id,
                    Message.speaker == Speaker.AGENT.value,
                    Message.question_key == asked_key,
                    Message.channel_message_id.is_not(None),
                )
                .order_by(Message.id.desc())
                .limit(1)
            )
        channel = await self.channels.for_member(address)
        if asked is None or channel is None or asked.channel_message_id is None:
            return
        mark = _(SKIPPED_MARK) if choice.is_skip else _(CHOSE, choice=shown(choice.value))
        try:
            await channel.update(address, asked.channel_message_id, answered(asked.text, mark))
        except DeliveryError as error:
            log.warning("could not update message of session %s: %s", convo.session.id, error)

    async def _nothing_open(
        self, member: Member, incoming: IncomingMessage
    ) -> list[OutgoingMessage]:
        """No check-in open: `start` opens one; otherwise say what the member can do, and
        never offer a start that would be refused."""
        wants_start = incoming.text.strip().lower() in START_WORDS
        if wants_start:
            started = await self.delivery.start_now(member_id=member.id)
            if started is not None:
                return [started]
        ended = await self.delivery.todays_end(member.id)
        if ended is None and not wants_start:
            text = f"{_(NOTHING_OPEN)} {_(CAN_START)}"
        else:
            today = _(TODAY_OVER.get(ended or SessionState.EXPIRED, NOTHING_OPEN))
            text = f"{today} {await self._next_due(member)}\n{_(HELP_HINT)}"
        message = OutgoingMessage(text)
        event = incoming.event_id or uuid.uuid4().hex
        await self._notify(member, message, key=f"notice:{event}")
        return [message]

    async def _next_due(self, member: Member) -> str:
        async with self.sessions() as db:
            upcoming = await next_checkin(db, member, self.clock.now())
        if upcoming is None:
            return _(NONE_PLANNED)
        agent = shown(upcoming.agent)
        return _(NEXT_DUE, agent=agent, local=upcoming.local, timezone=member.timezone)


def spoken_to(member: Member, org: Organization) -> str:
    """The language to speak with `member`: their own, else their org's default."""
    return member_language(member.language, org.language)


def reply_key(turn_id: int) -> str:
    """The outbox key of the agent's reply to the member turn `turn_id`."""
    return f"reply:{turn_id}"
