"""The campaign report as PDF (fpdf2), in the organisation's language.

fpdf2 embeds OpenType fonts with CFF outlines as subsets through fontTools,
so the Japanese of Noto Sans CJK (Debian ``fonts-noto-cjk``, a TrueType
collection) renders as text, searchable and copyable: see ADR 0017 for
why fpdf2 over reportlab (TrueType outlines only) and weasyprint (Pango).

Layout: a title page (what, when, scope, totals and the seal with how to
verify it), then the reviewers, every decision, the removals with their
read-back verification, the escalations and the delegations.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from iam_service.adapters.review_labels import label
from iam_service.domain.review_rules import reason
from iam_service.domain.reviews import Recommendation

if TYPE_CHECKING:
    from iam_service.services.review_reports import ReportData

FONT_DIRS = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
)


class FontMissing(RuntimeError):
    """No CJK font: install fonts-noto-cjk (tools/system_packages.sh)."""


def find_font(bold: bool = False) -> Path:
    name = "NotoSansCJK-Bold.ttc" if bold else "NotoSansCJK-Regular.ttc"
    for directory in FONT_DIRS:
        if (directory / name).exists():
            return directory / name
    raise FontMissing(f"{name} not found; install the Debian package fonts-noto-cjk")


class _Report(FPDF):
    def __init__(self, data: ReportData) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.data = data
        self.lang = data.language
        self.add_font("Noto", "", str(find_font()))
        self.add_font("Noto", "B", str(find_font(bold=True)))
        self.set_auto_page_break(auto=True, margin=14)
        self.set_title(label(self.lang, "title"))
        self.set_author(data.company)
        self.set_creator("iam-lifecycle")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("Noto", size=7)
        campaign = self.data.campaign
        seal = campaign["evidence"]["audit_hash"] or label(self.lang, "unsealed")
        self.cell(
            0,
            5,
            f"{label(self.lang, 'campaign')} {campaign['id']} · "
            f"{label(self.lang, 'seal')} {seal} · {self.page_no()}/{{nb}}",
            align="C",
        )

    def para(self, height: float, text: str, align: str = "L") -> None:
        """A paragraph across the page; the next one starts below it."""
        self.multi_cell(
            0, height, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def heading(self, text: str, size: int = 13) -> None:
        self.set_font("Noto", "B", size)
        self.para(size * 0.55, text)
        self.ln(2)
        self.set_font("Noto", size=9)

    def pairs(self, rows: Sequence[tuple[str, str]]) -> None:
        self.set_font("Noto", size=9)
        with self.table(
            col_widths=(45, 135),
            first_row_as_headings=False,
            line_height=5,
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            for key, value in rows:
                row = table.row()
                row.cell(key, style=FontFace(emphasis="BOLD"))
                row.cell(value)

    def grid(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[int],
        size: float = 7,
    ) -> None:
        self.set_font("Noto", size=size)
        with self.table(
            col_widths=tuple(widths),
            line_height=size * 0.5,
            headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
            repeat_headings=1,
        ) as table:
            heading = table.row()
            for text in headings:
                heading.cell(text)
            for values in rows:
                row = table.row()
                for text in values:
                    row.cell(text)


def render_pdf(data: ReportData) -> bytes:
    pdf = _Report(data)
    _title_page(pdf)
    pdf.add_page(orientation="L")
    _reviewers(pdf)
    _decisions(pdf)
    _removals(pdf)
    _escalations(pdf)
    return bytes(pdf.output())


def _title_page(pdf: _Report) -> None:
    data, lang, c = pdf.data, pdf.lang, pdf.data.campaign
    pdf.add_page()
    pdf.set_font("Noto", "B", 20)
    pdf.ln(12)
    pdf.para(10, label(lang, "title"), align="C")
    pdf.set_font("Noto", size=13)
    name = c["name_ja"] if lang == "ja" and c.get("name_ja") else c["name"]
    pdf.para(8, f"{data.company} — {name}", align="C")
    pdf.ln(6)
    progress = c["progress"]
    scope = c.get("scope") or {}
    pdf.pairs(
        [
            (label(lang, "campaign"), f"{c['id']} ({c['definition']})"),
            (label(lang, "started"), f"{_when(c['started_at'])} · {c['started_by']}"),
            (label(lang, "due"), _when(c["due_at"])),
            (label(lang, "closed"), _when(c["closed_at"]) or label(lang, "open")),
            (label(lang, "scope_departments"), ", ".join(scope.get("departments", []))),
            (label(lang, "scope_systems"), ", ".join(scope.get("systems", []))),
            (
                label(lang, "scope_classifications"),
                ", ".join(label(lang, x) for x in scope.get("classifications", [])),
            ),
            (label(lang, "items"), str(c["items_total"])),
            (
                label(lang, "outcome"),
                label(lang, "outcome_counts").format(**progress),
            ),
            (label(lang, "undecided_rule"), label(lang, c.get("undecided") or "")),
            (label(lang, "apply_rule"), label(lang, c.get("apply_revocations") or "")),
        ]
    )
    pdf.ln(4)
    _seal(pdf)


def _seal(pdf: _Report) -> None:
    lang, c, integrity = pdf.lang, pdf.data.campaign, pdf.data.integrity
    evidence = c["evidence"]
    pdf.heading(label(lang, "seal_heading"), 12)
    verdict = "integrity_ok" if integrity.ok else "integrity_bad"
    if not integrity.sealed:
        verdict = "integrity_unsealed"
    pdf.pairs(
        [
            (label(lang, "audit_record"), str(evidence["audit_seq"] or "—")),
            (label(lang, "audit_hash"), evidence["audit_hash"] or "—"),
            (label(lang, "items_digest"), evidence["items_digest"] or "—"),
            (label(lang, "digest_now"), integrity.digest_now),
            (
                label(lang, "integrity"),
                f"{label(lang, verdict)} ({_when(pdf.data.generated_at)})",
            ),
        ]
    )
    pdf.ln(3)
    pdf.set_font("Noto", size=8.5)
    pdf.para(
        4.5,
        label(lang, "how_to_verify").format(
            seq=evidence["audit_seq"] or "?",
            hash=evidence["audit_hash"] or "?",
            campaign=c["id"],
        ),
    )


def _reviewers(pdf: _Report) -> None:
    lang = pdf.lang
    pdf.heading(label(lang, "reviewers"))
    rows = [
        [
            _reviewer(lang, r),
            label(lang, r["kind"]),
            r["department"],
            str(r["progress"].total),
            str(r["progress"].kept),
            str(r["progress"].revoked),
            _when(r["signed_off_at"]) or label(lang, r["status"]),
            r["note"],
        ]
        for r in pdf.data.reviews
    ]
    pdf.grid(
        [label(lang, k) for k in ("reviewer", "kind", "department", "items",
                                   "kept", "revoked", "signed_off", "note")],
        rows,
        (60, 30, 22, 16, 16, 16, 40, 67),
    )  # fmt: skip
    if pdf.data.delegations:
        pdf.ln(3)
        pdf.heading(label(lang, "delegations"), 11)
        pdf.grid(
            [label(lang, k) for k in ("from", "to", "at", "items", "reason")],
            [
                [d["from"] or "", d["to"], _when(d["at"]), str(d["items"]), d["reason"]]
                for d in pdf.data.delegations
            ],
            (35, 35, 40, 20, 137),
        )


def _decisions(pdf: _Report) -> None:
    lang, shown = pdf.lang, pdf.data.items
    pdf.ln(4)
    pdf.heading(label(lang, "decisions"))
    if not pdf.data.listed_all:
        total = pdf.data.campaign["items_total"]
        pdf.para(
            5, label(lang, "listing_limited").format(shown=len(shown), total=total)
        )
        pdf.ln(2)
    pdf.grid(
        [label(lang, k) for k in ("review", "person", "entitlement", "source",
                                   "recommendation", "decision", "decided_at",
                                   "decided_by", "comment")],
        [_decision_row(lang, i, pdf.data.campaign["inactive_days"]) for i in shown],
        (13, 38, 50, 30, 34, 16, 28, 26, 32),
    )  # fmt: skip


def _decision_row(lang: str, i: dict[str, Any], days: int) -> list[str]:
    codes = [code for code in i["recommendations"].split(",") if code]
    recs = [reason(Recommendation(code), lang, days=days) for code in codes]
    decision = label(lang, str(i["decision"])) if i["decision"] else "—"
    if i["escalated"]:
        decision += f" ({label(lang, 'escalated')})"
    return [
        str(i["review_id"]),
        f"{i['person']} ({i['employee_id']})",
        f"{i['entitlement']['name']}\n{i['entitlement_ref']}",
        f"{label(lang, i['grant_source'])} {_when(i['granted_at'], date_only=True)}",
        "\n".join(recs),
        decision,
        _when(i["decided_at"]),
        i["decided_by"] or "",
        i["comment"],
    ]


def _removals(pdf: _Report) -> None:
    lang = pdf.lang
    removed = [i for i in pdf.data.items if str(i["decision"]) == "revoke"]
    pdf.ln(4)
    pdf.heading(label(lang, "removals"))
    pdf.grid(
        [label(lang, k) for k in ("person", "entitlement", "decided_at", "applied",
                                   "operation", "verified_at")],
        [
            [
                f"{i['person']} ({i['employee_id']})",
                f"{i['entitlement']['name']}\n{i['entitlement_ref']}",
                _when(i["decided_at"]),
                _applied(lang, i),
                f"#{i['operation_id']} {label(lang, str(i['operation_status']))}"
                if i["operation_id"] else "—",
                _when(i["operation_finished_at"])
                if str(i["operation_status"]) == "succeeded" else "—",
            ]
            for i in removed
        ],
        (50, 65, 35, 50, 32, 35),
    )  # fmt: skip


def _applied(lang: str, i: dict[str, Any]) -> str:
    note = f"\n{i['apply_note']}" if i["apply_note"] else ""
    return label(lang, str(i["apply_state"])) + note


def _escalations(pdf: _Report) -> None:
    lang = pdf.lang
    escalated = [i for i in pdf.data.items if i["escalated"]]
    late = [r for r in pdf.data.reviews if r["status"] == "closed"]
    pdf.ln(4)
    pdf.heading(label(lang, "escalations"))
    if not escalated and not late:
        pdf.para(5, label(lang, "none"))
        return
    if late:
        pdf.para(
            5,
            label(lang, "not_signed_off")
            + ", ".join(f"{_reviewer(lang, r)} [{r['department']}]" for r in late),
        )
        pdf.ln(2)
    pdf.grid(
        [label(lang, k) for k in ("review", "person", "entitlement", "comment")],
        [
            [
                str(i["review_id"]),
                f"{i['person']} ({i['employee_id']})",
                f"{i['entitlement']['name']}\n{i['entitlement_ref']}",
                i["comment"],
            ]
            for i in escalated
        ],
        (15, 60, 90, 102),
    )


def _reviewer(lang: str, review: dict[str, Any]) -> str:
    return str(review["reviewer"] or label(lang, "security_officer"))


def _when(value: datetime | str | None, *, date_only: bool = False) -> str:
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M UTC")
