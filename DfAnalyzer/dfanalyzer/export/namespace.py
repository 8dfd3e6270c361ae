"""The one PROV namespace of Keras-Prov and the stable local names built in it."""
import re

PREFIX = "kprov"
URI = "https://keras-prov.org/ns#"

# Characters kept as they are in a local name; every other character is percent-encoded, so
# any tag or client task id gives a name that PROV-N, XML and Turtle can all write.
_KEPT = re.compile(r"[A-Za-z0-9_\-]")


def encode_part(value):
    """One path segment of a local name: letters, digits, '_' and '-' kept, the rest %XX (UTF-8)."""
    text = str(value)
    return "".join(char if _KEPT.fullmatch(char) else "".join(f"%{byte:02X}" for byte in char.encode())
                   for char in text)


def local_name(kind, *parts):
    """`kprov:<kind>/<part>/<part>...`, the same for the same stored data on every export."""
    return f"{PREFIX}:" + "/".join([kind] + [encode_part(part) for part in parts])


def term(name):
    """An attribute or type name in the namespace, e.g. `kprov:status`."""
    return f"{PREFIX}:{encode_part(name)}"
