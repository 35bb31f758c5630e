"""Every system-of-record plugin, by ``kind``: the one place that lists the vendors."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from systems.avalara.plugin import PLUGIN as AVALARA
from systems.avalara.plugin import AvalaraSettings
from systems.netsuite.plugin import PLUGIN as NETSUITE
from systems.netsuite.plugin import NetSuiteSettings
from systems.plugin import SystemPlugin, SystemSettings
from systems.salesforce.plugin import PLUGIN as SALESFORCE
from systems.salesforce.plugin import SalesforceSettings
from systems.sap_s4hana.plugin import PLUGIN as SAP_S4HANA
from systems.sap_s4hana.plugin import SapS4HanaSettings
from systems.stripe.plugin import PLUGIN as STRIPE
from systems.stripe.plugin import StripeSettings

Plugin = SystemPlugin[Any, Any]

PLUGINS: Mapping[str, Plugin] = MappingProxyType(
    {plugin.kind: plugin for plugin in (SALESFORCE, SAP_S4HANA, NETSUITE, STRIPE, AVALARA)}
)

# The settings a configuration may hold, as one tagged union: msgspec picks the
# Struct by ``kind`` and rejects an unknown kind naming the field.
AnySystemSettings = (
    SalesforceSettings | SapS4HanaSettings | NetSuiteSettings | StripeSettings | AvalaraSettings
)

_BY_SETTINGS: Mapping[type[SystemSettings], Plugin] = {
    plugin.settings: plugin for plugin in PLUGINS.values()
}


def plugin_for(settings: SystemSettings) -> Plugin:
    """The plugin owning these settings; an unregistered kind is a configuration error."""
    plugin = _BY_SETTINGS.get(type(settings))
    if plugin is None:
        raise ValueError(
            f"kind: {type(settings).__name__} is not a registered system; "
            f"known kinds: {', '.join(sorted(PLUGINS))}"
        )
    return plugin
