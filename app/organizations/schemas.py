"""Request and response bodies for organisations; `OrganizationRecord` is the public import contract."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any, Literal, Self

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.i18n import N_, FieldProblem
from app.organizations.derived import SizeClass
from app.organizations.disclosure import GROUPS, LEVELS, region, size_class
from app.taxonomy.nace import nace_entries, normalize_nace_code
from app.text_types import check_line, check_text


class CompetenceKind(enum.StrEnum):
    core = "core"
    complementary = "complementary"
    peripheral = "peripheral"


class RelationshipType(enum.StrEnum):
    customer = "customer"
    supplier = "supplier"
    partner = "partner"


class CooperationInterest(enum.StrEnum):
    data_sharing = "data_sharing"
    product_development = "product_development"
    purchasing_sales = "purchasing_sales"
    competence_building = "competence_building"
    training = "training"


class Visibility(enum.StrEnum):
    public = "public"
    members = "members"
    private = "private"


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


# German names hub staff type into spreadsheets; English names and alpha-3 codes come from pycountry
_COUNTRY_ALIASES = {
    "deutschland": "DE",
    "österreich": "AT",
    "oesterreich": "AT",
    "schweiz": "CH",
    "frankreich": "FR",
    "italien": "IT",
    "niederlande": "NL",
    "holland": "NL",
    "belgien": "BE",
    "luxemburg": "LU",
    "polen": "PL",
    "tschechien": "CZ",
    "slowakei": "SK",
    "ungarn": "HU",
    "slowenien": "SI",
    "kroatien": "HR",
    "dänemark": "DK",
    "schweden": "SE",
    "norwegen": "NO",
    "finnland": "FI",
    "spanien": "ES",
    "großbritannien": "GB",
    "vereinigtes königreich": "GB",
    "uk": "GB",
    "irland": "IE",
    "rumänien": "RO",
    "griechenland": "GR",
    "türkei": "TR",
}


def _check_country(value: str | None) -> str | None:
    """ISO 3166-1 alpha-2; also takes alpha-3 codes and English or common German names."""
    if value is None:
        return None
    text = value.strip()
    if len(text) == 2 and pycountry.countries.get(alpha_2=text.upper()) is not None:
        return text.upper()
    alias = _COUNTRY_ALIASES.get(text.casefold())
    if alias is not None:
        return alias
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        raise ValueError(
            N_("must be an ISO 3166-1 alpha-2 country code such as DE, AT or CH")
        ) from None


def _check_nace(value: str | None) -> str | None:
    if value is None:
        return None
    code = normalize_nace_code(value)
    # NACE Rev. 2 classes that Rev. 2.1 renumbered (62.01 -> 62.10) are still common in
    # registers; they are kept as given as long as their division exists
    if code is None or (code not in nace_entries() and code[:2] not in nace_entries()):
        raise ValueError(N_("unknown NACE code (expected e.g. 'C', '26', '26.5' or '26.51')"))
    return code


def _check_website(value: str | None) -> str | None:
    if value is None:
        return None
    url = value.strip()
    if "://" not in url:
        url = "https://" + url
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    if scheme.lower() not in {"http", "https"} or "." not in host or " " in url:
        raise ValueError(N_("must be an http(s) address such as https://www.example.de"))
    return url


def _check_founded(value: int | None) -> int | None:
    if value is not None and not 1500 <= value <= dt.date.today().year:
        raise FieldProblem(
            N_("must be a year between %(low)d and %(high)d"), low=1500, high=dt.date.today().year
        )
    return value


def _check_last_year(value: int | None) -> int | None:
    if value is not None and not 1900 <= value <= dt.date.today().year:
        raise FieldProblem(
            N_("must be a year between %(low)d and %(high)d"), low=1900, high=dt.date.today().year
        )
    return value


def _check_email(value: str | None) -> str | None:
    if value is None:
        return None
    email = value.strip()
    local, at, domain = email.rpartition("@")
    if (
        not at
        or not local
        or "@" in local
        or "." not in domain.strip(".")
        or any(c.isspace() for c in email)
    ):
        raise ValueError(N_("must be an e-mail address such as name@example.de"))
    # the domain part is case-insensitive; the local part is kept as written
    return f"{local}@{domain.lower()}"


def _check_phone(value: str | None) -> str | None:
    if value is not None and sum(c.isdigit() for c in value) < 3:
        raise ValueError(N_("must be a telephone number such as +49 711 123456"))
    return value


_Line = AfterValidator(check_line)
_MultiLine = AfterValidator(check_text)
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), _Line]


Str200 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _Line
]
Str300 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), _Line
]
# optional strings: blank means null
_Blank = BeforeValidator(_blank_to_none)
OptStr20 = Annotated[Annotated[str, StringConstraints(max_length=20), _Line] | None, _Blank]
OptStr200 = Annotated[Annotated[str, StringConstraints(max_length=200), _Line] | None, _Blank]
OptStr300 = Annotated[Annotated[str, StringConstraints(max_length=300), _Line] | None, _Blank]
# descriptions may span lines (tab, CR, LF); other control characters are refused
OptStr2000 = Annotated[
    Annotated[str, StringConstraints(max_length=2000), _MultiLine] | None, _Blank
]
OptStr20000 = Annotated[
    Annotated[str, StringConstraints(max_length=20000), _MultiLine] | None, _Blank
]
# optional numbers: the range sits on the inner type, so an explicit null is simply null
Latitude = Annotated[Annotated[float, Field(ge=-90, le=90)] | None, _Blank]
Longitude = Annotated[Annotated[float, Field(ge=-180, le=180)] | None, _Blank]
# the largest employers have about 2.3 million staff; the column is a 32-bit INTEGER
MAX_EMPLOYEES = 10_000_000
Employees = Annotated[Annotated[int, Field(ge=0, le=MAX_EMPLOYEES)] | None, _Blank]
Share = Annotated[Annotated[float, Field(ge=0, le=1)] | None, _Blank]
MAX_JOINT_PROJECTS = 100_000
JointProjects = Annotated[
    Annotated[int, Field(ge=1, le=MAX_JOINT_PROJECTS, strict=False)] | None, _Blank
]
LastYear = Annotated[int | None, BeforeValidator(_blank_to_none), AfterValidator(_check_last_year)]

Country = Annotated[
    Annotated[str, StringConstraints(max_length=100), _Line] | None,
    BeforeValidator(_blank_to_none),
    AfterValidator(_check_country),
]
NaceCode = Annotated[
    Annotated[str, StringConstraints(max_length=20), _Line] | None,
    BeforeValidator(_blank_to_none),
    AfterValidator(_check_nace),
]
Website = Annotated[
    Annotated[str, StringConstraints(max_length=500), _Line] | None,
    BeforeValidator(_blank_to_none),
    AfterValidator(_check_website),
]
Founded = Annotated[int | None, BeforeValidator(_blank_to_none), AfterValidator(_check_founded)]
ContactEmail = Annotated[
    Annotated[str, StringConstraints(max_length=320), _Line] | None,
    BeforeValidator(_blank_to_none),
    AfterValidator(_check_email),
]
ContactPhone = Annotated[
    Annotated[str, StringConstraints(max_length=50), _Line] | None,
    BeforeValidator(_blank_to_none),
    AfterValidator(_check_phone),
]
DisclosureLevel = Literal["public", "members", "partners"]
assert set(LEVELS) == {"public", "members", "partners"}


# the contract's single-valued fields, in contract order (external_id aside)
SCALAR_FIELDS = (
    "name",
    "description",
    "nace_code",
    "country",
    "city",
    "postal_code",
    "latitude",
    "longitude",
    "employees",
    "website",
    "founded",
    "visibility",
    "contact_name",
    "contact_email",
    "contact_phone",
    "hide_from_competitors",
)
# the organisation's own privacy choices: an import changes them only where the file gives them
SOVEREIGNTY_FIELDS = frozenset(
    {"disclosure", "hide_from_competitors", "contact_name", "contact_email", "contact_phone"}
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CompetenceIn(_Strict):
    kind: CompetenceKind
    label: Str200
    description: OptStr2000 = None


class RelationshipIn(_Strict):
    """A known customer, supplier or partner: another organisation by external_id, or just a name."""

    type: RelationshipType
    external_id: OptStr200 = None
    name: OptStr300 = None
    revenue_share: Share = None
    joint_projects: JointProjects = Field(
        default=None,
        description="How many cooperations (projects, orders, contracts) the two have had "
        "together; null: not stated (the ranking counts one)",
    )
    last_year: LastYear = Field(
        default=None,
        description="The calendar year of their latest cooperation; null: not stated (the "
        "ranking does not age the relationship)",
    )

    @model_validator(mode="after")
    def _one_reference(self) -> Self:
        if (self.external_id is None) == (self.name is None):
            raise ValueError(N_("give exactly one of external_id or name"))
        return self


class DisclosureIn(_Strict):
    """Who sees which group of fields: public, members (signed in) or partners (an accepted
    cooperation request). A group left out (or null) keeps its default."""

    name: DisclosureLevel | None = Field(default=None, description="name, external_id")
    website: DisclosureLevel | None = None
    contacts: DisclosureLevel | None = Field(
        default=None, description="contact_name, contact_email, contact_phone"
    )
    employees: DisclosureLevel | None = Field(
        default=None, description="the exact head count (the size class is always shown)"
    )
    address: DisclosureLevel | None = Field(
        default=None, description="city, postal_code, latitude, longitude"
    )
    description: DisclosureLevel | None = None
    relationships: DisclosureLevel | None = None
    founded: DisclosureLevel | None = None

    def levels(self) -> dict[str, str]:
        """The groups that were given, with their level."""
        return {group: level for group, level in self.model_dump().items() if level is not None}


assert set(DisclosureIn.model_fields) == set(GROUPS)


def _unique_competences(items: list[CompetenceIn]) -> list[CompetenceIn]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for item in items:
        key = (item.kind.value, item.label.casefold())
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _check_revenue_shares(items: list[RelationshipIn]) -> list[RelationshipIn]:
    total = sum(r.revenue_share or 0.0 for r in items if r.type is RelationshipType.customer)
    if total > 1.0 + 1e-9:
        raise FieldProblem(
            N_("customer revenue shares add up to %(total).2f, more than 1"), total=total
        )
    return items


def _unique_interests(items: list[CooperationInterest]) -> list[CooperationInterest]:
    return list(dict.fromkeys(items))


# per organisation; research institutes list thousands of project partners (CORDIS: 609 ECSEL
# partners of one Fraunhofer institute alone)
MAX_COMPETENCES = 200
MAX_RELATIONSHIPS = 5_000
Competences = Annotated[
    list[CompetenceIn], Field(max_length=MAX_COMPETENCES), AfterValidator(_unique_competences)
]
Relationships = Annotated[
    list[RelationshipIn],
    Field(max_length=MAX_RELATIONSHIPS),
    AfterValidator(_check_revenue_shares),
]
Interests = Annotated[
    list[CooperationInterest], Field(max_length=100), AfterValidator(_unique_interests)
]


class OrganizationFields(_Strict):
    """The profile fields shared by create, import and full update."""

    name: Str300
    description: OptStr20000 = None
    nace_code: NaceCode = None
    country: Country = None
    city: OptStr200 = None
    postal_code: OptStr20 = None
    latitude: Latitude = None
    longitude: Longitude = None
    employees: Employees = None
    website: Website = None
    founded: Founded = None
    competences: Competences = Field(default_factory=list)
    relationships: Relationships = Field(default_factory=list)
    cooperation_interests: Interests = Field(default_factory=list)
    visibility: Visibility = Visibility.public
    contact_name: OptStr200 = None
    contact_email: ContactEmail = None
    contact_phone: ContactPhone = None
    disclosure: DisclosureIn = Field(
        default_factory=DisclosureIn,
        description="Per group of fields, who sees it; left-out groups keep their defaults",
    )
    hide_from_competitors: bool = Field(
        default=False, description="Never shown in the matches or searches of competitors"
    )

    @model_validator(mode="after")
    def _coordinates_in_pairs(self) -> Self:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError(N_("latitude and longitude go together: give both or neither"))
        return self


class OrganizationCreate(OrganizationFields):
    external_id: OptStr200 = None


class OrganizationRecord(OrganizationFields):
    """One record of the public import contract (external_id required: re-imports update by it)."""

    external_id: Str200


class OrganizationPatch(_Strict):
    """Partial update; lists given here replace the stored lists as a whole."""

    version: int | None = Field(
        default=None, description="The version you read; a stale one gives 409. Or send If-Match."
    )
    external_id: OptStr200 = None
    name: Str300 | None = None
    description: OptStr20000 = None
    nace_code: NaceCode = None
    country: Country = None
    city: OptStr200 = None
    postal_code: OptStr20 = None
    latitude: Latitude = None
    longitude: Longitude = None
    employees: Employees = None
    website: Website = None
    founded: Founded = None
    competences: Competences | None = None
    relationships: Relationships | None = None
    cooperation_interests: Interests | None = None
    visibility: Visibility | None = None
    contact_name: OptStr200 = None
    contact_email: ContactEmail = None
    contact_phone: ContactPhone = None
    disclosure: DisclosureIn | None = Field(
        default=None,
        description="Groups given here change; null for a group restores its default",
    )
    hide_from_competitors: bool | None = None

    @field_validator("name", "visibility", "disclosure", "hide_from_competitors")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError(N_("may not be null"))
        return value


class CompetenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: CompetenceKind
    label: str
    description: str | None


class RelationshipOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: RelationshipType
    related_organization_id: int | None = Field(
        description="Null when the linked organisation's name is not disclosed to the caller"
    )
    external_id: str | None
    name: str | None = Field(
        description="Null for a linked organisation whose name is not disclosed to the caller"
    )
    revenue_share: float | None
    joint_projects: int | None = None
    last_year: int | None = None


LEVEL_DESCRIPTION = (
    "How the caller sees this organisation: owner (own members and hub staff), partner "
    "(accepted cooperation request), addressee (it sent the caller's organisation a request), "
    "member (signed in) or anonymous"
)
DisclosureView = Literal["owner", "partner", "addressee", "member", "anonymous"]


def derived_attributes(organization: Any) -> dict[str, Any]:
    """Attributes computed from the full stored profile, before anything is blanked."""
    return {
        "region": region(organization.country, organization.postal_code),
        "size_class": size_class(organization.employees),
        "verified": organization.verified_at is not None,
    }


# The disclosed attributes, one class per field group of the policy (disclosure.GROUPS; the
# relationships group is a list whose shape differs by output). Every output that shows an
# organisation takes its disclosed attributes from these, so they are declared once; a test
# keeps them equal to the policy's groups. Null means: not disclosed to the caller.
class NameGroup(BaseModel):
    name: str | None = Field(default=None, description="Null when not disclosed to the caller")
    external_id: str | None = None


class WebsiteGroup(BaseModel):
    website: str | None = None


class ContactsGroup(BaseModel):
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None


class EmployeesGroup(BaseModel):
    employees: int | None = None


class CityField(BaseModel):
    """The part of the address group that lists and matches show."""

    city: str | None = None


class AddressGroup(CityField):
    postal_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class DescriptionGroup(BaseModel):
    description: str | None = None


class FoundedGroup(BaseModel):
    founded: int | None = None


GROUP_SCHEMAS: dict[str, type[BaseModel]] = {
    "name": NameGroup,
    "website": WebsiteGroup,
    "contacts": ContactsGroup,
    "employees": EmployeesGroup,
    "address": AddressGroup,
    "description": DescriptionGroup,
    "founded": FoundedGroup,
}


SIZE_CLASS_TEXT = "micro < 10, small < 50, medium < 250 employees, else large"


class AlwaysShown(BaseModel):
    """What every shape shows of an organisation whatever the caller's view: the id, the
    classification and the coarse place and size that stand in for what the view hides."""

    id: int
    nace_code: str | None
    country: str | None
    region: str | None = Field(
        description="Country plus the first postal-code digit for DE/AT/CH ('DE-7')"
    )
    size_class: SizeClass | None = Field(description=SIZE_CLASS_TEXT)


class ShownTo(BaseModel):
    """What every disclosed output says about the caller's view."""

    hidden_fields: list[str] = Field(
        default_factory=list, description="The groups hidden from the caller, sorted"
    )
    disclosure_level: DisclosureView = Field(description=LEVEL_DESCRIPTION)


