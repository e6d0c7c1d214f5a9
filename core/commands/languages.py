"""`language`, `language de` and `language org fr`: the language VizDots speaks with a
member (their own, else the organisation's, else English).

What is stored stays language-neutral; only what VizDots says changes."""

from __future__ import annotations

from core.commands import types as c
from core.commands.context import CommandContext
from core.commands.values import LANGUAGE_NAMES, languages_in_words
from core.i18n import _, member_language, speaking


def _named(code: str) -> str:
    return f"{LANGUAGE_NAMES[code]} ({code})"


async def show_language(ctx: CommandContext, command: c.LanguageShow) -> str:
    own, org = ctx.member.language, ctx.org.language
    spoken = _named(member_language(own, org))
    lines = [
        _("I speak {language} with you (your own choice).", language=spoken)
        if own
        else _("I speak {language} with you (your organisation's language).", language=spoken),
        _("I speak {languages}. Choose yours with `language de`.", languages=languages_in_words()),
    ]
    if ctx.is_admin:
        lines.append(
            _(
                "The organisation's language is {language}; `language org fr` changes it.",
                language=_named(member_language(None, org)),
            )
        )
    return "\n".join(lines)


async def set_language(ctx: CommandContext, command: c.LanguageSet) -> str:
    """The member's own language; the confirmation already comes in it."""
    before = ctx.member.language
    ctx.member.language = command.language
    ctx.audit("member.language", language=command.language, before=before)
    with speaking(command.language):
        return _(
            "Done: I'll speak {language} with you from now on.",
            language=_named(command.language),
        )


async def set_org_language(ctx: CommandContext, command: c.LanguageOrg) -> str:
    """The organisation's language, for every member who has not chosen their own."""
    before = ctx.org.language
    ctx.org.language = command.language
    ctx.audit("org.language", language=command.language, before=before)
    with speaking(member_language(ctx.member.language, command.language)):
        return _(
            "Done: the organisation's language is {language} now, for everyone who hasn't "
            "chosen their own.",
            language=_named(command.language),
        )
