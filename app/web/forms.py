"""Reading the pages' forms into the services' inputs, and what the pages compute from them."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.i18n import N_, FieldProblem, Formatter, Message
from app.models import Organization
from app.organizations import repository as organization_repository
from app.organizations.schemas import SCALAR_FIELDS, OrganizationPatch

KINDS = ("core", "complementary", "peripheral")
RELATIONSHIP_TYPES = ("customer", "supplier", "partner")
# one customer above this share of revenue is the dependency the platform helps to reduce
DEPENDENCY_SHARE = 0.5
# scalar fields edited as text; the rest (visibility, opt-out) have their own inputs
TEXT_FIELDS = tuple(f for f in SCALAR_FIELDS if f not in {"visibility", "hide_from_competitors"})
_ROW = re.compile(r"^(comp|rel)-([A-Za-z0-9_]{1,40})-(\w+)$")


def _token() -> str:
    return secrets.token_hex(6)


@dataclass
class CompetenceRow:
    key: str
    kind: str
    label: str = ""
    description: str = ""

    @classmethod
    def blank(cls, kind: str) -> CompetenceRow:
        return cls(key=_token(), kind=kind)


@dataclass
class RelationshipRow:
    key: str
    type: str = "customer"
    name: str = ""
    external_id: str = ""
    share: str = ""  # percent, as typed

    @classmethod
    def blank(cls) -> RelationshipRow:
        return cls(key=_token())

    def share_fraction(self) -> float | None:
        text = self.share.strip().replace(",", ".").rstrip("%").strip()
        if not text:
            return None
        try:
            return float(text) / 100
        except ValueError:
            return None


@dataclass
class ProfileForm:
    """The profile editor's values, as stored or as typed."""

    version: int
    loaded_at: dt.datetime | None
    values: dict[str, str]
    visibility: str
    hide_from_competitors: bool
    interests: list[str]
    competences: list[CompetenceRow]
    relationships: list[RelationshipRow]
    disclosure: dict[str, str]

    @classmethod
    def from_organization(
        cls, org: Organization, levels: dict[str, str], related_names: Mapping[int, str]
    ) -> ProfileForm:
        """The stored profile; a linked organisation is named (with its external_id) only
        where `related_names` has it, i.e. where the editor may see its name; otherwise the
        row shows the name the profile stated, which saving again keeps linked."""
        values = {}
        for name in TEXT_FIELDS:
            value = getattr(org, name)
            values[name] = "" if value is None else str(value)
        return cls(
            version=org.version,
            loaded_at=dt.datetime.now(dt.UTC),
            values=values,
            visibility=org.visibility,
            hide_from_competitors=org.hide_from_competitors,
            interests=list(org.cooperation_interests or []),
            competences=[
                CompetenceRow(
                    key=str(c.id), kind=c.kind, label=c.label, description=c.description or ""
                )
                for c in org.competences
            ],
            relationships=[
                RelationshipRow(
                    key=str(r.id),
                    type=r.type,
                    name=related_names.get(r.related_organization_id, r.name)
                    if r.related_organization_id is not None
                    else r.name,
                    external_id=(r.external_id or "")
                    if r.related_organization_id in related_names
                    else "",
                    share="" if r.revenue_share is None else f"{r.revenue_share * 100:g}",
                )
                for r in org.relationships
            ],
            disclosure=dict(levels),
        )

    @classmethod
    def from_form(cls, data: FormData) -> ProfileForm:
        def text(name: str) -> str:
            value = data.get(name)
            return value.strip() if isinstance(value, str) else ""

        rows: dict[tuple[str, str], dict[str, str]] = {}
        removed: set[tuple[str, str]] = set()
        for name, value in data.multi_items():
            match = _ROW.match(name)
            if match is None or not isinstance(value, str):
                continue
            key = (match.group(1), match.group(2))
            if match.group(3) == "remove":
                removed.add(key)
            rows.setdefault(key, {})[match.group(3)] = value.strip()
        competences = [
            CompetenceRow(
                key=key,
                kind=v.get("kind", "core"),
                label=v.get("label", ""),
                description=v.get("description", ""),
            )
            for (what, key), v in rows.items()
            if what == "comp" and (what, key) not in removed and v.get("label")
        ]
        relationships = [
            RelationshipRow(
                key=key,
                type=v.get("type", "customer"),
                name=v.get("name", ""),
                external_id=v.get("external_id", ""),
                share=v.get("share", ""),
            )
            for (what, key), v in rows.items()
            if what == "rel"
            and (what, key) not in removed
            and (v.get("name") or v.get("external_id"))
        ]
        loaded = text("loaded_at")
        try:
            loaded_at: dt.datetime | None = dt.datetime.fromisoformat(loaded) if loaded else None
        except ValueError:
            loaded_at = None
        try:
            version = int(text("version"))
        except ValueError:
            version = 0
        return cls(
            version=version,
            loaded_at=loaded_at,
            values={name: text(name) for name in TEXT_FIELDS},
            visibility=text("visibility") or "public",
            hide_from_competitors=text("hide_from_competitors") == "on",
            interests=[v for v in data.getlist("interest") if isinstance(v, str)],
            competences=competences,
            relationships=relationships,
            disclosure={
                group[len("disclosure-") :]: value
                for group, value in data.multi_items()
                if group.startswith("disclosure-") and isinstance(value, str)
            },
        )

    def competences_of(self, kind: str) -> list[CompetenceRow]:
        return [c for c in self.competences if c.kind == kind]

    def to_patch(self) -> OrganizationPatch:
        """The change as the API takes it (raises ValidationError naming the fields)."""
        body: dict[str, Any] = {"version": self.version}
        for name in TEXT_FIELDS:
            body[name] = self.values.get(name) or None
        body["visibility"] = self.visibility
        body["hide_from_competitors"] = self.hide_from_competitors
        body["cooperation_interests"] = self.interests
        body["competences"] = [
            {"kind": c.kind, "label": c.label, "description": c.description or None}
            for c in self.competences
        ]
        relationships = []
        for r in self.relationships:
            share: Any = r.share_fraction()
            if r.share.strip() and share is None:
                share = r.share  # let validation name the field
            item: dict[str, Any] = {"type": r.type, "revenue_share": share}
            if r.external_id:
                item["external_id"] = r.external_id
            else:
                item["name"] = r.name
            relationships.append(item)
        body["relationships"] = relationships
        body["disclosure"] = dict(self.disclosure)
        return OrganizationPatch.model_validate(body)

    def preview_values(self) -> dict[str, Any]:
        """The values as shown in the preview (what a viewer would read)."""
        values: dict[str, Any] = {name: self.values.get(name) or None for name in TEXT_FIELDS}
        values["external_id"] = None
        values["relationships"] = [r.name or r.external_id for r in self.relationships]
        values["competences"] = [{"kind": c.kind, "label": c.label} for c in self.competences]
        return values

    def dependency_warning(self) -> RelationshipRow | None:
        """The customer that carries more than half of the revenue, if one does."""
        for r in self.relationships:
            share = r.share_fraction()
            if r.type == "customer" and share is not None and share > DEPENDENCY_SHARE:
                return r
        return None


