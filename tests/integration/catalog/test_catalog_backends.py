"""The catalog contract on SQLite and PostgreSQL (the ``catalog_url`` fixture is parametrised)."""

from tests.contract.catalog_suite import CatalogContract


class TestCatalog(CatalogContract):
    pass
