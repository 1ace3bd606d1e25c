"""The whole lifecycle of one case, draft to completed, through the CLI."""

from conftest import Bf, ready_case


def test_one_case_walks_from_draft_to_completed(bf: Bf) -> None:
    cid = str(ready_case(bf))
    bf.ok("advance", cid, "submit", "--data", "attest=true", user="wenfa")
    bf.ok("advance", cid, "pass_review", user="zzb", now="2024-05-10T10:00")
    bf.ok(
        "advance",
        cid,
        "evaluate",
        "--data",
        "score=93",
        "--data",
        "focus=95",
        "--data",
        "reason=测试：人工录入评审结果",
        user="zzb",
        now="2024-05-25T10:00",
    )
    bf.ok("advance", cid, "approve", user="zzb", now="2024-06-01T10:00")
    bf.ok("advance", cid, "pass_check", user="zzb", now="2024-09-25T10:00")
    bf.ok("advance", cid, "submit_results", user="zhibu1", now="2025-04-20T10:00")
    bf.ok("advance", cid, "accept", user="zzb", now="2025-05-20T10:00")
    case = bf.json("case", "show", cid)
    assert case["state"] == "completed" and case["due_at"] is None
    history = bf.json("case", "history", cid)
    assert [h["trigger"] for h in history if h["source"] != h["dest"]] == [
        "create",
        "submit",
        "pass_review",
        "evaluate",
        "approve",
        "pass_check",
        "submit_results",
        "accept",
    ]
