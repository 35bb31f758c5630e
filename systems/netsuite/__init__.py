"""NetSuite (SuiteTalk REST web services) system of record: the ACME-UK ERP."""
