"""Block Kit rendering: check-in messages with buttons, and the member's App Home."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from adapters.slack.blocks import fallback_text, home_view, message_blocks
from core.domain import Question, QuestionKind, SessionState
from core.home import MemberHome, NextCheckin, RecentCheckin
from core.ports import Button, OutgoingMessage
from core.rendering import agent_message, encode_choice

MOOD = Question(key="mood", text="How are you?", kind=QuestionKind.SCALE)


def actions(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [element for b in blocks if b["type"] == "actions" for element in b["elements"]]


def home(**changes: Any) -> MemberHome:
    values: dict[str, Any] = {
        "display_name": "Ana",
        "timezone": "Europe/Madrid",
        "next_checkin": None,
        "recent": (),
        "email_reminders": True,
        "vacation_until": None,
        "preferred_time": None,
        **changes,
    }
    return MemberHome(**values)


def all_elements(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Interactive elements of a view by action_id."""
    found = {}
    for block in view["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if "action_id" in element:
                found[element["action_id"]] = element
    return found


def test_a_message_without_buttons_is_one_mrkdwn_section() -> None:
    assert message_blocks(OutgoingMessage("Thanks, Ana!")) == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Thanks, Ana!"}}
    ]


def test_buttons_carry_their_values_in_one_actions_block() -> None:
    blocks = message_blocks(agent_message(7, "How are you?", MOOD))
    buttons = actions(blocks)
    assert blocks[-1]["block_id"] == "vizdots_choices"
    assert [b["value"] for b in buttons] == [
        *(encode_choice(7, "mood", str(n)) for n in range(1, 6)),
        encode_choice(7, "__skip__", "skip"),
    ]


def test_action_ids_are_unique_within_the_block() -> None:
    buttons = actions(message_blocks(agent_message(7, "How are you?", MOOD)))
    assert [b["action_id"] for b in buttons] == [f"vizdots_choice_{i}" for i in range(6)]


def test_button_text_is_plain_text_with_emoji() -> None:
    first = actions(message_blocks(agent_message(7, "How are you?", MOOD)))[0]
    assert first["text"] == {"type": "plain_text", "text": "1 😫", "emoji": True}


def test_the_skip_button_comes_last_without_a_style() -> None:
    skip = Button("Skip today", encode_choice(7, "__skip__", "skip"))
    message = OutgoingMessage("Q?", buttons=(skip, Button("Yes", encode_choice(7, "q", "yes"))))
    last = actions(message_blocks(message))[-1]
    assert last["value"] == skip.value and "style" not in last


def test_long_button_labels_are_cut_to_75_characters() -> None:
    message = OutgoingMessage("Q?", buttons=(Button("x" * 200, "7:q:x"),))
    assert len(actions(message_blocks(message))[0]["text"]["text"]) == 75


def test_a_button_value_over_2000_characters_is_left_out() -> None:
    message = OutgoingMessage("Q?", buttons=(Button("Long", "7:q:" + "x" * 2000),))
    assert actions(message_blocks(message)) == []


def test_more_than_25_buttons_take_several_actions_blocks() -> None:
    buttons = tuple(Button(str(i), f"7:q:{i}") for i in range(30))
    blocks = [
        b for b in message_blocks(OutgoingMessage("Q?", buttons=buttons)) if b["type"] == "actions"
    ]
    assert [len(b["elements"]) for b in blocks] == [25, 5]
    assert [b["block_id"] for b in blocks] == ["vizdots_choices", "vizdots_choices_2"]


def test_long_text_is_split_into_sections_of_at_most_3000_characters() -> None:
    text = " ".join(["word"] * 2000)
    sections = message_blocks(OutgoingMessage(text))
    assert len(sections) == 4
    assert all(len(s["text"]["text"]) <= 3000 for s in sections)


def test_slack_control_characters_are_escaped() -> None:
    message = OutgoingMessage("<!channel> & <@U1>")
    assert message_blocks(message)[0]["text"]["text"] == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert fallback_text(message) == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_the_fallback_text_is_the_message_text_without_buttons() -> None:
    assert fallback_text(agent_message(7, "How are you?", MOOD)) == "How are you?"


# --- App Home ------------------------------------------------------------------------------------
def test_the_home_is_a_home_view_with_a_header() -> None:
    view = home_view(home())
    assert view["type"] == "home"
    assert view["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Hi Ana!", "emoji": True},
    }


def test_the_home_shows_the_next_checkin_in_local_time() -> None:
    upcoming = NextCheckin("Daily check-in", datetime(2026, 11, 16, 8, tzinfo=UTC), "Mon 09:00")
    text = str(home_view(home(next_checkin=upcoming)))
    assert "Daily check-in, Mon 09:00 (Europe/Madrid time)" in text


def test_a_recent_checkin_shows_agent_date_state_and_dots() -> None:
    dots = (("mood", 4.0), ("blockers", "waiting on the design review"))
    checkin = RecentCheckin(
        "Daily check-in", date(2026, 11, 13), SessionState.COMPLETED, None, dots
    )
    texts = [b["text"]["text"] for b in home_view(home(recent=(checkin,)))["blocks"] if "text" in b]
    assert (
        "*Daily check-in* · 2026-11-13 · completed\n"
        "mood 4/5 · blockers “waiting on the design review”"
    ) in texts


def test_long_text_dots_are_cut_short() -> None:
    dots = (("blockers", "word " * 100),)
    checkin = RecentCheckin("Daily", date(2026, 11, 13), SessionState.COMPLETED, None, dots)
    section = home_view(home(recent=(checkin,)))["blocks"][4]["text"]["text"]
    assert "…”" in section and len(section) < 200


def test_email_reminders_that_are_on_offer_to_turn_them_off() -> None:
    button = all_elements(home_view(home(email_reminders=True)))["vizdots_home_email"]
    assert (button["value"], button["text"]["text"]) == ("off", "Turn off")


def test_email_reminders_that_are_off_offer_to_turn_them_on() -> None:
    button = all_elements(home_view(home(email_reminders=False)))["vizdots_home_email"]
    assert (button["value"], button["text"]["text"]) == ("on", "Turn on")


def test_the_vacation_picker_starts_at_the_vacation_end_and_can_be_ended() -> None:
    elements = all_elements(home_view(home(vacation_until=date(2026, 12, 1))))
    assert elements["vizdots_home_vacation"]["initial_date"] == "2026-12-01"
    assert "vizdots_home_vacation_end" in elements


def test_without_vacation_there_is_a_picker_and_no_end_button() -> None:
    elements = all_elements(home_view(home()))
    assert "initial_date" not in elements["vizdots_home_vacation"]
    assert "vizdots_home_vacation_end" not in elements


def test_the_home_ends_with_a_help_line() -> None:
    last = home_view(home(preferred_time=time(9, 30)))["blocks"][-1]
    assert last["type"] == "context" and "/vizdots help" in last["elements"][0]["text"]


def test_the_home_keeps_block_kit_limits_with_long_values() -> None:
    checkin = RecentCheckin("A" * 500, date(2026, 11, 13), SessionState.COMPLETED, "s" * 5000, ())
    view = home_view(home(display_name="N" * 500, recent=(checkin,) * 5))
    assert len(view["blocks"]) <= 100
    assert len(view["blocks"][0]["text"]["text"]) <= 150
    assert all(len(b["text"]["text"]) <= 3000 for b in view["blocks"] if b["type"] == "section")
