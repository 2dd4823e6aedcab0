"""The output schemas take their disclosed attributes from one definition per field group."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from app.cooperation.schemas import PartyOut
from app.matches.schemas import MatchedOrganization
from app.organizations import disclosure
from app.organizations.schemas import (
    GROUP_SCHEMAS,
    AlwaysShown,
    OrganizationOut,
    OrganizationSummary,
    PublicTeaser,
)

# every shape that shows an organisation, with the groups it carries whole ("city" of address)
SHAPES: dict[type[BaseModel], set[str]] = {
    OrganizationOut: {"name", "website", "contacts", "employees", "address", "description"}
    | {"founded"},
    OrganizationSummary: {"name", "website", "contacts", "employees"},
    PublicTeaser: {"name", "website", "contacts", "employees", "address", "description"}
    | {"founded"},
    PartyOut: {"name", "website", "contacts", "employees"},
    MatchedOrganization: {"name"},
}


def test_one_schema_per_policy_group() -> None:
    assert {group: tuple(schema.model_fields) for group, schema in GROUP_SCHEMAS.items()} == {
        group: attributes
        for group, attributes in disclosure.GROUPS.items()
        if group not in disclosure.LIST_ATTRIBUTES
    }


@pytest.mark.parametrize("shape", list(SHAPES), ids=lambda s: s.__name__)
def test_each_shape_declares_no_disclosed_attribute_of_its_own(shape: type[BaseModel]) -> None:
    """A shape carries whole groups (the summary and the match the city of the address), and
    each disclosed attribute comes from its group's schema: same type, default and text."""
    carried = {
        group
        for group, schema in GROUP_SCHEMAS.items()
        if set(schema.model_fields) <= set(shape.model_fields)
    }
    assert carried == SHAPES[shape]
    for schema in GROUP_SCHEMAS.values():
        for name, field in schema.model_fields.items():
            if name in shape.model_fields:
                mine = shape.model_fields[name]
                assert (mine.annotation, mine.default, mine.description) == (
                    field.annotation,
                    field.default,
                    field.description,
                ), (shape.__name__, name)
                assert issubclass(shape, GROUP_SCHEMAS_OF[name]), (shape.__name__, name)
    assert {"hidden_fields", "disclosure_level"} <= set(shape.model_fields)


# the class that declares each attribute (the city is declared once, for the address group too)
GROUP_SCHEMAS_OF: dict[str, type[BaseModel]] = {
    name: next(
        base
        for base in schema.__mro__
        if isinstance(base, type) and issubclass(base, BaseModel) and name in base.__annotations__
    )
    for schema in GROUP_SCHEMAS.values()
    for name in schema.model_fields
}


@pytest.mark.parametrize(
    "shape",
    [OrganizationOut, OrganizationSummary, PartyOut, MatchedOrganization],
    ids=lambda s: s.__name__,
)
def test_the_always_shown_attributes_are_declared_once(shape: type[BaseModel]) -> None:
    """id, NACE code, country, region and size class: the same fields in every shape that
    shows them with the NACE code (the anonymous teaser shows the industry instead)."""
    assert issubclass(shape, AlwaysShown)
    for name, field in AlwaysShown.model_fields.items():
        mine = shape.model_fields[name]
        assert (mine.annotation, mine.description) == (field.annotation, field.description)
    teaser = PublicTeaser.model_fields["size_class"]
    shown = AlwaysShown.model_fields["size_class"]
    assert (teaser.annotation, teaser.description) == (shown.annotation, shown.description)
