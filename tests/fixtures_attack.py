"""Generators for the attack tests: seed PDFs, seeded PDF mutations, a zlib bomb, a small corpus.

Import explicitly: `from fixtures_attack import ...` (tests/ is on sys.path under pytest).
Everything is generated at test time from fixed seeds; nothing is read from /work/shared.
"""

from __future__ import annotations

import io
import random
import re
import zlib
from collections.abc import Callable

import pypdf
from pdf_bytes import assemble_pdf
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

# Real clinical sentences (openFDA label excerpts, public domain) for seed text.
SENTENCES = [
    "Metformin hydrochloride tablets are indicated as an adjunct to diet and exercise.",
    "Starting dose: 500 mg orally twice a day or 850 mg once a day, with meals.",
    "Lisinopril is contraindicated in combination with a neprilysin inhibitor.",
    "Hypertension: Initial adult dose is 10 mg once daily.",
    "Warfarin sodium can cause fetal harm when administered to a pregnant woman.",
    "Obtain daily INR determinations upon initiation until stable in the therapeutic range.",
]
SEED_PASSWORD = "clinqa-secret"


def _pdf_str(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def handmade_pdf(
    pages: list[list[str]], *, image: bool = False, form: bool = False, shared: bool = False
) -> bytes:
    """A PDF written by hand (Helvetica text, optional image XObject and form field).

    `shared=True` lets every page use page one's content stream (cheap many-page files).
    """
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    tree = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    xobjects = b""
    image_ops = b""
    if image:
        pixels = zlib.compress(bytes(range(48)) * 4)  # 8x8 RGB
        img = add(
            b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceRGB "
            b"/BitsPerComponent 8 /Filter /FlateDecode /Length "
            + str(len(pixels)).encode()
            + b" >>\nstream\n"
            + pixels
            + b"\nendstream"
        )
        xobjects = f"/XObject << /Im1 {img} 0 R >>".encode()
        image_ops = b"q 40 0 0 40 72 600 cm /Im1 Do Q "
    resources = f"<< /Font << /F1 {font} 0 R >> ".encode() + xobjects + b" >>"
    kids: list[int] = []
    first_content = 0
    for lines in pages:
        if shared and first_content:
            content = first_content
        else:
            shows = " ".join(f"({_pdf_str(line)}) '" for line in lines)
            stream = image_ops + f"BT /F1 11 Tf 72 760 Td 16 TL {shows} ET".encode("latin-1")
            content = add(
                b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream
                + b"\nendstream"
            )  # fmt: skip
            first_content = first_content or content
        kids.append(
            add(
                f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] "
                f"/Contents {content} 0 R /Resources ".encode()
                + resources
                + b" >>"
            )
        )
    acro = b""
    if form:
        field = add(
            f"<< /Type /Annot /Subtype /Widget /FT /Tx /T (dose) /V (5 mg) "
            f"/Rect [72 500 272 520] /P {kids[0]} 0 R >>".encode()
        )
        acro = f" /AcroForm << /Fields [{field} 0 R] >>".encode()
        page = objects[kids[0] - 1]
        objects[kids[0] - 1] = page[:-2] + f" /Annots [{field} 0 R] >>".encode()
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {tree} 0 R".encode() + acro + b" >>"
    kid_refs = " ".join(f"{k} 0 R" for k in kids)
    objects[tree - 1] = f"<< /Type /Pages /Kids [{kid_refs}] /Count {len(kids)} >>".encode()
    return assemble_pdf(objects, root=catalog)


def _rewrite(data: bytes, change: Callable[[pypdf.PdfWriter], None]) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    change(writer)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _compress(w: pypdf.PdfWriter) -> None:
    for page in w.pages:
        page.compress_content_streams()


def _outline(w: pypdf.PdfWriter) -> None:
    parent = w.add_outline_item(title="Dosage", page_number=0)
    w.add_outline_item(title="Adults", page_number=0, parent=parent)


def _encrypt_user(w: pypdf.PdfWriter) -> None:
    w.encrypt(SEED_PASSWORD, SEED_PASSWORD, algorithm="RC4-128")


def _encrypt_owner_only(w: pypdf.PdfWriter) -> None:
    w.encrypt("", SEED_PASSWORD, algorithm="RC4-128")


def _metadata(w: pypdf.PdfWriter) -> None:
    w.add_metadata({"/Title": "Seed label", "/Author": "clinqa tests"})
    w._root_object[NameObject("/PageLabels")] = DictionaryObject(
        {NameObject("/Nums"): ArrayObject([NumberObject(0), DictionaryObject()])}
    )
    w._info[NameObject("/Subject")] = TextStringObject("dose")  # type: ignore[index]


