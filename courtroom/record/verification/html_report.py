"""``courtroom verify --report report.html [--lang zh-CN|en]``: the report for people.

One self-contained HTML page: the verdict, the case, every check with its status, the
signers and refusals, the time-stamp authority, warnings about development keys or a
local TSA, and the transparency-log proof when one was checked. Everything that comes
from the file (names, reasons, messages quoting it) is hostile input: every value goes
through ``html.escape`` and the page forbids scripts (Content-Security-Policy). Check
messages stay in English (they are the verifier's own words, the same as the text
report); headings, statuses and the meaning of each group of checks are translated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from courtroom.record.verification.report import Check, VerificationReport

LANGS = ("en", "zh-CN")
_T: dict[str, dict[str, str]] = {
    "en": {
        "title": "Verification report", "valid": "VALID: every check passed",
        "invalid": "INVALID: {n} check(s) failed", "file": "File", "case": "Case",
        "court": "Court", "closed": "Closed", "hash": "Document SHA-256",
        "checks": "Checks", "check": "Check", "status": "Status", "detail": "Detail",
        "signers": "Signers", "refusals": "Refusals", "name": "Name", "role": "Role",
        "purpose": "Purpose", "at": "Time", "reason": "Reason", "result": "Result",
        "tsa": "Time-stamp authority", "warnings": "Warnings", "none": "None",
        "transparency": "Transparency log", "not_checked": "No tree head was given: "
        "inclusion in the transparency log was not checked.", "root": "Trust root",
        "dev_root": "The trust root is a DEVELOPMENT certificate authority: this record "
        "proves nothing outside a test installation.",
        "ok": "ok", "failed": "failed", "warning": "warning", "skipped": "skipped",
        "not applicable": "not applicable",
    },
    "zh-CN": {
        "title": "验证报告", "valid": "有效：全部检查通过", "invalid": "无效：{n} 项检查未通过",
        "file": "文件", "case": "案号", "court": "法院", "closed": "闭庭时间",
        "hash": "文档 SHA-256", "checks": "检查项", "check": "检查", "status": "结果",
        "detail": "说明", "signers": "签名人", "refusals": "拒绝签名", "name": "姓名",
        "role": "角色", "purpose": "用途", "at": "时间", "reason": "理由",
        "result": "核验", "tsa": "时间戳机构", "warnings": "警告", "none": "无",
        "transparency": "透明日志", "not_checked": "未提供树头：未核验该记录是否收录于透明日志。",
        "root": "信任根", "dev_root": "信任根为开发用证书机构：本记录在测试环境之外不具证明力。",
        "ok": "通过", "failed": "未通过", "warning": "警告", "skipped": "跳过",
        "not applicable": "不适用",
    },
}  # fmt: skip
# What each group of checks establishes, for a reader who does not know the names.
_GROUPS: dict[str, dict[str, str]] = {
    "en": {
        "pades": "the court seal and timestamps (PAdES, long-term validation)",
        "manifest": "the rendered pages and attachments match the sealed manifest",
        "record": "record.json is the document rebuilt from the audit log",
        "signature": "a participant's signature, with the key the log registered",
        "signatures": "every signature and refusal in the log is in the record",
        "audit": "the hash-chained audit log", "transcript": "each line against the log",
        "timestamp": "when the record was sealed, and by which authority",
        "pages": "the pages show the text of record.json", "recordings": "recording files",
        "receipt": "a signer's receipt", "transparency": "the transparency log",
    },
    "zh-CN": {
        "pades": "法院电子印章与时间戳（PAdES，长期验证）", "manifest": "页面与附件与封存清单一致",
        "record": "record.json 与审计日志重建的文档一致",
        "signature": "参与人签名（以日志登记的公钥核验）",
        "signatures": "日志中的每个签名与拒签都在记录中", "audit": "哈希链审计日志",
        "transcript": "逐行与日志核对", "timestamp": "封存时间及时间戳机构",
        "pages": "页面显示的文字即 record.json 的内容", "recordings": "录音录像文件",
        "receipt": "签名人回执", "transparency": "透明日志",
    },
}  # fmt: skip
_CSS = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#111}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3em;"
    "text-align:left;vertical-align:top}.ok{color:#060}.failed{color:#b00;font-weight:bold}"
    ".warning{color:#a60}.verdict{font-size:1.4em;padding:.5em;border:2px solid}"
)


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _table(head: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """``head`` is trusted text; every cell in ``rows`` must already be escaped."""
    out = ["<table><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr>"]
    for row in rows:
        out += ["<tr>", *(f"<td>{cell}</td>" for cell in row), "</tr>"]
    return "".join([*out, "</table>"])


def _status(t: Mapping[str, str], status: str) -> str:
    return f'<span class="{_e(status)}">{_e(t.get(status, status))}</span>'


def _checks(report: VerificationReport, t: Mapping[str, str], groups: Mapping[str, str]) -> str:
    def row(c: Check) -> list[str]:
        group = groups.get(c.name.split(".", 1)[0], "")
        return [f"<code>{_e(c.name)}</code><br><small>{_e(group)}</small>",
                _status(t, c.status), _e(c.message)]  # fmt: skip

    return _table((t["check"], t["status"], t["detail"]), (row(c) for c in report.checks))


def _status_of(report: VerificationReport, name: str) -> str:
    return next((c.status for c in report.checks if c.name == name), "skipped")


def _people(report: VerificationReport, t: Mapping[str, str]) -> str:
    facts = report.facts
    signers = [
        [_e(s["name"]), _e(s["role"]), _e(s["purpose"]), _e(s["at"]),
         _status(t, _status_of(report, f"signature.{s['id']}.{s['purpose']}"))]
        for s in facts.get("signers", [])
    ]  # fmt: skip
    refusals = [
        [_e(r["name"]), _e(r["role"]), _e(r["purpose"]), _e(r["at"]), _e(r["reason"])]
        for r in facts.get("refusals", [])
    ]
    html = f"<h2>{_e(t['signers'])}</h2>"
    html += _table((t["name"], t["role"], t["purpose"], t["at"], t["result"]), signers)
    if refusals:
        html += f"<h2>{_e(t['refusals'])}</h2>"
        html += _table((t["name"], t["role"], t["purpose"], t["at"], t["reason"]), refusals)
    return html


def _tsa_and_warnings(report: VerificationReport, t: Mapping[str, str]) -> str:
    stamps = report.facts.get("timestamps", [])
    html = f"<h2>{_e(t['tsa'])}</h2><ul>"
    html += "".join(f"<li>{_e(s['tsa'])}: {_e(s['gen_time'])}</li>" for s in stamps)
    html += f"</ul><h2>{_e(t['warnings'])}</h2><ul>"
    warnings = [f"<li>{_e(c.name)}: {_e(c.message)}</li>" for c in report.checks
                if c.status == "warning"]  # fmt: skip
    if "Dev Root" in str(report.facts.get("trust_root", "")):
        warnings.insert(0, f"<li>{_e(t['dev_root'])}</li>")
    return html + ("".join(warnings) or f"<li>{_e(t['none'])}</li>") + "</ul>"


def _transparency(report: VerificationReport, t: Mapping[str, str]) -> str:
    found = [c for c in report.checks if c.name.startswith("transparency.")]
    body = (
        "".join(f"<li>{_status(t, c.status)} {_e(c.message)}</li>" for c in found)
        or f"<li>{_e(t['not_checked'])}</li>"
    )
    return f"<h2>{_e(t['transparency'])}</h2><ul>{body}</ul>"


def render_html(report: VerificationReport, lang: str = "en") -> str:
    """The whole page. ``lang``: ``en`` or ``zh-CN``."""
    t, groups = _T[lang], _GROUPS[lang]
    case = report.facts.get("case", {})
    verdict = _e(t["valid"]) if report.ok else _e(t["invalid"].format(n=len(report.failures)))
    head = (
        f'<!DOCTYPE html><html lang="{_e(lang)}"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        f"<title>{_e(t['title'])}</title><style>{_CSS}</style></head><body>"
    )
    facts = _table((t["file"], t["case"], t["court"], t["closed"], t["hash"], t["root"]), [[
        _e(report.source), _e(case.get("case_number", "")), _e(case.get("court", "")),
        _e(case.get("closed_at", "")), f"<code>{_e(report.facts.get('document_hash', ''))}</code>",
        _e(report.facts.get("trust_root", "")),
    ]])  # fmt: skip
    return "".join([
        head, f"<h1>{_e(t['title'])}</h1>",
        f'<p class="verdict {"ok" if report.ok else "failed"}">{verdict}</p>', facts,
        _tsa_and_warnings(report, t), _people(report, t), _transparency(report, t),
        f"<h2>{_e(t['checks'])}</h2>", _checks(report, t, groups), "</body></html>",
    ])  # fmt: skip
