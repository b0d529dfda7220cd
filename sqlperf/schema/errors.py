"""The one error a schema loader raises when it cannot go on."""


class SchemaError(Exception):
    """A fatal schema problem (missing file, unreachable DSN, bad import path), as one clear line."""