def seed_token(i: int) -> str:
    """A word only seed `i` contains, to find it in the index."""
    return f"seedmark{i:02d}x"


def seed_pdfs() -> dict[str, tuple[bytes, bool]]:
    """name -> (PDF bytes, readable without a password); every seed states `seed_token(i)`."""

    def lines(i: int, n: int = 3) -> list[str]:
        return [f"Seed {seed_token(i)} label text."] + SENTENCES[i % 3 : i % 3 + n]

    plain = handmade_pdf([lines(0), lines(0, 2)])
    seeds = {
        "plain": (plain, True),
        "compressed": (_rewrite(handmade_pdf([lines(1)]), _compress), True),
        "outline": (_rewrite(handmade_pdf([lines(2), lines(2, 1)]), _outline), True),
        "form": (handmade_pdf([lines(3)], form=True), True),
        "image": (handmade_pdf([lines(4)], image=True), True),
        "image_compressed": (
            _rewrite(handmade_pdf([lines(5)], image=True, form=True), _compress),
            True,
        ),
        "owner_password": (_rewrite(handmade_pdf([lines(6)]), _encrypt_owner_only), True),
        "metadata": (_rewrite(handmade_pdf([lines(7)]), _metadata), True),
        "user_password": (_rewrite(handmade_pdf([lines(8)]), _encrypt_user), False),
    }
    return seeds


# ---- mutations (all driven by one `random.Random`) ----


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(1, len(data))]


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 12)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def lie_length(data: bytes, rng: random.Random) -> bytes:
    choices = [0, 1, 7, 10**9, 2**31 - 1, 2**63, -5]
    return re.sub(
        rb"/Length \d+", lambda m: f"/Length {rng.choice(choices)}".encode(), data, count=3
    )


def lie_prev(data: bytes, rng: random.Random) -> bytes:
    target = rng.choice([0, 9, len(data) // 2, len(data) + 10**6])
    startxref = data.rfind(b"startxref")
    xref = rng.choice([target, startxref if startxref > 0 else 0])
    out = data.replace(b"trailer\n<<", f"trailer\n<< /Prev {xref}".encode(), 1)
    if b"/Prev" not in out:  # xref streams: plant it in the last dictionary
        out = out.replace(b"/Root", f"/Prev {xref} /Root".encode(), 1)
    return out


def object_loop(data: bytes, rng: random.Random) -> bytes:
    kind = rng.randrange(4)
    if kind == 0:  # the page tree lists itself
        return re.sub(rb"/Kids \[", b"/Kids [2 0 R ", data, count=1)
    if kind == 1:  # a page's parent is the page itself
        return re.sub(rb"/Parent \d+ 0 R", b"/Parent 3 0 R", data, count=1)
    if kind == 2:  # the contents point at the catalog
        return re.sub(rb"/Contents \d+ 0 R", b"/Contents 1 0 R", data, count=1)
    return re.sub(rb"/Count \d+", f"/Count {rng.choice([0, -1, 10**9])}".encode(), data, count=1)


def splice(data: bytes, rng: random.Random) -> bytes:
    a = rng.randrange(len(data))
    b = rng.randrange(len(data))
    n = rng.randint(1, 200)
    return data[:a] + data[b : b + n] + data[a:]


MUTATIONS: list[Callable[[bytes, random.Random], bytes]] = [
    truncate, flip_bits, lie_length, lie_prev, object_loop, splice,
]  # fmt: skip


def mutated_corpus(n: int, seed: int) -> list[tuple[str, bytes]]:
    """`n` (name, bytes) mutants of the seed PDFs; one or two mutations each, fixed `seed`."""
    rng = random.Random(seed)
    seeds = sorted(seed_pdfs().items())
    out = []
    for i in range(n):
        name, (data, _) = seeds[i % len(seeds)]
        steps = [rng.choice(MUTATIONS) for _ in range(rng.randint(1, 2))]
        for step in steps:
            data = step(data, rng) or data[:1]
        label = "+".join(s.__name__ for s in steps)
        out.append((f"m{i:04d}_{name}_{label}.pdf", data))
    return out


def zlib_bomb_pdf(inflated_bytes: int = 1 << 30) -> bytes:
    """A one-page PDF whose content stream inflates to `inflated_bytes` of spaces."""
    comp = zlib.compressobj(9)
    block = b" " * (1 << 20)
    parts = [comp.compress(block) for _ in range(inflated_bytes // len(block))]
    parts.append(comp.flush())
    stream = b"".join(parts)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Filter /FlateDecode /Length " + str(len(stream)).encode() + b" >>\nstream\n"
        + stream + b"\nendstream",
    ]  # fmt: skip
    return assemble_pdf(objects)
