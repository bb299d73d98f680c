"""Write a minimal Outlook .msg (an OLE compound file laid out as [MS-OXMSG] describes)
for the mail tests, with extract-msg's OLE writer: one message, its submit date and one
attached file. Only what a reader needs to find the date and the attachment."""

from __future__ import annotations

import datetime as dt
import struct


def _filetime(when: dt.datetime) -> int:
    epoch = dt.datetime(1601, 1, 1, tzinfo=dt.UTC)
    return int((when - epoch).total_seconds() * 10_000_000)


def _fixed(tag: int, value: bytes) -> bytes:
    return struct.pack("<II", tag, 6) + value.ljust(8, b"\0")


def _variable(tag: int, size: int) -> bytes:
    return struct.pack("<IIII", tag, 6, size, 0)


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def write_msg(path, subject: str, when: dt.datetime, attachment: tuple[str, bytes] | None = None) -> None:
    from extract_msg.ole_writer import OleWriter

    ole = OleWriter()
    ole.addEntry("__nameid_version1.0", storage=True)
    for stream in ("00020102", "00030102", "00040102"):
        ole.addEntry(f"__nameid_version1.0/__substg1.0_{stream}", data=b"")
    message_class, title = _utf16("IPM.Note"), _utf16(subject)
    ole.addEntry("__substg1.0_001A001F", data=message_class)
    ole.addEntry("__substg1.0_0037001F", data=title)
    n_att = 1 if attachment else 0
    header = b"\0" * 8 + struct.pack("<IIII", 0, n_att, 0, n_att) + b"\0" * 8
    props = (_variable(0x001A001F, len(message_class)) + _variable(0x0037001F, len(title))
             + _fixed(0x00390040, struct.pack("<Q", _filetime(when)))      # PR_CLIENT_SUBMIT_TIME
             + _fixed(0x0E060040, struct.pack("<Q", _filetime(when))))     # PR_MESSAGE_DELIVERY_TIME
    ole.addEntry("__properties_version1.0", data=header + props)
    if attachment:
        name, data = attachment
        base = "__attach_version1.0_#00000000"
        ole.addEntry(base, storage=True)
        long_name = _utf16(name)
        ole.addEntry(f"{base}/__substg1.0_37010102", data=data)            # PR_ATTACH_DATA_BIN
        ole.addEntry(f"{base}/__substg1.0_3707001F", data=long_name)       # PR_ATTACH_LONG_FILENAME
        ole.addEntry(f"{base}/__properties_version1.0", data=b"\0" * 8
                     + _fixed(0x37050003, struct.pack("<I", 1))             # PR_ATTACH_METHOD: by value
                     + _fixed(0x0E210003, struct.pack("<I", 0))             # PR_ATTACH_NUM
                     + _variable(0x37010102, len(data)) + _variable(0x3707001F, len(long_name)))
    ole.write(str(path))
