"""`workflow.records.attachments` as a web page will call it: bytes and a file name in, a typed result out."""

from __future__ import annotations

import hashlib

import pytest
from conftest import Bf
from helpers import snapshot, spec_parsed_once  # noqa: F401  (autouse: parse states.yaml once)

from workflow.errors import Conflict, NotFound, PermissionDenied, Refused, UsageError
from workflow.lifecycle import repository
from workflow.records import attachments

DOCX = b"PK\x03\x04\x14\x00\x06\x00" + b"word/document.xml" * 4
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"


def draft(bf: Bf, branch: str = "文法学院第1学生党支部", user: str = "wenfa") -> int:
    return int(bf.json("case", "new", "--branch", branch, "--title", "特色创建", "--theme", "人才培养", user=user)["id"])


def test_bytes_and_a_file_name_are_stored_under_their_hash_and_recorded_with_the_name(bf: Bf) -> None:
    cid = draft(bf)
    got = attachments.attach(bf.ws("wenfa"), cid, "form", content=DOCX, name="C:\\fakepath\\申报表.docx")  # a browser may send a path
    digest = hashlib.sha256(DOCX).hexdigest()
    assert got == attachments.Attached(cid, "form", "申报表.docx", digest, len(DOCX))
    assert (bf.tmp / "files" / digest[:2] / digest).read_bytes() == DOCX
    case = bf.json("case", "show", str(cid))
    assert case["version"] == 2
    assert [(a["kind"], a["name"]) for a in case["attachments"]] == [("form", "申报表.docx")]
    last = bf.json("case", "history", str(cid))[-1]
    assert (last["trigger"], last["actor"], last["role"], last["on_behalf_of"]) == ("attach", "wenfa", "committee", "")
    assert last["inputs"] == {"kind": "form", "name": "申报表.docx", "sha256": digest, "size": len(DOCX)}


def test_a_path_goes_through_the_same_storage(bf: Bf) -> None:
    cid = draft(bf)
    got = attachments.attach(bf.ws("zzb"), cid, "stamped_scan", path=bf.file("盖章.pdf", PDF))
    assert (got.name, got.size, got.sha256) == ("盖章.pdf", len(PDF), hashlib.sha256(PDF).hexdigest())
    last = bf.json("case", "history", str(cid))[-1]
    assert (last["actor"], last["role"], last["on_behalf_of"]) == ("zzb", "org", "committee")  # org doing the committee's work


def test_refusals_change_nothing(bf: Bf) -> None:
    cid = draft(bf)
    before = snapshot(bf)
    with pytest.raises(UsageError, match="附件类型"):
        attachments.attach(bf.ws("wenfa"), cid, "photo", content=PDF, name="a.pdf")
    with pytest.raises(UsageError, match="没有文件名"):
        attachments.attach(bf.ws("wenfa"), cid, "form", content=PDF, name="")
    with pytest.raises(UsageError, match="二者选一"):
        attachments.attach(bf.ws("wenfa"), cid, "form")
    with pytest.raises(NotFound, match="找不到文件"):
        attachments.attach(bf.ws("wenfa"), cid, "form", path=bf.tmp / "missing.pdf")
    with pytest.raises(PermissionDenied, match="不能操作该申报"):
        attachments.attach(bf.ws("waiguo"), cid, "form", content=PDF, name="a.pdf")
    assert snapshot(bf) == before


def test_only_a_draft_takes_files(bf: Bf) -> None:
    cid = draft(bf)
    bf.ok("advance", str(cid), "withdraw", user="wenfa")
    with pytest.raises(Refused, match="只有“草稿（申报材料准备）”状态才能上传附件"):
        attachments.attach(bf.ws("wenfa"), cid, "form", content=PDF, name="a.pdf")


def test_the_versioned_update_refuses_a_stale_version_and_the_history_row_has_every_column(bf: Bf) -> None:
    cid = draft(bf)
    ws = bf.ws("zzb")
    with ws.store.write() as s:
        actor = ws.actor(s)
        assert repository.update_case(s, cid, 1, ws.now, title="新名称") == 2
        with pytest.raises(Conflict, match="导入过程中"):
            repository.update_case(s, cid, 1, ws.now, "申报 1 在导入过程中被他人修改", title="又一个")
        repository.record(s, actor, cid, "edit", "draft", "draft", {"title": "新名称"}, ws.now, "更正", "committee")
    last = bf.json("case", "history", str(cid))[-1]
    assert {k: last[k] for k in ("actor", "role", "on_behalf_of", "trigger", "source", "dest", "inputs", "comment")} == {
        "actor": "zzb",
        "role": "org",
        "on_behalf_of": "committee",
        "trigger": "edit",
        "source": "draft",
        "dest": "draft",
        "inputs": {"title": "新名称"},
        "comment": "更正",
    }
    assert bf.json("case", "show", str(cid))["version"] == 2


