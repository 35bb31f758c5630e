"""Simulated SAP S/4HANA Cloud tenant (OData V2 sandbox)."""
