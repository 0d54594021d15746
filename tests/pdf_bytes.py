"""Assemble a PDF file from its object bodies, with a correct xref table (test helper)."""

from __future__ import annotations

from collections.abc import Sequence


def assemble_pdf(objects: Sequence[bytes], root: int = 1) -> bytes:
    """Objects numbered from 1 in order; `root` is the catalog's object number.

    >>> assemble_pdf([b"<< /Type /Catalog >>"]).startswith(b"%PDF-1.4")
    True
    """
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    trailer = f"<< /Size {len(objects) + 1} /Root {root} 0 R >>"
    out += f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