# pydantic's own complaints, by their type, in the pages' words (values from the error's ctx)
PYDANTIC_MESSAGES: dict[str, str] = {
    "string_too_long": N_("use at most %(max_length)s characters"),
    "string_too_short": N_("use at least %(min_length)s characters"),
    "too_long": N_("give at most %(max_length)s entries"),
    "greater_than_equal": N_("must be at least %(ge)s"),
    "less_than_equal": N_("must be at most %(le)s"),
    "greater_than": N_("must be more than %(gt)s"),
    "less_than": N_("must be less than %(lt)s"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "missing": N_("is required"),
    "enum": N_("must be one of the offered choices"),
    "literal_error": N_("must be one of the offered choices"),
}


@dataclass(frozen=True)
class FieldMessage:
    """A validation message as shown: the text and its language (English when the catalogue
    has no translation of it)."""

    text: str
    lang: str

    def __str__(self) -> str:
        return self.text


def pydantic_message(error: Mapping[str, Any]) -> Message:
    """One of pydantic's complaints as a template marked for the catalogues and its values
    (pydantic's own English where no template words it)."""
    ctx = error.get("ctx") or {}
    template = PYDANTIC_MESSAGES.get(error["type"])
    if template is not None:
        return Message(template, **ctx)
    problem = ctx.get("error")
    if isinstance(problem, FieldProblem):
        return problem.message
    if isinstance(problem, ValueError):
        return Message(str(problem))
    return Message(str(error["msg"]))


def _message(error: Mapping[str, Any], text: Formatter) -> FieldMessage:
    """`pydantic_message` in the language of `text` (English where the catalogue has no
    translation), pydantic's limits written as numbers of that language."""
    message = pydantic_message(error)
    values = message.values
    if error["type"] in PYDANTIC_MESSAGES:
        values = {k: text.number(v) if isinstance(v, int | float) else v for k, v in values.items()}
    shown = text.gettext(message.template, **values)
    english = message.template % values if values else message.template
    return FieldMessage(shown, text.locale if shown != english else "en")


def field_errors(exc: ValidationError, text: Formatter | None = None) -> dict[str, FieldMessage]:
    """Field path -> message, the way the form names its inputs, in the language of `text`
    (pydantic's English without it)."""
    out: dict[str, FieldMessage] = {}
    for error in exc.errors(include_url=False):
        path = ".".join(str(p) for p in error["loc"]) or "form"
        if path not in out:
            out[path] = (
                _message(error, text) if text is not None else FieldMessage(error["msg"], "en")
            )
    return out


# --- dashboard, filters -----------------------------------------------------------------------


def completeness(org: Organization) -> list[tuple[str, bool]]:
    """What a good profile has, each with whether this one has it."""
    kinds = {c.kind for c in org.competences}
    return [
        ("description", bool(org.description and len(org.description) >= 80)),
        ("nace_code", org.nace_code is not None),
        ("location", org.country is not None and org.postal_code is not None),
        ("coordinates", org.latitude is not None),
        ("employees", org.employees is not None),
        ("website", org.website is not None),
        ("contacts", org.contact_email is not None),
        ("core", "core" in kinds),
        ("needs", "complementary" in kinds),
        ("interests", bool(org.cooperation_interests)),
        ("relationships", bool(org.relationships)),
    ]


def changed_since(
    session: Session, organization_ids: Sequence[int], since: dt.datetime | None
) -> set[int]:
    """The organisations created or changed after `since` (all of them without one)."""
    found = organization_repository.organizations_by_id(session, list(organization_ids))
    if since is None:
        return set(found)
    return {oid for oid, org in found.items() if org.modified_at > since or org.created_at > since}


@dataclass
class MatchFilterForm:
    countries: list[str] = field(default_factory=list)
    max_distance_km: float | None = None
    nace: list[str] = field(default_factory=list)
    size: str = ""
    interests: list[str] = field(default_factory=list)
    include_competitors: bool = True
    exclude_known: bool = True
    error: str | None = None
    raw: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls,
        *,
        country: str,
        max_distance_km: str,
        nace: str,
        size: str,
        interests: list[str],
        include_competitors: str | None,
        exclude_known: str | None,
        submitted: bool,
    ) -> MatchFilterForm:
        from app.organizations.schemas import CooperationInterest

        form = cls(raw={"country": country, "max_distance_km": max_distance_km, "nace": nace})
        form.countries = [c.strip().upper() for c in re.split(r"[,\s]+", country) if c.strip()]
        if any(not re.fullmatch(r"[A-Z]{2}", c) for c in form.countries):
            form.error = "country"
        form.nace = [n.strip() for n in re.split(r"[,\s]+", nace) if n.strip()]
        if any(not re.fullmatch(r"\d{2}(\.\d{1,2})?", n) for n in form.nace):
            form.error = "nace"
        if max_distance_km.strip():
            try:
                form.max_distance_km = float(max_distance_km.replace(",", "."))
                if not 0 < form.max_distance_km <= 20000:
                    raise ValueError
            except ValueError:
                form.error = "distance"
        form.size = size if size in {"micro", "small", "medium", "large"} else ""
        known = {i.value for i in CooperationInterest}
        form.interests = [i for i in interests if i in known]
        if submitted:
            form.include_competitors = include_competitors == "on"
            form.exclude_known = exclude_known == "on"
        return form
