"""Owner names of the entries a walk lists, shared by the Python walk and the find walk."""

from __future__ import annotations

import pwd


class Owners:
    """uid → user name, cached (a share has few owners and many files); the uid itself
    when the system knows no such user."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def __call__(self, uid: int) -> str:
        name = self._cache.get(uid)
        if name is None:
            try:
                name = pwd.getpwuid(uid).pw_name
            except KeyError:
                name = str(uid)
            self._cache[uid] = name
        return name
