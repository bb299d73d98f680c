"""Names shown in reports keep their characters, except those that reorder text.

A bidirectional control (U+202E « right-to-left override », U+2066–U+2069 isolates,
U+200E/U+200F marks…) in a file, folder or commune name makes a browser or the PDF
display the rest of the line reversed: « Permis<U+202E>fdp.exe » reads « Permisexe.pdf ».
Reports show each one as a visible marker, [U+202E], instead: the name stays readable,
and nobody is fooled about what it is. The CSV/XLSX annexes keep names as they are.
"""

from __future__ import annotations

import re

from markupsafe import Markup

BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_controls(value):
    """Text with each bidi control replaced by [U+XXXX]; anything else is returned as is."""
    if not isinstance(value, str) or not BIDI_CONTROLS.search(value):
        return value
    shown = BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", value)
    return Markup(shown) if isinstance(value, Markup) else shown
