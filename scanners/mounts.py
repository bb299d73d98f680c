"""Which filesystem a scan root is on (Linux /proc/self/mountinfo), to pick defaults.

On a network share (NFS, SMB/CIFS, sshfs and other FUSE mounts) each directory listing
and stat is a round trip to the server: the walk then keeps many listings in flight.
On a local disk the kernel answers from its cache and extra threads only add overhead.
"""

from __future__ import annotations

import os

NETWORK_TYPES = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre",
                 "gpfs", "davfs", "ncpfs", "beegfs", "orangefs"}

# Directory listings in flight on a network share by default: enough to hide a few
# milliseconds of latency, few enough not to flood a small NAS.
NETWORK_LISTERS = 32


def filesystem_type(path: bytes | str) -> str | None:
    """The type of the filesystem holding PATH (e.g. "ext4", "nfs4", "cifs"), or None if unknown."""
    try:
        target = os.path.realpath(os.fsdecode(path))
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
            lines = fh.readlines()
    except OSError:
        return None
    best, best_type = "", None
    for line in lines:
        fields = line.split()
        try:
            sep = fields.index("-")
        except ValueError:
            continue
        # Mount points escape spaces and other odd characters as octal (\040).
        mount_point = fields[4].encode().decode("unicode_escape")
        fstype = fields[sep + 1]
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fstype
    return best_type


def is_network(fstype: str | None) -> bool:
    return fstype is not None and (fstype in NETWORK_TYPES or fstype == "fuse" or fstype.startswith("fuse."))


def default_listers(path: bytes | str) -> int:
    """Directory listings in flight for a root: many on a network share, one locally."""
    return NETWORK_LISTERS if is_network(filesystem_type(path)) else 1
