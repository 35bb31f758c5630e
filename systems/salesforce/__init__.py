"""Salesforce: the CRM system of record (customers, price books, quotes)."""
