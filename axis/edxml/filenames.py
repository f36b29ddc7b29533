"""Attachment names as recipients will save them.

Recipient systems save attachments under the names the sender gives (`AttachmentName`,
and some use `Description`), so a name is a path the sender chooses on someone else's
disk. A file name must be one plain name: no separator, no drive or stream colon, no
device name, no control character. A description is a label and may contain `/` (as
in `12/UBND-VP`), but never anything that climbs out of a folder. Deceptive names (a
right-to-left override that shows `exe.pdf` for `fdp.exe`, invisible characters, a
double extension ending in an executable one) are reported as warnings: Art. 4.3 and the
type checks (filetypes.py) decide whether the file itself is acceptable.
"""

from __future__ import annotations

import re
import unicodedata

# Windows device names: `CON.pdf` opens the console, not a file.
_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"{p}{i}" for p in ("COM", "LPT") for i in (*"123456789", "¹", "²", "³")}
)
# Extensions a desktop runs or renders with scripts rather than opens as a document.
EXECUTABLE = frozenset({
    "exe", "com", "scr", "pif", "bat", "cmd", "msi", "msp", "dll", "cpl", "sys", "drv",
    "ocx", "js", "jse", "vbs", "vbe", "wsf", "wsh", "ws", "hta", "ps1", "psm1", "psc1",
    "lnk", "url", "reg", "inf", "scf", "jar", "app", "sh", "bash", "run", "bin", "apk",
    "msc", "gadget", "html", "htm", "xhtml", "mht", "mhtml", "svg", "chm", "iso", "img",
    "vhd", "vhdx", "docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppam",
})
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")
_SEPARATORS = re.compile(r"[/\\]")
_DRIVE = re.compile(r"[A-Za-z]:")


def control_character(name: str) -> str | None:
    """C0, DEL and C1 controls, and the line and paragraph separators."""
    for ch in name:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            return f"control character U+{ord(ch):04X}"
    return None


def unsafe_file_name(name: str) -> str | None:
    """Why `name` cannot be saved as one file inside the recipient's folder, or None."""
    problem = control_character(name)
    if problem:
        return problem
    if _SEPARATORS.search(name):
        return "a path separator ('/' or '\\')"
    if ":" in name:
        return "a drive letter or stream separator (':')"
    if not name.strip(". "):
        return "not a file name (only dots and spaces)"
    stem = name.split(".", 1)[0].rstrip(" ").upper()
    if stem in _DEVICES:
        return f"the Windows device name {stem}"
    return None


def unsafe_label(text: str) -> str | None:
    """Why a description, saved as a name, would escape the folder; None when it would not."""
    problem = control_character(text)
    if problem:
        return problem
    if text[:1] in ("/", "\\"):
        return "an absolute or UNC path"
    if _DRIVE.match(text):
        return "a drive letter"
    parts = _SEPARATORS.split(text)
    if len(parts) > 1 and any(len(p.strip(" ")) > 1 and not p.strip(". ") for p in parts):
        return "a '..' path segment"
    return None


def extension(name: str) -> str | None:
    """The lower-case extension a desktop would go by; None when there is none.

    Windows drops trailing dots and spaces when it saves (`x.exe.` is `x.exe`). A suffix
    that is all digits or not plain ASCII letters and digits (`Q1.2020`, `v2.1 final`)
    is part of the name, not an extension.
    """
    trimmed = name.rstrip(". ")
    _, dot, ext = trimmed.rpartition(".")
    if not dot or not _EXTENSION.fullmatch(ext) or ext.isdigit():
        return None
    return ext.lower()


def deceptive(name: str) -> str | None:
    """Why `name` may mislead whoever reads it; None when it reads as what it is."""
    for ch in name:
        if unicodedata.category(ch) == "Cf":  # bidi controls, zero-width characters …
            return f"invisible or bidirectional formatting character U+{ord(ch):04X}"
    last = extension(name)
    if last in EXECUTABLE:
        # What stands before the executable extension, read the same way (`x.pdf .exe`,
        # `x.pdf..exe`): a short extension there is what the reader is meant to see.
        before = extension(name.rstrip(". ")[: -len(last) - 1])
        if before is not None and len(before) <= 5:
            return f"double extension .{before}.{last}"
    return None