def test_every_writer_leaves_the_same_kind_of_row(bf: Bf) -> None:
    """create, edit (org for the committee), extend and waive: the actor's own role, who org stood in for."""
    cid = draft(bf)
    bf.ok("case", "set", str(cid), "title=改名", user="zzb")
    bf.ok("extend", str(cid), "--until", "2024-05-20", "--reason", "盖章延误", user="zzb")
    bf.ok("waive", str(cid), "--rule", "R2", "--reason", "学校同意", user="zzb")
    rows = [(h["trigger"], h["actor"], h["role"], h["on_behalf_of"]) for h in bf.json("case", "history", str(cid))]
    assert rows == [
        ("create", "wenfa", "committee", ""),
        ("edit", "zzb", "org", "committee"),
        ("extend", "zzb", "org", ""),
        ("waive", "zzb", "org", ""),
    ]


# ---- issue 8 item 4: files can be got back, replaced and removed; what a kind accepts ------------------------------

DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 24
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize(
    ("kind", "name", "content"),
    [
        ("form", "表.doc", DOC),
        ("form", "表.wps", DOC),
        ("form", "表.docx", DOCX),
        ("form", "表.pdf", PDF),
        ("stamped_scan", "扫描.pdf", PDF),
        ("stamped_scan", "扫描.JPG", JPG),
        ("stamped_scan", "扫描.jpeg", JPG),
        ("stamped_scan", "扫描.png", PNG),
    ],
)
def test_each_kind_accepts_its_formats_by_name_and_signature(kind: str, name: str, content: bytes) -> None:
    assert attachments.problem(kind, attachments.Upload.from_bytes(content, name), limit=1024) is None


@pytest.mark.parametrize(
    ("kind", "name", "content", "phrase"),
    [
        ("form", "空.docx", b"", "是空的（0 字节）"),
        ("form", "大.pdf", b"%PDF-" + b"0" * 2000, "超过上限"),
        ("form", "表.txt", b"text", "申报表电子版只能是 .doc、.docx、.wps 或 .pdf 文件"),
        ("form", "扫描.png", PNG, "申报表电子版只能是"),
        ("stamped_scan", "表.docx", DOCX, "盖章扫描件只能是 .pdf、.jpg 或 .png 文件"),
        ("form", "伪装.docx", b"MZ\x90\x00 an exe", "的内容不是Word 文档（.docx）"),
        ("form", "伪装.pdf", DOCX, "的内容不是PDF 文件"),
        ("form", "伪装.doc", DOCX, "的内容不是Word 文档（.doc）"),
        ("stamped_scan", "伪装.jpg", PNG, "的内容不是JPEG 图片"),
        ("stamped_scan", "伪装.png", JPG, "的内容不是PNG 图片"),
    ],
)
def test_empty_too_large_or_the_wrong_content_is_refused(kind: str, name: str, content: bytes, phrase: str) -> None:
    found = attachments.problem(kind, attachments.Upload.from_bytes(content, name), limit=1024)
    assert found is not None and phrase in found


def test_the_size_limit_is_configured_in_megabytes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert attachments.max_upload_bytes({}) == 20 * 1024 * 1024
    assert attachments.max_upload_bytes({"BRANCHFLOW_MAX_UPLOAD_MB": "0.5"}) == 512 * 1024
    with pytest.raises(UsageError, match="BRANCHFLOW_MAX_UPLOAD_MB"):
        attachments.max_upload_bytes({"BRANCHFLOW_MAX_UPLOAD_MB": "many"})
    monkeypatch.setenv("BRANCHFLOW_MAX_UPLOAD_MB", "0.001")
    upload = attachments.Upload.from_bytes(PDF * 100, "a.pdf")
    assert "超过上限 0.001 MB" in (attachments.problem("form", upload) or "")


def test_a_refused_upload_changes_nothing(bf: Bf) -> None:
    cid = draft(bf)
    before = snapshot(bf)
    with pytest.raises(UsageError, match="的内容不是Word 文档"):
        attachments.attach(bf.ws("wenfa"), cid, "form", content=b"not a docx", name="申报表.docx")
    with pytest.raises(UsageError, match="是空的"):
        attachments.attach(bf.ws("wenfa"), cid, "form", path=bf.file("空.pdf", b""))
    assert snapshot(bf) == before


