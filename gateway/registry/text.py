"""Rules every text the registry stores keeps, whichever face it arrives through or leaves by."""

from __future__ import annotations

import re

#: The UTC offsets xs:dateTime allows: Z, or -14:00 .. +14:00.
OFFSET_PATTERN = r"Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00)"

# Characters XML 1.0 cannot carry (C0 controls but tab, CR, LF; surrogates; U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with every character XML cannot carry replaced by U+FFFD (for echoing request input)."""
    return _NOT_XML.sub("\ufffd", text)


def is_xml_safe(text: str) -> bool:
    return _NOT_XML.search(text) is None
