"""Who sees which part of an organisation's profile: per-group levels and staged disclosure.

Each field group has a level: "public" (whoever may see the profile at all, anonymous callers
included for public profiles), "members" (any signed-in account) or "partners" (organisations
with an accepted cooperation request with this one, either direction). Hub staff and the
organisation's own members always see everything. Sending a request is the sender's opt-in:
members of the addressee see the sender's name group while the request is not withdrawn.

Whether the caller may see the profile at all (private profiles) is decided elsewhere
(app.organizations.access.may_see); a View only says which attributes to blank out. This module
is pure: the caller's request relations are read by app.organizations.access (views_of), whose
query lives in app.cooperation.repository.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from app.auth.roles import is_staff
from app.i18n import N_, Message
from app.models.organization import Organization
from app.models.user import Role, User
from app.organizations.derived import region as region  # part of this module's API
from app.organizations.derived import size_class as size_class  # part of this module's API

LEVELS = ("public", "members", "partners")

GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("name", "external_id"),
    "website": ("website",),
    "contacts": ("contact_name", "contact_email", "contact_phone"),
    "employees": ("employees",),
    "address": ("city", "postal_code", "latitude", "longitude"),
    "description": ("description",),
    "relationships": ("relationships",),
    "founded": ("founded",),
}

DEFAULTS: dict[str, str] = {
    "name": "partners",
    "website": "partners",
    "contacts": "partners",
    "employees": "partners",
    "address": "members",
    "description": "members",
    "relationships": "partners",
    "founded": "public",
}

# attributes that are lists: hidden ones become [] rather than null
LIST_ATTRIBUTES = frozenset({"relationships"})
# the group a sender reveals to the addressee of its request
ADDRESSEE_GROUPS = frozenset({"name"})
# the group an organisation registered for an event shows to the event's attendees and
# managers: registering (or accepting an invitation) is its consent to be listed by name
ATTENDEE_GROUPS = frozenset({"name"})
_GROUP_OF = {attribute: group for group, attributes in GROUPS.items() for attribute in attributes}


@dataclass(frozen=True)
class View:
    """What one caller sees of one organisation.

    level: "owner" (own members and hub staff), "partner" (accepted request either way),
    "addressee" (the organisation sent the caller's organisation a request), "member" (any
    other signed-in account) or "anonymous"; "attendee" is how an event's attendees and
    managers see a registered organisation in the event's lists.
    """

    level: str
    hidden: frozenset[str]

    @property
    def full(self) -> bool:
        return not self.hidden

    @property
    def hidden_groups(self) -> list[str]:
        """The names of the hidden groups, sorted (the `hidden_fields` of API output)."""
        return sorted({_GROUP_OF[attribute] for attribute in self.hidden})


def levels_of(organization: Organization) -> dict[str, str]:
    """The effective level of every group: the stored settings over the defaults."""
    return stored_levels(organization.disclosure)


def group_shown(caller_level: str, group: str, group_level: str) -> bool:
    """Whether a caller at `caller_level` sees a group stored at `group_level`: the one rule
    behind every view and every SQL filter."""
    if caller_level in ("owner", "partner"):
        return True
    if caller_level == "anonymous":
        return group_level == "public"
    if caller_level == "addressee" and group in ADDRESSEE_GROUPS:
        return True
    if caller_level == "attendee" and group in ATTENDEE_GROUPS:
        return True
    return group_level in ("public", "members")


def shown_levels(caller_level: str, group: str) -> frozenset[str]:
    """The stored levels of `group` that a caller at `caller_level` sees."""
    return frozenset(level for level in LEVELS if group_shown(caller_level, group, level))


def view_for_levels(level: str, levels: Mapping[str, str]) -> View:
    """The view of a caller at `level` of an organisation whose groups are at `levels`."""
    return View(
        level=level,
        hidden=frozenset(
            attribute
            for group, group_level in levels.items()
            if not group_shown(level, group, group_level)
            for attribute in GROUPS[group]
        ),
    )


def stored_levels(stored: Mapping[str, Any] | None) -> dict[str, str]:
    """The effective level of every group from a stored `disclosure` value."""
    stored = stored or {}
    return {
        group: stored[group] if stored.get(group) in LEVELS else default
        for group, default in DEFAULTS.items()
    }


def caller_level(
    user: User | None, organization_id: int, partners: set[int], senders: set[int]
) -> str:
    """The caller's level for one organisation, given the caller's request relations."""
    if user is None:
        return "anonymous"
    if is_staff(user):
        return "owner"
    if user.role != Role.member.value or user.organization_id is None:
        return "member"
    if user.organization_id == organization_id:
        return "owner"
    if organization_id in partners:
        return "partner"
    if organization_id in senders:
        return "addressee"
    return "member"


# words of a firm's name that identify nobody: legal forms and fillers
_LEGAL_WORDS = frozenset(
    [
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "ohg",
        "ug",
        "se",
        "gbr",
        "kgaa",
        "co",
        "ek",
        "e.k.",
        "eg",
        "e.v.",
        "ev",
        "ltd",
        "inc",
        "llc",
        "plc",
        "sarl",
        "sa",
        "sas",
        "bv",
        "nv",
        "srl",
        "spa",
        "ab",
        "as",
        "oy",
        "haftungsbeschränkt",
        "und",
        "and",
        "the",
        "der",
        "die",
        "das",
        "für",
        "for",
        "von",
        "of",
    ]
)
_WORD = re.compile(r"[\w][\w.&'-]*[\w]|[\w]", re.UNICODE)
MASK = "[…]"


def identifying_terms(name: str | None, website: str | None) -> list[str]:
    """What gives a hidden name away in a text: the name itself, its distinctive words (four
    letters or more, legal forms left out) and the website's domain label, longest first."""
    terms: set[str] = set()
    if name:
        words = [w for w in _WORD.findall(name) if w.casefold().strip(".") not in _LEGAL_WORDS]
        terms.update(w for w in words if len(w) >= 4)
        if words:
            terms.add(" ".join(words))
        terms.add(name.strip())
    if website:
        host = urlsplit(website if "//" in website else f"//{website}").hostname or ""
        labels = [label for label in host.split(".") if label and label != "www"]
        if len(labels) >= 2:
            terms.add(labels[-2])
            terms.add(".".join(labels[-2:]))
    unique: dict[str, str] = {}
    for term in sorted((t for t in terms if len(t) >= 3), key=lambda t: (-len(t), t)):
        unique.setdefault(term.casefold(), term)  # "Sensotec" before "sensotec"
    return list(unique.values())