class _Disclosed(
    ShownTo, ContactsGroup, WebsiteGroup, EmployeesGroup, CityField, NameGroup, AlwaysShown
):
    """Shared by the full profile and the list entry: what disclosure adds to the output.

    Built only from the values of a caller's view (app.organizations.service, through
    app.organizations.views.disclosed): there is no way from an ORM object to this output that
    skips the view.
    """

    cooperation_interests: list[CooperationInterest]
    visibility: Visibility
    verified: bool = Field(description="Checked by hub staff")
    disclosure: dict[str, DisclosureLevel] | None = Field(
        description="The level of every group (own members and staff only, else null)"
    )
    hide_from_competitors: bool | None = Field(
        description="The competitor opt-out (own members and staff only, else null)"
    )
    disclosure_level: DisclosureView = Field(description=LEVEL_DESCRIPTION)


class ProfileWarning(BaseModel):
    field: str
    message: str


class OrganizationOut(_Disclosed, FoundedGroup, DescriptionGroup, AddressGroup):
    warnings: list[ProfileWarning] = Field(
        default_factory=list,
        description="After a write only: where the text gives away a name that is not public",
    )
    version: int
    created_at: dt.datetime
    modified_at: dt.datetime
    competences: list[CompetenceOut]
    relationships: list[RelationshipOut]


class OrganizationSummary(_Disclosed):
    pass


class OrganizationPage(BaseModel):
    items: list[OrganizationSummary]
    total: int
    limit: int
    offset: int


class CompetenceTeaser(BaseModel):
    kind: Literal["core", "complementary", "peripheral"]
    label: str


class PublicTeaser(
    ShownTo,
    FoundedGroup,
    DescriptionGroup,
    AddressGroup,
    EmployeesGroup,
    ContactsGroup,
    WebsiteGroup,
    NameGroup,
):
    """What anonymous callers see of a public profile: the always-shown attributes (the
    industry instead of the NACE code) plus the groups the organisation made public (the
    others null)."""

    id: int
    industry: str | None = Field(description="NACE division (or section letter)")
    country: str | None
    size_class: SizeClass | None = Field(description=SIZE_CLASS_TEXT)
    region: str | None = None
    competences: list[CompetenceTeaser]
    cooperation_interests: list[str]
    relationships: list[RelationshipOut] = Field(default_factory=list)
    verified: bool = False
    disclosure_level: DisclosureView = Field(default="anonymous", description=LEVEL_DESCRIPTION)


class PublicTeaserPage(BaseModel):
    items: list[PublicTeaser]
    total: int
    limit: int
    offset: int
