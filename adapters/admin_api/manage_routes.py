"""Admin API: the organisation, its tokens, members, agents and schedules."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from adapters.admin_api import schemas as s
from adapters.admin_api.auth import AdminAuth
from core.admin import agents, people, privacy, schedules
from core.admin.schedules import KEEP, ScheduleChange, ScheduleSpec
from core.admin.scope import NotFound, OrgScope
from core.admin.tokens import PREFIX, TokenRole, list_tokens, revoke_token
from core.domain import AgentSpec, Question

MemberId = Annotated[int, Path(ge=1, le=2**62)]
ScheduleId = Annotated[int, Path(ge=1, le=2**62)]
AgentSlug = Annotated[str, Path(pattern=s.Slug.__metadata__[0].pattern)]
TokenId = Annotated[str, Path(pattern=r"^(vzd_)?[0-9a-f]{8}$")]


def manage_routes(router: APIRouter, auth: AdminAuth) -> None:
    """Declare the routes on `router` (bot/admin_api.py's, prefixed /api/admin/v1)."""
    Viewer = Annotated[OrgScope, auth.depends(TokenRole.VIEWER)]
    Admin = Annotated[OrgScope, auth.depends(TokenRole.ADMIN)]
    Owner = Annotated[OrgScope, auth.depends(TokenRole.OWNER)]

    @router.get("/org", summary="Read the organisation")
    async def read_org(scope: Viewer) -> s.OrgOut:
        """The organisation the token belongs to: name, plan, disabled agents, whether model
        prompts are kept.
        """
        return s.OrgOut.model_validate(await people.org_of(scope))

    @router.patch("/org", summary="Change organisation settings")
    async def update_org(scope: Admin, body: s.OrgUpdate) -> s.OrgOut:
        """Safe fields only: `name`, `store_ai_text`, `anonymity_threshold`, `mood_drop_alert`,
        `holiday_region`, `language`.
        Billing fields follow Stripe. Audited; a threshold below 5 needs
        `lower_anonymity_threshold: true`."""
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        confirmed = bool(changes.pop("lower_anonymity_threshold", False))
        org = await people.update_org(scope, changes, lower_anonymity_threshold=confirmed)
        return s.OrgOut.model_validate(org)

    @router.get("/tokens", summary="List admin API tokens")
    async def read_tokens(scope: Admin) -> list[s.TokenOut]:
        """Every token of the organisation by its prefix: name, role, creator, last use,
        revocation. Never the token itself.
        """
        rows = await list_tokens(scope.db, org_id=scope.org_id)
        return [s.TokenOut(prefix=f"{PREFIX}{r.public_id}", **_cols(r, s.TokenOut)) for r in rows]

    @router.delete("/tokens/{token_id}", status_code=204, summary="Revoke an admin API token")
    async def revoke(scope: Admin, token_id: TokenId) -> Response:
        """By its prefix (`vzd_1a2b3c4d`); idempotent; it stops working at once. Audited."""
        now = scope.clock.now()
        if (
            await revoke_token(
                scope.db, org_id=scope.org_id, public_id=token_id, actor=scope.actor, now=now
            )
            is None
        ):
            raise NotFound(f"no token {token_id} in your organisation")
        return Response(status_code=204)

    @router.get("/members", summary="List members")
    async def read_members(scope: Viewer, include_erased: bool = False) -> list[s.MemberOut]:
        """Everyone in the organisation, by name; erased members (anonymous tombstones) only
        with `include_erased`.
        """
        rows = await people.list_members(scope, include_deleted=include_erased)
        return [s.MemberOut.model_validate(row) for row in rows]

    @router.patch("/members/{member_id}", summary="Change a member's role, or deactivate")
    async def update_member(scope: Admin, member_id: MemberId, body: s.MemberUpdate) -> s.MemberOut:
        """`role` (owner, admin, member) and/or `active` (false: no more check-ins). Only an
        owner token makes or unmakes owners; the last active owner stays. Audited.
        """
        change = people.MemberChange(role=body.role, active=body.active)
        owner = scope.role is TokenRole.OWNER
        member = await people.change_member(scope, member_id, change, may_touch_owners=owner)
        return s.MemberOut.model_validate(member)

    @router.get("/members/{member_id}/export", summary="Export a member's data (GDPR art. 15)")
    async def export_member(scope: Admin, member_id: MemberId) -> s.MemberExport:
        """Everything stored about the member as JSON: profile, check-ins, messages, dots,
        emails, their audit entries. Audited.
        """
        exported = await privacy.export_member(scope, member_id)
        scope.record("member.export", member_id=member_id)
        return s.MemberExport(**exported)

    @router.delete(
        "/members/{member_id}/personal-data",
        summary="Erase a member's personal data (GDPR art. 17)",
    )
    async def erase_member(scope: Owner, member_id: MemberId) -> s.ErasureOut:
        """Removes their messages, free-text dots, summaries, kept prompts, inbox/outbox rows,
        email logs, profile and chat ids; the member becomes an anonymous tombstone so
        numeric aggregates stay. Irreversible. Audited.
        """
        return s.ErasureOut(
            member_id=member_id, removed=await privacy.erase_member(scope, member_id)
        )

    @router.get("/agents", summary="List agents")
    async def read_agents(scope: Viewer) -> list[s.AgentOut]:
        """The global agents and the organisation's own (an org agent hides a global one of the
        same slug), each enabled or disabled.
        """
        return [_agent_out(view) for view in await agents.list_agents(scope)]

    @router.post("/agents", status_code=201, summary="Create an organisation agent")
    async def create_agent(scope: Admin, body: s.AgentIn) -> s.AgentOut:
        """Its persona, goal, question plan (scale, text, choice) and the dot keys it extracts.
        Audited.
        """
        return _agent_out(await agents.create_agent(scope, _spec(body)))

    @router.patch("/agents/{slug}", summary="Enable or disable an agent")
    async def switch_agent(scope: Admin, slug: AgentSlug, body: s.AgentSwitch) -> s.AgentOut:
        """`enabled`: false stops new check-ins from it in this organisation. Audited."""
        return _agent_out(await agents.switch_agent(scope, slug, enabled=body.enabled))

    @router.get("/schedules", summary="List schedules")
    async def read_schedules(scope: Viewer) -> list[s.ScheduleOut]:
        """One per agent: weekdays, local time, participants, active, report channel."""
        return [_schedule_out(view) for view in await schedules.list_schedules(scope)]

    @router.post("/schedules", status_code=201, summary="Create a schedule")
    async def create_schedule(scope: Admin, body: s.ScheduleIn) -> s.ScheduleOut:
        """For an agent with no schedule yet: weekdays, local time (each participant's zone),
        `member_ids` (null: everyone), report channel. Audited.
        """
        spec = ScheduleSpec(
            agent=body.agent, weekdays=frozenset(body.weekdays), local_time=body.local_time,
            member_ids=None if body.member_ids is None else frozenset(body.member_ids),
            active=body.active, report_channel=body.report_channel,
        )  # fmt: skip
        return _schedule_out(await schedules.create_schedule(scope, spec))

    @router.get("/schedules/{schedule_id}", summary="Read a schedule")
    async def read_schedule(scope: Viewer, schedule_id: ScheduleId) -> s.ScheduleOut:
        """One schedule with its listed participants."""
        return _schedule_out(await schedules.get_schedule(scope, schedule_id))

    @router.patch("/schedules/{schedule_id}", summary="Change a schedule")
    async def update_schedule(
        scope: Admin, schedule_id: ScheduleId, body: s.ScheduleUpdate
    ) -> s.ScheduleOut:
        """Any of weekdays, local time, participants, active, report channel (null clears it);
        fields left out stay. Audited.
        """
        return _schedule_out(await schedules.update_schedule(scope, schedule_id, _change(body)))

    @router.delete("/schedules/{schedule_id}", status_code=204, summary="Delete a schedule")
    async def delete_schedule(scope: Admin, schedule_id: ScheduleId) -> Response:
        """Only a schedule with no check-ins yet (409 otherwise: pause it instead, so its dots
        stay). Audited.
        """
        await schedules.delete_schedule(scope, schedule_id)
        return Response(status_code=204)


def _cols(row: Any, model: type[s.BaseModel]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in model.model_fields if hasattr(row, name)}


def _agent_out(view: agents.AgentView) -> s.AgentOut:
    return s.AgentOut(
        **_cols(view.row, s.AgentOut), enabled=view.enabled,
        scope="global" if view.is_global else "organization",
    )  # fmt: skip


def _spec(body: s.AgentIn) -> AgentSpec:
    questions = tuple(
        Question(key=q.key, text=q.text, kind=q.kind, choices=tuple(q.choices))
        for q in body.questions
    )
    return AgentSpec(
        slug=body.slug, name=body.name, persona=body.persona, goal=body.goal, questions=questions,
        max_follow_ups=body.max_follow_ups, dot_keys=tuple(body.dot_keys),
    )  # fmt: skip


def _schedule_out(view: schedules.ScheduleView) -> s.ScheduleOut:
    row = view.row
    return s.ScheduleOut(
        id=row.id, agent=view.agent, weekdays=list(view.weekdays), local_time=row.local_time,
        participants=row.participants, member_ids=list(view.member_ids), active=row.active,
        report_channel=row.report_channel, created_at=row.created_at,
    )  # fmt: skip


def _change(body: s.ScheduleUpdate) -> ScheduleChange:
    given = body.model_fields_set
    ids = body.member_ids
    return ScheduleChange(
        weekdays=frozenset(body.weekdays) if body.weekdays is not None else None,
        local_time=body.local_time, active=body.active, touched=frozenset(given),
        member_ids=(None if ids is None else frozenset(ids)) if "member_ids" in given else KEEP,
        report_channel=body.report_channel if "report_channel" in given else KEEP,
    )  # fmt: skip