def test_files_and_download_hand_back_data_within_the_readers_scope(bf: Bf) -> None:
    cid = draft(bf)
    attachments.attach(bf.ws("wenfa"), cid, "form", content=DOCX, name="申报表.docx")
    attachments.attach(bf.ws("wenfa"), cid, "stamped_scan", content=PDF, name="盖章.pdf", )
    listed = attachments.files(bf.ws("zzb"), cid)
    assert [(f.kind, f.name, f.size, f.uploaded_by) for f in listed] == [("form", "申报表.docx", len(DOCX), "wenfa"), ("stamped_scan", "盖章.pdf", len(PDF), "wenfa")]
    assert listed[0].uploaded_at == bf.ws().now
    assert [(d.file.name, d.content) for d in attachments.download(bf.ws("zzb"), cid, "form")] == [("申报表.docx", DOCX)]
    assert [d.content for d in attachments.download(bf.ws("zhibu1"), cid)] == [DOCX, PDF]  # the case's own branch
    with pytest.raises(PermissionDenied, match="不能查看该申报"):
        attachments.files(bf.ws("waiguo"), cid)
    with pytest.raises(PermissionDenied):
        attachments.download(bf.ws("waiguo"), cid)
    with pytest.raises(NotFound, match="还没有盖章扫描件"):
        attachments.download(bf.ws("zzb"), draft(bf, "文法学院第2教工党支部"), "stamped_scan")


def test_download_notices_a_stored_file_that_is_gone_or_changed(bf: Bf) -> None:
    cid = draft(bf)
    got = attachments.attach(bf.ws("wenfa"), cid, "form", content=DOCX, name="申报表.docx")
    stored = bf.tmp / "files" / got.sha256[:2] / got.sha256
    stored.write_bytes(DOCX + b"tampered")
    with pytest.raises(NotFound, match="已损坏"):
        attachments.download(bf.ws("zzb"), cid)
    stored.unlink()
    with pytest.raises(NotFound, match="不在附件目录中"):
        attachments.download(bf.ws("zzb"), cid)


def test_replace_and_remove_in_a_draft_keep_the_old_name_and_hash_in_the_history(bf: Bf) -> None:
    cid = draft(bf)
    old = attachments.attach(bf.ws("wenfa"), cid, "form", content=DOCX, name="初稿.docx")
    new = attachments.attach(bf.ws("wenfa"), cid, "form", content=PDF, name="定稿.pdf", replace=True)
    assert [f.name for f in attachments.files(bf.ws("wenfa"), cid)] == ["定稿.pdf"]
    last = bf.json("case", "history", str(cid))[-1]
    assert last["trigger"] == "attach" and last["inputs"]["name"] == "定稿.pdf"
    assert last["inputs"]["replaced"] == [{"name": "初稿.docx", "sha256": old.sha256, "size": old.size}]
    removed = attachments.remove(bf.ws("zzb"), cid, "form")
    assert [f.name for f in removed.files] == ["定稿.pdf"] and removed.version == 4
    assert attachments.files(bf.ws("wenfa"), cid) == []
    last = bf.json("case", "history", str(cid))[-1]
    assert (last["trigger"], last["actor"], last["on_behalf_of"]) == ("detach", "zzb", "committee")
    assert last["inputs"] == {"kind": "form", "name": "定稿.pdf", "sha256": new.sha256, "size": new.size}
    with pytest.raises(NotFound, match="没有申报表电子版"):
        attachments.remove(bf.ws("wenfa"), cid, "form")


def test_removing_needs_a_draft_and_the_scope(bf: Bf) -> None:
    from conftest import ready_case

    cid = ready_case(bf)
    with pytest.raises(PermissionDenied):
        attachments.remove(bf.ws("waiguo"), cid, "form")
    bf.ok("advance", str(cid), "submit", "--data", "attest=true", user="wenfa")
    before = snapshot(bf)
    with pytest.raises(Refused, match="才能删除附件"):
        attachments.remove(bf.ws("wenfa"), cid, "form")
    with pytest.raises(Refused, match="才能替换附件"):
        attachments.attach(bf.ws("wenfa"), cid, "form", content=PDF, name="b.pdf", replace=True)
    assert snapshot(bf) == before


# ---- through the CLI ----------------------------------------------------------------------------------------------


def test_cli_case_files_lists_kind_name_size_when_and_who(bf: Bf) -> None:
    cid = draft(bf)
    bf.ok("case", "attach", str(cid), bf.file("申报表.docx", DOCX), "--kind", "form", user="wenfa")
    out = bf.ok("case", "files", str(cid), user="zzb").output
    assert out.splitlines()[0].split() == ["类型", "原文件名", "大小（字节）", "上传时间", "上传人"]
    assert "申报表电子版" in out and "申报表.docx" in out and str(len(DOCX)) in out and "wenfa" in out
    listed = bf.json("case", "files", str(cid), user="zzb")
    assert [(f["kind"], f["name"], f["size"], f["uploaded_by"], f["uploaded_at"]) for f in listed] == [
        ("form", "申报表.docx", len(DOCX), "wenfa", "2024-04-25T09:00:00+08:00")
    ]
    result = bf("case", "files", str(cid), user="waiguo")
    assert result.exit_code == 1 and "不能查看该申报" in result.output


