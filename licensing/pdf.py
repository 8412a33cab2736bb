"""The signed contract as a PDF carrying its SHA-256 hash.

reportlab draws Chinese with the standard PDF CJK font STSong-Light (encoding UniGB-UCS2-H), which
PDF viewers supply themselves, so nothing is embedded and no font file is needed. The hash is in
the document information (Subject, Keywords), in the header of every page and in the signature
block; page streams are left uncompressed so the hash and texts can be checked without a PDF
library. Output is deterministic (reportlab's invariant mode): the same contract gives the same
bytes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

FONT = "STSong-Light"


@dataclass(frozen=True)
class SignatureLine:
    party: str  # "seller" | "buyer"
    organisation: str
    uscc: str
    signer: str
    method: str
    signed_at: str
    signed_hash: str


_registered = False


def _register_font() -> None:
    global _registered
    if not _registered:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True


def render_contract_pdf(
    *,
    reference: str,
    content_hash: str,
    text_zh: str,
    text_en: str,
    policy: Mapping[str, Any],
    signatures: Sequence[SignatureLine],
) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    _register_font()
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=15, wordWrap="CJK")
    heading = ParagraphStyle("heading", parent=body, fontSize=13, leading=18, spaceAfter=6)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=10)

    def paragraphs(text: str, style: ParagraphStyle) -> list[Any]:
        return [
            Paragraph(escape(line) if line.strip() else "&nbsp;", style)
            for line in text.splitlines()
        ]

    story: list[Any] = [
        Paragraph(escape(f"合同 Contract {reference}"), heading),
        Paragraph(escape(f"SHA-256: {content_hash}"), small),
        Spacer(1, 4 * mm),
        *paragraphs(text_zh, body),
        PageBreak(),
        *paragraphs(text_en, body),
        Spacer(1, 6 * mm),
        Paragraph("签署记录 Signatures", heading),
    ]
    if not signatures:
        story.append(Paragraph("未签署 Not signed", body))
    for sig in signatures:
        story.append(
            Paragraph(
                escape(
                    f"{sig.party}: {sig.organisation} (USCC {sig.uscc}); {sig.signer}; "
                    f"{sig.method}; {sig.signed_at}; SHA-256 {sig.signed_hash}"
                ),
                body,
            )
        )
    story += [
        PageBreak(),
        Paragraph("附件：ODRL 2.2 策略 Annex: ODRL 2.2 policy (JSON-LD)", heading),
        *paragraphs(json.dumps(policy, ensure_ascii=False, indent=2), small),
    ]

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        # ASCII only, in a standard font: the hash is readable in the page stream itself.
        canvas.setFont("Helvetica", 7)
        canvas.drawString(15 * mm, 287 * mm, f"{reference}  SHA-256 {content_hash}")
        canvas.drawRightString(195 * mm, 10 * mm, str(doc.page))
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Contract {reference}",
        subject=f"SHA-256 {content_hash}",
        keywords=content_hash,
        author="data exchange",
        creator="data exchange",
        invariant=1,
        pageCompression=0,
        topMargin=20 * mm,
        bottomMargin=18 * mm,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
