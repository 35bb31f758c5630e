"""The systems section of a configuration: checked against the plugin registry at start-up."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from gateway.settings import Settings, load_settings
from systems.plugin import SystemSettings
from systems.salesforce.plugin import SalesforceSettings

OWNERSHIP = """
[ownership]
customers = "crm"
prices = "crm"
quotes = "crm"
products = "erp"
orders = "erp"
"""
CRM = '[systems.crm]\nkind = "salesforce"\nsandbox = true\n'


def _load(tmp_path: Path, toml: str) -> Settings:
    path = tmp_path / "gateway.toml"
    path.write_text(toml + OWNERSHIP, encoding="utf-8")
    return load_settings(path)


def test_an_unknown_kind_stops_the_start_up_naming_the_system_and_field(tmp_path: Path) -> None:
    toml = CRM + '[systems.erp]\nkind = "sap_r3"\nbase_url = "https://erp.example"\n'
    with pytest.raises(SystemExit, match=r"Invalid value 'sap_r3' - at `\$\.systems\.erp\.kind`"):
        _load(tmp_path, toml)


def test_a_system_without_kind_is_named(tmp_path: Path) -> None:
    toml = CRM + '[systems.erp]\nbase_url = "https://erp.example"\n'
    with pytest.raises(SystemExit, match=r"missing required field `kind` - at `\$\.systems\.erp`"):
        _load(tmp_path, toml)


def test_a_field_of_another_vendor_is_rejected_in_its_system(tmp_path: Path) -> None:
    toml = CRM + '[systems.erp]\nkind = "sap_s4hana"\nsandbox = true\napi_key_env = "KEY"\n'
    with pytest.raises(SystemExit, match=r"unknown field `api_key_env` - at `\$\.systems\.erp`"):
        _load(tmp_path, toml)


def test_a_missing_credential_field_is_named(tmp_path: Path) -> None:
    toml = CRM + (
        '[systems.erp]\nkind = "sap_s4hana"\nbase_url = "https://erp.example"\nuser_env = "U"\n'
    )
    with pytest.raises(SystemExit, match=r"systems\.erp: set password_env"):
        _load(tmp_path, toml)


def test_a_valid_file_loads_each_system_as_its_vendors_settings(tmp_path: Path) -> None:
    toml = CRM + '[systems.erp]\nkind = "sap_s4hana"\nsandbox = true\n'
    settings = _load(tmp_path, toml)
    assert isinstance(settings.systems["crm"], SalesforceSettings)
    assert settings.embedded


def test_settings_built_in_code_with_an_unregistered_kind_name_the_field() -> None:
    class Mainframe(SystemSettings, frozen=True, tag="mainframe"):
        base_url: str = "tn3270://mainframe"

    systems = {**Settings().systems, "erp": Mainframe()}
    with pytest.raises(ValueError, match=r"^systems\.erp\.kind: Mainframe is not a registered"):
        Settings(systems=systems)  # type: ignore[dict-item]


def test_the_default_is_one_sandbox_per_registered_kind() -> None:
    systems = Settings().systems
    assert sorted(systems) == ["avalara", "netsuite", "salesforce", "sap_s4hana", "stripe"]
    assert all(system.sandbox for system in systems.values())
    assert msgspec.structs.asdict(systems["salesforce"])["base_url"] == "http://salesforce.sandbox"
