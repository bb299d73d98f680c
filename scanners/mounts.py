"""Which filesystem a scan root is on (Linux /proc/self/mountinfo), to pick defaults.

On a network share (NFS, SMB/CIFS, sshfs and other FUSE mounts) each directory listing
and stat is a round trip to the server: the walk then keeps many listings in flight.
On a local disk the kernel answers from its cache and extra threads only add overhead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

NETWORK_TYPES = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre",
                 "gpfs", "davfs", "ncpfs", "beegfs", "orangefs"}

# Directory listings in flight on a network share by default: enough to hide a few
# milliseconds of latency, few enough not to flood a small NAS.
NETWORK_LISTERS = 32
# On a local disk, each listing is a GNU find process; past a few, parsing their output
# in this process is the limit.
LOCAL_LISTERS = 4


@dataclass
class Mount:
    point: str
    fstype: str
    options: set[str]  # per-mount options: ro, noatime, relatime...


def _mounts() -> list[Mount]:
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
            lines = fh.readlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields = line.split()
        try:
            sep = fields.index("-")
        except ValueError:
            continue
        # Mount points escape spaces and other odd characters as octal (\040).
        point = fields[4].encode().decode("unicode_escape")
        found.append(Mount(point, fields[sep + 1], set(fields[5].split(","))))
    return found


def _inside(target: str, point: str) -> bool:
    return target == point or target.startswith(point.rstrip("/") + "/")


def mount_of(path: bytes | str) -> Mount | None:
    """The mount holding PATH (the deepest mount point above it), or None if unknown."""
    target = os.path.realpath(os.fsdecode(path))
    best = None
    for mount in _mounts():
        if _inside(target, mount.point) and (best is None or len(mount.point) >= len(best.point)):
            best = mount
    return best


def has_submounts(path: bytes | str) -> bool:
    """Another filesystem is mounted somewhere below PATH."""
    target = os.path.realpath(os.fsdecode(path))
    return any(_inside(m.point, target) and m.point.rstrip("/") != target.rstrip("/") for m in _mounts())


def filesystem_type(path: bytes | str) -> str | None:
    """The type of the filesystem holding PATH (e.g. "ext4", "nfs4", "cifs"), or None if unknown."""
    mount = mount_of(path)
    return mount.fstype if mount else None


def is_network(fstype: str | None) -> bool:
    return fstype is not None and (fstype in NETWORK_TYPES or fstype == "fuse" or fstype.startswith("fuse."))


def default_listers(path: bytes | str) -> int:
    """Directory listings in flight for a root: many on a network share (latency-bound);
    locally, one per core up to LOCAL_LISTERS (CPU-bound: a find process each)."""
    if is_network(filesystem_type(path)):
        return NETWORK_LISTERS
    return max(1, min(os.cpu_count() or 1, LOCAL_LISTERS))
