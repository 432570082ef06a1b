"""The student registry (学籍, DOMAIN §6): import, validation, lookup, problems, reconciliation, linkage.

Modules: ``extract`` reads CSV/XLSX files as a stream of rows, ``validation``
checks one row, ``importer`` bulk-loads a snapshot atomically, ``lookup`` finds
a person's registries, ``problems`` runs the checks and the reconciliation
tables, ``linkage`` freezes records onto cases, ``generator`` makes synthetic
extracts with a manifest of injected problems.
"""
