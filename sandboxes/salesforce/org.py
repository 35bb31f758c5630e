"""The sandbox org's data: records by sObject with an undo journal, and the data model
(validation, derived fields, cascades, autonumbers), seeded from the demo landscape."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandboxes import demo_data
from sandboxes.salesforce.schema import (
    CORPORATE_CURRENCY,
    COUNTRIES,
    COUNTRY_BY_NAME,
    SCHEMA,
    SEED_EPOCH,
    STRING_TYPES,
    DmlError,
    SObjectType,
    api_error,
    cannot_deserialize,
    coerce,
    currency_places,
    format_datetime,
    normalize_id,
    not_found,
    quantize,
    salesforce_id,
)

# ===================================================================== the org


@dataclass(slots=True)
class SandboxFaults:
    """Fault injection knobs; mutate them on a running sandbox."""

    latency_seconds: float = 0.0  # added before every response
    fail_next: int = 0  # answer the next N data calls with 503 SERVER_UNAVAILABLE


Record = dict[str, Any]


class _Store:
    """Records by sObject and id, with secondary indexes and an undo journal."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Record]] = {name: {} for name in SCHEMA}
        # (type, field) -> casefolded value -> ordered ids (15-char keys)
        self.ext_index: dict[tuple[str, str], dict[str, dict[str, None]]] = {}
        # (child type, lookup field) -> parent 15-char id -> ordered child 15-char ids
        self.child_index: dict[tuple[str, str], dict[str, dict[str, None]]] = {}
        self.journal: list[tuple[str, str, Record | None]] = []
        for obj in SCHEMA.values():
            for f in obj.field_list:
                if f.external_id:
                    self.ext_index[(obj.name, f.name)] = {}
                if f.type == "reference":
                    self.child_index[(obj.name, f.name)] = {}

    # -- raw access
    def get(self, sobject: str, record_id: str | None) -> Record | None:
        if not record_id:
            return None
        return self.tables[sobject].get(record_id[:15])

    def children(self, sobject: str, lookup: str, parent_id: str) -> list[Record]:
        keys = self.child_index[(sobject, lookup)].get(parent_id[:15], {})
        table = self.tables[sobject]
        return [table[key] for key in keys]

    def by_external_id(self, sobject: str, field_name: str, value: str) -> list[Record]:
        keys = self.ext_index[(sobject, field_name)].get(value.casefold(), {})
        table = self.tables[sobject]
        return [table[key] for key in keys]

    # -- journaled writes
    def put(self, sobject: str, record: Record) -> None:
        key = record["Id"][:15]
        self.journal.append((sobject, key, self.tables[sobject].get(key)))
        self._put(sobject, record)

    def remove(self, sobject: str, key: str) -> None:
        old = self.tables[sobject].get(key[:15])
        if old is not None:
            self.journal.append((sobject, key[:15], old))
            self._remove(sobject, key[:15])

    def rollback(self, mark: int) -> None:
        while len(self.journal) > mark:
            sobject, key, old = self.journal.pop()
            if old is None:
                self._remove(sobject, key)
            else:
                self._put(sobject, old)

    # -- index maintenance
    def _put(self, sobject: str, record: Record) -> None:
        key = record["Id"][:15]
        old = self.tables[sobject].get(key)
        if old is not None:
            self._index(sobject, key, old, add=False)
        self.tables[sobject][key] = record  # an update keeps the record's place
        self._index(sobject, key, record, add=True)

    def _remove(self, sobject: str, key: str) -> None:
        record = self.tables[sobject].pop(key)
        self._index(sobject, key, record, add=False)

    def _index(self, sobject: str, key: str, record: Record, *, add: bool) -> None:
        for f in SCHEMA[sobject].field_list:
            value = record.get(f.name)
            if value is None:
                continue
            index: dict[str, dict[str, None]] | None = None
            bucket_key = ""
            if f.external_id:
                index, bucket_key = self.ext_index[(sobject, f.name)], str(value).casefold()
            elif f.type == "reference":
                index, bucket_key = self.child_index[(sobject, f.name)], value[:15]
            if index is None:
                continue
            if add:
                index.setdefault(bucket_key, {})[key] = None
            else:
                bucket = index.get(bucket_key)
                if bucket is not None:
                    bucket.pop(key, None)
                    if not bucket:
                        del index[bucket_key]


