"""Salesforce: the CRM system of record (sandbox simulator and client support)."""
