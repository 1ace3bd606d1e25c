"""Issue 8 item 15: a branch user sees only its own branch in `branch list` and `user list`; a committee user
only its committee's branches and people; nobody sees other committees' contacts' e-mails."""

from __future__ import annotations

from conftest import Bf


def _committees(rows: list[dict[str, str]]) -> set[str]:
    return {r["committee"] for r in rows}


def test_org_sees_the_whole_roster_and_every_user(bf: Bf) -> None:
    branches = bf.json("branch", "list", user="zzb")
    assert len(_committees(branches)) > 2 and any(b["email"] for b in branches)
    names = {u["name"] for u in bf.json("user", "list", user="zzb")}
    assert {"wenfa", "waiguo", "yishu", "zhibu1", "expert", "zzb", "admin"} <= names


def test_a_committee_user_sees_its_own_branches_and_people_only(bf: Bf) -> None:
    branches = bf.json("branch", "list", user="wenfa")
    assert branches and _committees(branches) == {"文法学院分党委"}
    assert {u["name"] for u in bf.json("user", "list", user="wenfa")} == {"wenfa", "zhibu1"}
    # asking for another committee by name gives nothing of it
    assert bf.json("branch", "list", "--committee", "外国语学院分党委", user="wenfa") == []


def test_a_branch_user_sees_itself_only(bf: Bf) -> None:
    branches = bf.json("branch", "list", user="zhibu1")
    assert [b["name"] for b in branches] == ["文法学院第1学生党支部"]
    assert [u["name"] for u in bf.json("user", "list", user="zhibu1")] == ["zhibu1"]


def test_a_reviewer_sees_branches_but_no_contacts_and_no_other_user(bf: Bf) -> None:
    branches = bf.json("branch", "list", user="expert")
    assert len(_committees(branches)) > 2
    assert all(b["email"] == "" and b["contact"] == "" for b in branches)
    assert [u["name"] for u in bf.json("user", "list", user="expert")] == ["expert"]


def test_one_user_is_listed_by_name_within_the_same_scope(bf: Bf) -> None:
    """`users.listing(ws, name)` (what every web page asks for its user) is the list's row, or nothing when the
    actor may not see that user; `auth.can_log_in` tells which listed users have a password, in one question."""
    from workflow import auth, users

    whole = {u["name"]: u for u in users.listing(bf.ws("zzb"))}
    assert users.listing(bf.ws("zzb"), "zhibu1") == [whole["zhibu1"]]
    assert users.listing(bf.ws("wenfa"), "zhibu1") == [whole["zhibu1"]]  # a committee sees its own branch's contact
    assert users.listing(bf.ws("wenfa"), "waiguo") == []  # another committee's person is simply not there
    assert users.listing(bf.ws("zzb"), "nobody") == []
    auth.set_password(bf.ws("zzb"), "wenfa", "wenfa-Pass-2024")
    assert auth.can_log_in(bf.ws().store, whole) == {"wenfa"}
