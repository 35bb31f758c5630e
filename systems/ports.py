"""The domain ports an adapter can fill, and the adapters of a process grouped by port.

A plugin names the roles its adapter plays (:data:`CATALOG`, :data:`ERP`...); the
wiring registers the adapter once per role. Roles are typed: a role for port ``P``
accepts only adapters that implement ``P``, so a plugin that claims a port its adapter
does not implement fails mypy, not the first request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from domains.customer.ports import CustomerMaster
from domains.invoice.ports import BillingSystem
from domains.order.ports import OrderSystem
from domains.pricing.ports import PriceBook
from domains.product.ports import ProductCatalog
from domains.quote.ports import QuoteSource
from domains.tax.ports import TaxEngine

PortT = TypeVar("PortT", contravariant=True)


class CrmSystem(CustomerMaster, PriceBook, QuoteSource, Protocol):
    """A CRM with CPQ: customer masters, price books and quotes in one system."""


class SystemAdapters:
    """The adapters of every configured system, grouped by the ports they implement."""

    def __init__(self) -> None:
        self.crm: dict[str, CrmSystem] = {}
        self.catalogs: dict[str, ProductCatalog] = {}
        self.erps: dict[str, OrderSystem] = {}
        self.billing: dict[str, BillingSystem] = {}
        self.tax: dict[str, TaxEngine] = {}


class PortRole(Generic[PortT]):
    """One port an adapter can fill. Contravariant: a role for ``ProductCatalog`` is a
    role for any adapter that is a ``ProductCatalog``."""

    def __init__(self, name: str, add: Callable[[SystemAdapters, str, PortT], None]) -> None:
        self.name = name
        self._add = add

    def register(self, adapters: SystemAdapters, system: str, adapter: PortT) -> None:
        self._add(adapters, system, adapter)

    def __repr__(self) -> str:
        return f"PortRole({self.name!r})"


def _crm(adapters: SystemAdapters, system: str, adapter: CrmSystem) -> None:
    adapters.crm[system] = adapter


def _catalog(adapters: SystemAdapters, system: str, adapter: ProductCatalog) -> None:
    adapters.catalogs[system] = adapter


def _erp(adapters: SystemAdapters, system: str, adapter: OrderSystem) -> None:
    adapters.erps[system] = adapter


def _billing(adapters: SystemAdapters, system: str, adapter: BillingSystem) -> None:
    adapters.billing[system] = adapter


def _tax(adapters: SystemAdapters, system: str, adapter: TaxEngine) -> None:
    adapters.tax[system] = adapter


CRM: PortRole[CrmSystem] = PortRole("crm", _crm)
CATALOG: PortRole[ProductCatalog] = PortRole("catalog", _catalog)
ERP: PortRole[OrderSystem] = PortRole("erp", _erp)
BILLING: PortRole[BillingSystem] = PortRole("billing", _billing)
TAX: PortRole[TaxEngine] = PortRole("tax", _tax)
