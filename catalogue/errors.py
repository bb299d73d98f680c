"""Errors the library raises; the CLI turns each into a one-line French message."""


class CatalogueError(Exception):
    """A user-facing problem: its message is French, one line, and shown as is."""


class DatabaseLockedError(CatalogueError):
    """Another process holds the catalogue open for writing."""


class NotADirectoryRootError(CatalogueError):
    """The scan root is missing or is not a directory."""


class BundleError(CatalogueError):
    """A scan bundle is unreadable or is not a Catalogage bundle."""


class DiskFullError(CatalogueError):
    """The disk holding the catalogue (or a working folder) is full: nothing of the command was kept."""