def test_cli_case_download_writes_the_original_names_never_overwriting(bf: Bf) -> None:
    cid = draft(bf)
    bf.ok("case", "attach", str(cid), bf.file("申报表.docx", DOCX), "--kind", "form", user="wenfa")
    bf.ok("case", "attach", str(cid), bf.file("盖章.pdf", PDF), "--kind", "stamped_scan", user="wenfa")
    target = bf.tmp / "初审材料"
    out = bf.ok("case", "download", str(cid), "--to", str(target), user="zzb").output
    assert (target / "申报表.docx").read_bytes() == DOCX and (target / "盖章.pdf").read_bytes() == PDF
    assert f"已保存 {target / '申报表.docx'}" in out
    saved = bf.json("case", "download", str(cid), "--kind", "form", "--to", str(target), user="zzb")
    assert [(s["kind"], s["name"], s["path"]) for s in saved] == [("form", "申报表.docx", str(target / "申报表 (2).docx"))]
    assert (target / "申报表.docx").read_bytes() == DOCX and (target / "申报表 (2).docx").read_bytes() == DOCX
    refused = bf("case", "download", str(cid), "--to", str(bf.tmp / "x"), user="waiguo")
    assert refused.exit_code == 1 and not (bf.tmp / "x").exists()
    missing = bf("case", "download", str(draft(bf, "文法学院第2教工党支部")), "--to", str(bf.tmp / "y"), user="zzb")
    assert missing.exit_code == 3 and "还没有附件" in missing.output


def test_cli_refuses_empty_wrong_or_oversized_files_with_exit_2(bf: Bf, monkeypatch: pytest.MonkeyPatch) -> None:
    cid = draft(bf)
    before = snapshot(bf)
    for path, kind, phrase in (
        (bf.file("空.pdf", b""), "form", "是空的（0 字节）"),
        (bf.file("表.xlsx", DOCX), "form", "只能是 .doc、.docx、.wps 或 .pdf 文件"),
        (bf.file("假.pdf", b"<html>"), "stamped_scan", "的内容不是PDF 文件"),
    ):
        result = bf("case", "attach", str(cid), path, "--kind", kind, user="wenfa")
        assert result.exit_code == 2 and phrase in result.output, result.output
    monkeypatch.setenv("BRANCHFLOW_MAX_UPLOAD_MB", "0.0001")
    result = bf("case", "attach", str(cid), bf.file("大.pdf", PDF * 10), "--kind", "form", user="wenfa")
    assert result.exit_code == 2 and "超过上限" in result.output and "BRANCHFLOW_MAX_UPLOAD_MB" in result.output
    assert snapshot(bf) == before


def test_cli_replace_and_detach(bf: Bf) -> None:
    cid = draft(bf)
    bf.ok("case", "attach", str(cid), bf.file("初稿.docx", DOCX), "--kind", "form", user="wenfa")
    out = bf.ok("case", "attach", str(cid), bf.file("定稿.pdf", PDF), "--kind", "form", "--replace", user="wenfa").output
    assert "已替换为 定稿.pdf" in out
    assert [f["name"] for f in bf.json("case", "files", str(cid))] == ["定稿.pdf"]
    data = bf.json("case", "detach", str(cid), "--kind", "form", "--name", "定稿.pdf", user="wenfa")
    assert [f["name"] for f in data["removed"]] == ["定稿.pdf"] and data["version"] == 4
    assert [h["trigger"] for h in bf.json("case", "history", str(cid))] == ["create", "attach", "attach", "detach"]
    again = bf("case", "detach", str(cid), "--kind", "form", user="wenfa")
    assert again.exit_code == 3 and "没有申报表电子版" in again.output


def test_case_import_checks_each_attachment_too(bf: Bf) -> None:
    import csv

    from workflow.spec import rules

    folder = bf.tmp / "sheet"
    folder.mkdir()
    (folder / "表.docx").write_bytes(b"not a zip")
    (folder / "扫描.pdf").write_bytes(PDF)
    headers = ["支部名称", "项目名称", "创建方向", "方向说明", *rules.PLAN_FIELDS.values(), "申报表文件", "盖章扫描件"]
    with (folder / "cases.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([headers, ["文法学院第1学生党支部", "t", "人才培养", "", *("x" * 5), "表.docx", "扫描.pdf"]])
    before = snapshot(bf)
    result = bf("case", "import", str(folder / "cases.csv"), user="wenfa")
    assert result.exit_code == 2 and "第 2 行：申报表文件“表.docx”：文件 表.docx 的内容不是Word 文档（.docx）" in result.output
    assert snapshot(bf) == before