def mentions(text: str | None, terms: Sequence[str]) -> list[str]:
    """The terms that occur in `text` (case-insensitive)."""
    if not text:
        return []
    folded = text.casefold()
    return [t for t in terms if t.casefold() in folded]


def mask(text: str | None, terms: Sequence[str]) -> str | None:
    """`text` with every term (case-insensitive) replaced by MASK."""
    if not text or not terms:
        return text
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    return pattern.sub(MASK, text)


def name_mentions(organization: Any) -> list[dict[str, str]]:
    """Warnings for a profile whose name is not public: where its description or competences
    give the name away (its words, the website's domain). Those who may not see the name read
    the text masked; the warning says where, so the organisation can rewrite it."""
    return [
        {"field": field, "message": str(message)}
        for field, message in name_mention_messages(organization)
    ]


def name_mention_messages(organization: Any) -> list[tuple[str, Message]]:
    """`name_mentions` as (field, message), the message a template and its values."""
    if stored_levels(getattr(organization, "disclosure", None))["name"] == "public":
        return []
    terms = identifying_terms(organization.name, organization.website)
    out = []
    found = mentions(organization.description, terms)
    if found:
        out.append(("description", mention_message(found)))
    for i, competence in enumerate(organization.competences or ()):
        for key in ("label", "description"):
            found = mentions(getattr(competence, key, None), terms)
            if found:
                out.append((f"competences[{i}].{key}", mention_message(found)))
    return out


def mention_message(found: Sequence[str]) -> Message:
    """A name-mention warning's sentence: a template and its values (pages translate it)."""
    return Message(
        N_(
            "mentions %(names)s, which gives away the name you do not show to everyone; "
            "callers who may not see the name read it masked"
        ),
        names=", ".join(f"“{t}”" for t in found),
    )


def _masked_competence(item: Any, terms: Sequence[str]) -> Any:
    if isinstance(item, BaseModel):
        update: dict[str, Any] = {
            key: mask(getattr(item, key), terms)
            for key in ("label", "description")
            if key in type(item).model_fields
        }
        return item.model_copy(update=update)
    values = item if isinstance(item, Mapping) else vars(item)
    out = {k: values[k] for k in ("id", "kind", "label", "description") if k in values}
    for key in ("label", "description"):
        if key in out:
            out[key] = mask(out[key], terms)
    return out


def redact(values: Mapping[str, Any], view: View) -> dict[str, Any]:
    """A copy of an organisation's attributes with hidden ones blanked (null, [] for lists),
    plus `hidden_fields` and `disclosure_level`. Where the name is hidden, what gives it away
    in the description and competences (its words, the website's domain) is masked."""
    out = dict(values)
    if "name" in view.hidden and out.get("name"):
        terms = identifying_terms(out.get("name"), out.get("website"))
        if "description" in out:
            out["description"] = mask(out["description"], terms)
        if out.get("competences"):
            out["competences"] = [_masked_competence(c, terms) for c in out["competences"]]
    for attribute in view.hidden:
        if attribute in out:
            out[attribute] = [] if attribute in LIST_ATTRIBUTES else None
    out["hidden_fields"] = view.hidden_groups
    out["disclosure_level"] = view.level
    return out
