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
