"""Demo telephony set-up for `make run`: queues with numbers, skills, teams and opening hours."""

from __future__ import annotations

from typing import Any

from accounts.models import CustomerGroup
from telephony.models import (
    Agent,
    AgentGroup,
    AgentSkill,
    OrgUnit,
    Position,
    Queue,
    QueueSkill,
    Skill,
)

SKILLS = (("deutsch", "Deutsch"), ("englisch", "Englisch"), ("technik", "Technik"))
# username -> {skill code: level}
AGENT_SKILLS = {
    "agent": {"deutsch": 5, "englisch": 3, "technik": 4},
    "agent2": {"deutsch": 5, "technik": 2},
    "agent3": {"deutsch": 4, "englisch": 5},
    "supervisor": {"deutsch": 5, "englisch": 4, "technik": 5},
}


def telephony_demo_seed(*, users: dict[str, Any]) -> dict[str, int]:
    """Create the demo queues and teams once; running it again changes nothing."""
    skills = {
        code: Skill.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in SKILLS
    }
    center, _ = OrgUnit.objects.get_or_create(name="Kundenservice", parent=None)
    first_level, _ = OrgUnit.objects.get_or_create(name="1st Level", parent=center)
    team, _ = AgentGroup.objects.get_or_create(
        name="Team Hotline", defaults={"org_unit": first_level}
    )
    agents = {
        name: agent
        for name in AGENT_SKILLS
        if name in users and (agent := Agent.objects.filter(user=users[name]).first()) is not None
    }
    team.members.add(*agents.values())
    for name, levels in AGENT_SKILLS.items():
        agent = agents.get(name)
        if agent is None:
            continue
        for code, level in levels.items():
            AgentSkill.objects.get_or_create(
                agent=agent, skill=skills[code], defaults={"level": level}
            )
    if "supervisor" in agents:
        Position.objects.get_or_create(
            name="Teamleitung", org_unit=first_level, defaults={"holder": agents["supervisor"]}
        )
    created = 0
    hotline, new = Queue.objects.get_or_create(
        number="7000",
        defaults={
            "name": "Hotline",
            "priority": 5,
            "busy_announcement": "Alle Plätze sind belegt. Sie werden gleich verbunden.",
            "closed_announcement": "Sie rufen außerhalb unserer Servicezeiten an.",
        },
    )
    created += new
    technik, new = Queue.objects.get_or_create(
        number="7001",
        defaults={
            "name": "Technik",
            "priority": 6,
            "overflow_queue": hotline,
            "overflow_after_seconds": 120,
            "busy_announcement": "Unsere Technik-Experten sind gleich für Sie da.",
        },
    )
    created += new
    if new:
        QueueSkill.objects.create(queue=technik, skill=skills["technik"], min_level=2)
    business, new = Queue.objects.get_or_create(
        number="7002", defaults={"name": "Geschäftskunden", "priority": 7}
    )
    created += new
    gewerbe = CustomerGroup.objects.filter(code="gewerbe").first()
    if new and gewerbe is not None:
        business.customer_groups.add(gewerbe)
    for queue in (hotline, technik, business):
        queue.agent_groups.add(team)
    return {"queues": created}
