"""SAP S/4HANA Cloud over OData V2: the catalogue, ERP customers and sales orders."""
