"""The facts of an OData V2 EDMX document that a client depends on, as plain data.

One reader serves both sides of the SAP conformance check: SAP's published service
metadata (reduced once to ``tests/fixtures/vendor/sap_s4hana/*.facts.json``) and the
sandbox's own ``$metadata``. Facts per entity set: the entity type, its keys, the
set's ``sap:creatable``/``updatable``/``deletable`` flags, and per property the EDM type,
nullability, ``MaxLength``, ``Precision``, ``Scale``, ``ConcurrencyMode`` and the
``sap:creatable``/``sap:updatable`` flags; per navigation property the target entity
set and the multiplicity of the target end.

Regenerate a facts file from an EDMX document the vendor published::

    python -m tests.support.edmx API_SALES_ORDER_SRV.edmx A_SalesOrder A_SalesOrderItem ...
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

EDM = "{http://schemas.microsoft.com/ado/2008/09/edm}"
SAP = "{http://www.sap.com/Protocols/SAPData}"

Facts = dict[str, Any]


def _flag(element: ET.Element, name: str) -> bool:
    return element.get(SAP + name, "true") != "false"


def _int(value: str | None) -> int | None:
    return int(value) if value is not None else None


def entity_set_facts(document: bytes, entity_sets: list[str] | None = None) -> dict[str, Facts]:
    """Facts of ``entity_sets`` (all sets when None) of the one schema in ``document``."""
    root = ET.fromstring(document)  # noqa: S314 - see the import
    types: dict[str, ET.Element] = {}
    associations: dict[str, ET.Element] = {}
    sets: dict[str, ET.Element] = {}
    set_of_type: dict[str, str] = {}
    for schema in root.iter(EDM + "Schema"):
        for entity_type in schema.findall(EDM + "EntityType"):
            types[entity_type.get("Name", "")] = entity_type
        for association in schema.findall(EDM + "Association"):
            associations[association.get("Name", "")] = association
        for container in schema.findall(EDM + "EntityContainer"):
            for entity_set in container.findall(EDM + "EntitySet"):
                name = entity_set.get("Name", "")
                sets[name] = entity_set
                set_of_type.setdefault(entity_set.get("EntityType", "").rsplit(".", 1)[-1], name)
    facts: dict[str, Facts] = {}
    for set_name in entity_sets if entity_sets is not None else sorted(sets):
        entity_set = sets[set_name]
        type_name = entity_set.get("EntityType", "").rsplit(".", 1)[-1]
        entity_type = types[type_name]
        key = entity_type.find(EDM + "Key")
        properties: dict[str, Facts] = {}
        for prop in entity_type.findall(EDM + "Property"):
            properties[prop.get("Name", "")] = {
                "type": prop.get("Type"),
                "nullable": prop.get("Nullable", "true") != "false",
                "max_length": _int(prop.get("MaxLength")),
                "precision": _int(prop.get("Precision")),
                "scale": _int(prop.get("Scale")),
                "concurrency": prop.get("ConcurrencyMode") == "Fixed",
                "creatable": _flag(prop, "creatable"),
                "updatable": _flag(prop, "updatable"),
            }
        navigations: dict[str, Facts] = {}
        for nav in entity_type.findall(EDM + "NavigationProperty"):
            association = associations[nav.get("Relationship", "").rsplit(".", 1)[-1]]
            end = next(
                e for e in association.findall(EDM + "End") if e.get("Role") == nav.get("ToRole")
            )
            target_type = end.get("Type", "").rsplit(".", 1)[-1]
            navigations[nav.get("Name", "")] = {
                "target": set_of_type.get(target_type, target_type),
                "multiplicity": end.get("Multiplicity"),
            }
        facts[set_name] = {
            "entity_type": type_name,
            "keys": [ref.get("Name") for ref in key.findall(EDM + "PropertyRef")]
            if key is not None
            else [],
            "creatable": _flag(entity_set, "creatable"),
            "updatable": _flag(entity_set, "updatable"),
            "deletable": _flag(entity_set, "deletable"),
            "properties": properties,
            "navigations": navigations,
        }
    return facts


def main(argv: list[str]) -> None:
    path, *entity_sets = argv
    facts = entity_set_facts(Path(path).read_bytes(), entity_sets or None)
    print(json.dumps(facts, indent=1, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