class Org:
    """The data model: validation, derived fields, cascades, autonumbers, seeding."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.store = _Store()
        self.clock = clock
        self._counters: dict[str, int] = {}
        self._autonumbers: dict[str, int] = {}
        self.standard_pricebook_id: str | None = None

    # ---------------------------------------------------------------- helpers
    def new_id(self, key_prefix: str) -> str:
        number = self._counters.get(key_prefix, 0) + 1
        self._counters[key_prefix] = number
        return salesforce_id(key_prefix, number)

    def _autonumber(self, name: str, width: int) -> str:
        number = self._autonumbers.get(name, 0) + 1
        self._autonumbers[name] = number
        return str(number).zfill(width)

    def _now(self) -> str:
        return format_datetime(self.clock())

    def find(self, sobject: str, raw_id: str) -> Record | None:
        canonical = normalize_id(raw_id)
        if canonical is None or not canonical.startswith(SCHEMA[sobject].key_prefix):
            return None
        return self.store.get(sobject, canonical)

    # -------------------------------------------------------------------- DML
    def insert(self, sobject: str, values: Any) -> Record:
        obj = SCHEMA[sobject]
        changes = self._bind(obj, values, creating=True)
        record: Record = {f.name: f.default for f in obj.field_list}
        record.update(changes)
        self._validate_references(obj, record, changes)
        missing = [f.name for f in obj.field_list if f.required and record[f.name] is None]
        if missing:
            raise DmlError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        self._derive(obj, record, None, changes)
        self._validate_values(obj, record, None, changes)
        now = self._now()
        record["Id"] = self.new_id(obj.key_prefix)
        record["CreatedDate"] = record["LastModifiedDate"] = record["SystemModstamp"] = now
        self._finalize(obj, record)
        self.store.put(sobject, record)
        self._after_write(obj, record, None)
        return record

    def update(self, sobject: str, record_id: str, values: Any) -> Record:
        obj = SCHEMA[sobject]
        old = self.store.get(sobject, record_id)
        if old is None:
            raise not_found()
        if isinstance(values, dict) and any(k.casefold() == "id" for k in values):
            given = next(v for k, v in values.items() if k.casefold() == "id")
            if not isinstance(given, str) or normalize_id(given) != old["Id"]:
                raise DmlError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    "Unable to create/update fields: Id. Please check the security settings of "
                    "this field and verify that it is read/write for your profile or "
                    "permission set.",
                    ["Id"],
                )
            values = {k: v for k, v in values.items() if k.casefold() != "id"}
        changes = self._bind(obj, values, creating=False)
        record = dict(old)
        record.update(changes)
        self._validate_references(obj, record, changes)
        missing = [f.name for f in obj.field_list if f.required and record[f.name] is None]
        if missing:
            raise DmlError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        self._derive(obj, record, old, changes)
        self._validate_values(obj, record, old, changes)
        record["LastModifiedDate"] = record["SystemModstamp"] = self._now()
        self._finalize(obj, record)
        self.store.put(sobject, record)
        self._after_write(obj, record, old)
        return record

    def delete(self, sobject: str, record_id: str) -> None:
        root = self.store.get(sobject, record_id)
        if root is None:
            raise not_found()
        if sobject == "Pricebook2" and root["IsStandard"]:
            raise DmlError(
                "DELETE_FAILED",
                "Your attempt to delete Standard Price Book could not be completed because "
                "the standard price book cannot be deleted.",
            )
        doomed: dict[tuple[str, str], Record] = {}
        pending = [(sobject, root)]
        while pending:
            kind, record = pending.pop()
            if (kind, record["Id"][:15]) in doomed:
                continue
            doomed[(kind, record["Id"][:15])] = record
            for rel in SCHEMA[kind].children.values():
                if rel.field.on_delete == "cascade":
                    pending.extend(
                        (rel.child, child)
                        for child in self.store.children(rel.child, rel.field.name, record["Id"])
                    )
        for (kind, _key), record in doomed.items():
            for rel in SCHEMA[kind].children.values():
                if rel.field.on_delete != "restrict":
                    continue
                for child in self.store.children(rel.child, rel.field.name, record["Id"]):
                    if (rel.child, child["Id"][:15]) not in doomed:
                        name = root.get("Name") or root["Id"]
                        raise DmlError(
                            "DELETE_FAILED",
                            f"Your attempt to delete {name} could not be completed because "
                            f"it is associated with the following "
                            f"{SCHEMA[rel.child].label_plural.lower()}.: "
                            f"{child.get('LineNumber') or child['Id']}",
                        )
        touched_quotes: set[str] = set()
        now = self._now()
        for (kind, key), record in doomed.items():
            for rel in SCHEMA[kind].children.values():
                if rel.field.on_delete != "clear":
                    continue
                for child in self.store.children(rel.child, rel.field.name, record["Id"]):
                    if (rel.child, child["Id"][:15]) in doomed:
                        continue
                    cleared = dict(child)
                    cleared[rel.field.name] = None
                    cleared["SystemModstamp"] = now
                    self.store.put(rel.child, cleared)
            if kind == "Quote":
                opportunity = self.store.get("Opportunity", record["OpportunityId"])
                if (
                    opportunity is not None
                    and ("Opportunity", opportunity["Id"][:15]) not in doomed
                    and opportunity["SyncedQuoteId"] == record["Id"]
                ):
                    self.store.put("Opportunity", {**opportunity, "SyncedQuoteId": None})
            self.store.remove(kind, key)
            if kind == "QuoteLineItem":
                touched_quotes.add(record["QuoteId"])
        for quote_id in touched_quotes:
            if self.store.get("Quote", quote_id) is not None:
                self._recompute_quote(quote_id)

    # ------------------------------------------------------------- validation
    def _bind(self, obj: SObjectType, values: Any, *, creating: bool) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise cannot_deserialize(obj.name, values)
        changes: dict[str, Any] = {}
        read_only: list[str] = []
        for key, raw in values.items():
            if key == "attributes":
                continue
            f = obj.field(key)
            if f is None:
                raise api_error(
                    400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
                )
            if not (f.createable if creating else f.updateable):
                read_only.append(f.name)
                continue
            changes[f.name] = coerce(f, raw)
        if read_only:
            raise DmlError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set.",
                read_only,
            )
        if not creating:
            for f in obj.field_list:
                if f.name in changes and changes[f.name] is None and f.type == "boolean":
                    changes[f.name] = False
        return changes

    def _validate_references(
        self, obj: SObjectType, record: Record, changes: Mapping[str, Any]
    ) -> None:
        for name, value in changes.items():
            f = obj.fields[name.casefold()]
            if f.type != "reference" or value is None:
                continue
            target = SCHEMA[f.reference_to or ""]
            canonical = normalize_id(value)
            if canonical is None or not canonical.startswith(target.key_prefix):
                raise DmlError(
                    "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name]
                )
            if self.store.get(target.name, canonical) is None:
                raise DmlError(
                    "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name]
                )
            record[name] = canonical

    def _validate_values(
        self, obj: SObjectType, record: Record, old: Record | None, changes: Mapping[str, Any]
    ) -> None:
        for name in changes:
            f = obj.fields[name.casefold()]
            value = record[f.name]
            if value is None:
                continue
            if f.restricted and value not in f.picklist:
                raise DmlError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{f.label}: bad value for restricted picklist field: {value}",
                    [f.name],
                )
            if f.type in STRING_TYPES and f.length and len(value) > f.length:
                raise DmlError(
                    "STRING_TOO_LONG",
                    f"{f.label}: data value too large: {value} (max length={f.length})",
                    [f.name],
                )
            if f.type == "percent" and not Decimal(0) <= value <= Decimal(100):
                raise DmlError(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{f.label}: value outside of valid range on numeric field: {value}",
                    [f.name],
                )
            if f.unique:
                for other in self.store.by_external_id(obj.name, f.name, str(value)):
                    if old is None or other["Id"] != old["Id"]:
                        raise DmlError(
                            "DUPLICATE_VALUE",
                            f"duplicate value found: {f.name} duplicates value on record "
                            f"with id: {other['Id']}",
                            [f.name],
                        )

    # ---------------------------------------------------- object-specific rules
    def _derive(
        self, obj: SObjectType, record: Record, old: Record | None, changes: Mapping[str, Any]
    ) -> None:
        if "CurrencyIsoCode" in record and record["CurrencyIsoCode"] is None and old is None:
            record["CurrencyIsoCode"] = CORPORATE_CURRENCY
        handler = getattr(self, f"_derive_{obj.name.lower()}", None)
        if handler is not None:
            handler(record, old, changes)

    def _derive_account(
        self, record: Record, old: Record | None, changes: Mapping[str, Any]
    ) -> None:
        if "BillingCountryCode" in changes and "BillingCountry" not in changes:
            code = record["BillingCountryCode"]
            record["BillingCountryCode"] = code.upper() if code else None
            known = COUNTRIES.get(record["BillingCountryCode"] or "")
            record["BillingCountry"] = known[0] if known else record["BillingCountryCode"]
        elif "BillingCountry" in changes and "BillingCountryCode" not in changes:
            country = record["BillingCountry"]
            if country is None:
                record["BillingCountryCode"] = None
            elif country.upper() in COUNTRIES:
                record["BillingCountryCode"] = country.upper()
            elif country.casefold() in COUNTRY_BY_NAME:
                record["BillingCountryCode"] = COUNTRY_BY_NAME[country.casefold()]

    def _derive_pricebookentry(
        self, record: Record, old: Record | None, changes: Mapping[str, Any]
    ) -> None:
        product = self.store.get("Product2", record["Product2Id"])
        assert product is not None
        record["Name"] = product["Name"]
        record["ProductCode"] = product["ProductCode"]
        if old is not None:
            return
        currency = record["CurrencyIsoCode"]
        for entry in self.store.children("PricebookEntry", "Product2Id", product["Id"]):
            if entry["CurrencyIsoCode"] == currency and entry["Pricebook2Id"] == record[
                "Pricebook2Id"
            ]:
                raise DmlError(
                    "DUPLICATE_VALUE",
                    "This price definition already exists in this price book",
                )
        pricebook = self.store.get("Pricebook2", record["Pricebook2Id"])
        assert pricebook is not None
        if not pricebook["IsStandard"] and not any(
            entry["CurrencyIsoCode"] == currency and entry["Pricebook2Id"]
            == self.standard_pricebook_id
            for entry in self.store.children("PricebookEntry", "Product2Id", product["Id"])
        ):
            raise DmlError(
                "STANDARD_PRICE_NOT_DEFINED",
                "Before creating a custom price, create a standard price.",
            )
        if record["UseStandardPrice"] and pricebook["IsStandard"]:
            raise DmlError(
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: UseStandardPrice (standard price book entries "
                "cannot use the standard price)",
                ["UseStandardPrice"],
            )

    def _derive_opportunity(
        self, record: Record, old: Record | None, changes: Mapping[str, Any]
    ) -> None:
        synced = changes.get("SyncedQuoteId")
        if synced is None:
            return
        quote = self.store.get("Quote", synced)
        if quote is None or quote["OpportunityId"] != record.get("Id"):
            raise DmlError(
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: SyncedQuoteId (the synced quote must belong to "
                "this opportunity)",
                ["SyncedQuoteId"],
            )

    def _derive_quote(self, record: Record, old: Record | None, changes: Mapping[str, Any]) -> None:
        opportunity = self.store.get("Opportunity", record["OpportunityId"])
        assert opportunity is not None
        record["AccountId"] = opportunity["AccountId"]
        if old is None:
            if record["Pricebook2Id"] is None:
                record["Pricebook2Id"] = opportunity["Pricebook2Id"]
            given = changes.get("CurrencyIsoCode")
            if given is not None and given != opportunity["CurrencyIsoCode"]:
                raise DmlError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "field integrity exception: CurrencyIsoCode (the quote currency must match "
                    "the opportunity currency)",
                    ["CurrencyIsoCode"],
                )
            record["CurrencyIsoCode"] = opportunity["CurrencyIsoCode"]
            record["QuoteNumber"] = self._autonumber("QuoteNumber", 8)
            record["LineItemCount"] = 0
            for total in ("Subtotal", "TotalPrice", "GrandTotal"):
                record[total] = Decimal(0)
            record["Discount"] = None
        elif (
            changes.get("Pricebook2Id", old["Pricebook2Id"]) != old["Pricebook2Id"]
            and self.store.children("QuoteLineItem", "QuoteId", record["Id"])
        ):
            raise DmlError(
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: Pricebook2Id (cannot change the price book of a "
                "quote that has line items)",
                ["Pricebook2Id"],
            )
        places = currency_places(record["CurrencyIsoCode"])
        if record["Tax"] is not None:
            record["Tax"] = quantize(record["Tax"], places)
        record["GrandTotal"] = record["TotalPrice"] + (record["Tax"] or Decimal(0))

    def _derive_quotelineitem(
        self, record: Record, old: Record | None, changes: Mapping[str, Any]
    ) -> None:
        quote = self.store.get("Quote", record["QuoteId"])
        entry = self.store.get("PricebookEntry", record["PricebookEntryId"])
        assert quote is not None
        assert entry is not None
        if old is None:
            if quote["Pricebook2Id"] != entry["Pricebook2Id"]:
                raise DmlError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "field integrity exception: PricebookEntryId (pricebook entry is in a "
                    "different pricebook than the one assigned to the Quote, or Quote has no "
                    "pricebook assigned)",
                    ["PricebookEntryId"],
                )
            if entry["CurrencyIsoCode"] != quote["CurrencyIsoCode"]:
                raise DmlError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "field integrity exception: PricebookEntryId (pricebook entry currency code "
                    "does not match Quote currency code)",
                    ["PricebookEntryId"],
                )
            if not entry["IsActive"]:
                raise DmlError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "field integrity exception: PricebookEntryId (pricebook entry is inactive)",
                    ["PricebookEntryId"],
                )
            if record["Product2Id"] not in (None, entry["Product2Id"]):
                raise DmlError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "field integrity exception: Product2Id (product does not match the price "
                    "book entry)",
                    ["Product2Id"],
                )
            record["Product2Id"] = entry["Product2Id"]
            record["LineNumber"] = self._autonumber("QuoteLineItem.LineNumber", 5)
        record["CurrencyIsoCode"] = quote["CurrencyIsoCode"]
        self._price_line(record, entry)

    def _price_line(self, line: Record, entry: Record) -> None:
        places = currency_places(line["CurrencyIsoCode"])
        line["ListPrice"] = entry["UnitPrice"]
        line["UnitPrice"] = quantize(line["UnitPrice"], places)
        line["Quantity"] = quantize(line["Quantity"], 2)
        if line["Discount"] is not None:
            line["Discount"] = quantize(line["Discount"], 2)
        subtotal = quantize(line["Quantity"] * line["UnitPrice"], places)
        factor = Decimal(1) - (line["Discount"] or Decimal(0)) / Decimal(100)
        line["Subtotal"] = subtotal
        line["TotalPrice"] = quantize(subtotal * factor, places)

    def _finalize(self, obj: SObjectType, record: Record) -> None:
        """Round currency fields to the record currency's decimals."""
        places = currency_places(record.get("CurrencyIsoCode"))
        for f in obj.field_list:
            value = record[f.name]
            if isinstance(value, Decimal):
                record[f.name] = quantize(value, places if f.type == "currency" else f.scale)

    def _after_write(self, obj: SObjectType, record: Record, old: Record | None) -> None:
        if obj.name == "Opportunity":
            before = old["SyncedQuoteId"] if old is not None else None
            if record["SyncedQuoteId"] != before:
                self._mark_syncing(before, syncing=False)
                self._mark_syncing(record["SyncedQuoteId"], syncing=True)
        elif obj.name == "QuoteLineItem":
            self._recompute_quote(record["QuoteId"])
        elif obj.name == "Product2" and old is not None and (
            record["Name"] != old["Name"] or record["ProductCode"] != old["ProductCode"]
        ):
            for entry in self.store.children("PricebookEntry", "Product2Id", record["Id"]):
                synced = dict(entry)
                synced["Name"], synced["ProductCode"] = record["Name"], record["ProductCode"]
                self.store.put("PricebookEntry", synced)

    def _mark_syncing(self, quote_id: str | None, *, syncing: bool) -> None:
        quote = self.store.get("Quote", quote_id)
        if quote is not None and quote["IsSyncing"] != syncing:
            self.store.put("Quote", {**quote, "IsSyncing": syncing})

    def _recompute_quote(self, quote_id: str, *, stamp: str | None = None) -> None:
        quote = self.store.get("Quote", quote_id)
        assert quote is not None
        lines = self.store.children("QuoteLineItem", "QuoteId", quote_id)
        places = currency_places(quote["CurrencyIsoCode"])
        subtotal = sum((line["Subtotal"] for line in lines), Decimal(0))
        total = sum((line["TotalPrice"] for line in lines), Decimal(0))
        updated = dict(quote)
        updated["LineItemCount"] = len(lines)
        updated["Subtotal"] = quantize(subtotal, places)
        updated["TotalPrice"] = quantize(total, places)
        updated["Discount"] = (
            quantize((subtotal - total) / subtotal * 100, 2) if subtotal else None
        )
        updated["GrandTotal"] = updated["TotalPrice"] + (quote["Tax"] or Decimal(0))
        updated["SystemModstamp"] = stamp or self._now()
        self.store.put("Quote", updated)

    # ----------------------------------------------------------------- seeding
    def seed(self) -> None:
        """Load the demo world; deterministic ids and timestamps, no validation."""
        tick = [0]

        def stamp() -> str:
            tick[0] += 1
            return format_datetime(SEED_EPOCH + timedelta(minutes=7 * tick[0]))

        def put(sobject: str, values: Record) -> Record:
            obj = SCHEMA[sobject]
            record: Record = {f.name: f.default for f in obj.field_list}
            record.update(values)
            record["Id"] = self.new_id(obj.key_prefix)
            record["CreatedDate"] = record["LastModifiedDate"] = record["SystemModstamp"] = (
                stamp()
            )
            self._finalize(obj, record)
            self.store._put(sobject, record)
            return record

        standard = put("Pricebook2", {
            "Name": "Standard Price Book", "IsStandard": True, "IsActive": True,
            "Description": "Company list prices",
        })  # fmt: skip
        partner = put("Pricebook2", {
            "Name": "Partner Price Book", "IsStandard": False, "IsActive": True,
            "Description": "Channel partner prices (10% below list)",
        })  # fmt: skip
        self.standard_pricebook_id = standard["Id"]
        families = {"HW": "Hardware", "SW": "Software", "SV": "Services"}
        entries: dict[tuple[str, str], Record] = {}  # (material, currency) -> standard entry
        for product in demo_data.PRODUCTS:
            product2 = put("Product2", {
                "Name": product.name, "ProductCode": product.material,
                "Description": f"{product.name} (SAP material {product.material}, "
                               f"type {product.product_type})",
                "Family": families.get(product.product_group[:2]),
                "IsActive": product.active,
                "QuantityUnitOfMeasure": "Hour" if product.base_unit == "H" else "Each",
                "CurrencyIsoCode": CORPORATE_CURRENCY,
            })  # fmt: skip
            for book, factor in ((standard, Decimal(1)), (partner, Decimal("0.9"))):
                for currency, price in product.list_prices.items():
                    entry = put("PricebookEntry", {
                        "Name": product.name, "ProductCode": product.material,
                        "Pricebook2Id": book["Id"], "Product2Id": product2["Id"],
                        "UnitPrice": quantize(Decimal(price) * factor,
                                               currency_places(currency)),
                        "CurrencyIsoCode": currency, "IsActive": product.active,
                        "UseStandardPrice": False,
                    })  # fmt: skip
                    if book is standard:
                        entries[(product.material, currency)] = entry
        accounts: list[Record] = []
        for account in demo_data.ACCOUNTS:
            country = COUNTRIES.get(account.country)
            accounts.append(put("Account", {
                "Name": account.name, "Website": account.website, "Industry": account.industry,
                "BillingStreet": account.street, "BillingCity": account.city,
                "BillingPostalCode": account.postal_code,
                "BillingStateCode": account.region or None,
                "BillingCountry": country[0] if country else account.country,
                "BillingCountryCode": account.country, "Tax_ID__c": account.tax_id,
                "SAP_Business_Partner__c": account.sap_business_partner,
                "Legal_Entity__c": account.selling_entity,
                "CurrencyIsoCode": country[1] if country else CORPORATE_CURRENCY,
            }))  # fmt: skip
        stages = {"Accepted": "Closed Won", "Denied": "Closed Lost", "Rejected": "Closed Lost"}
        for quote in demo_data.QUOTES:
            account_id = accounts[quote.account_index]["Id"]
            opportunity = put("Opportunity", {
                "Name": quote.name, "AccountId": account_id,
                "StageName": stages.get(quote.status, "Proposal/Price Quote"),
                "CloseDate": quote.expiration_date, "Pricebook2Id": standard["Id"],
                "CurrencyIsoCode": quote.currency,
            })  # fmt: skip
            quote_record = put("Quote", {
                "Name": quote.name, "QuoteNumber": self._autonumber("QuoteNumber", 8),
                "Status": quote.status, "AccountId": account_id,
                "OpportunityId": opportunity["Id"], "Pricebook2Id": standard["Id"],
                "CurrencyIsoCode": quote.currency, "ExpirationDate": quote.expiration_date,
                "LineItemCount": 0, "Subtotal": Decimal(0), "TotalPrice": Decimal(0),
                "GrandTotal": Decimal(0), "Tax": Decimal(0),
            })  # fmt: skip
            for line in quote.lines:
                entry = entries[(line.material, quote.currency)]
                record: Record = {
                    "QuoteId": quote_record["Id"], "PricebookEntryId": entry["Id"],
                    "Product2Id": entry["Product2Id"],
                    "LineNumber": self._autonumber("QuoteLineItem.LineNumber", 5),
                    "Quantity": Decimal(line.quantity), "UnitPrice": entry["UnitPrice"],
                    "Discount": Decimal(line.discount_percent),
                    "CurrencyIsoCode": quote.currency,
                }  # fmt: skip
                self._price_line(record, entry)
                put("QuoteLineItem", record)
            self._recompute_quote(quote_record["Id"], stamp=quote_record["SystemModstamp"])
            # Each demo opportunity has one quote, its primary one, syncing.
            self.store._put("Opportunity", {**opportunity, "SyncedQuoteId": quote_record["Id"]})
            synced = self.store.get("Quote", quote_record["Id"])
            assert synced is not None
            self.store._put("Quote", {**synced, "IsSyncing": True})
        self.store.journal.clear()
