"""The database tables (SQLModel). Times are naive UTC; see `clock.to_db` / `clock.from_db`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utc(nullable: bool = False) -> Any:
    """A naive-UTC timestamp column (see `clock.to_db`)."""
    return Field(default=None, sa_type=DateTime(), nullable=nullable) if nullable else Field(sa_type=DateTime())


class SpecRecord(SQLModel, table=True):
    """The `states.yaml` text in force, so every process sharing the database runs the same machine."""

    __tablename__ = "spec"
    id: int | None = Field(default=None, primary_key=True)
    source: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    loaded_at: datetime = utc()


class Campaign(SQLModel, table=True):
    """One year's 特色支部创建 campaign."""

    __tablename__ = "campaign"
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(unique=True)
    label: str
    created_at: datetime = utc()


class CampaignDue(SQLModel, table=True):
    """A campaign's due date for one state (copied from its calendar, moved by `extend --state`)."""

    __tablename__ = "campaign_due"
    __table_args__ = (UniqueConstraint("campaign_id", "state"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    state: str
    due_at: datetime = utc()


class Committee(SQLModel, table=True):
    """A sub-committee (分党委 / 直属党总支)."""

    __tablename__ = "committee"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)


class Branch(SQLModel, table=True):
    """A party branch (党支部) from the roster."""

    __tablename__ = "branch"
    id: int | None = Field(default=None, primary_key=True)
    committee_id: int = Field(foreign_key="committee.id", index=True)
    name: str = Field(unique=True)
    members: int = 0
    contact: str = ""
    email: str = ""
    took_part_last_year: bool = False
    # The campaign year the roster column 上年度参与 speaks of (the year before the campaign it was
    # imported for), so that it still counts in later years of a model branch's cultivation cycle.
    took_part_year: int | None = None
    model_branch: bool = False
    cycle_start: int | None = None
    cycle_end: int | None = None


class User(SQLModel, table=True):
    """A person acting in Branchflow, with a role and (for committee and branch) a scope."""

    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    role: str
    committee_id: int | None = Field(default=None, foreign_key="committee.id")
    branch_id: int | None = Field(default=None, foreign_key="branch.id")
    email: str = ""
    disabled_at: datetime | None = utc(nullable=True)  # a disabled user cannot act; history keeps the name
    sso_id: str | None = Field(default=None, unique=True)  # the 统一身份认证 (CAS) account that logs in as this user


class UserHistory(SQLModel, table=True):
    """Append-only audit of the users: who added, changed, disabled or enabled whom, and what changed."""

    __tablename__ = "user_history"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    at: datetime = utc()
    actor: str
    role: str
    action: str  # add | set | disable | enable
    before: str  # JSON of the fields changed, as they were
    after: str  # JSON of the fields changed, as they are now
    comment: str = ""


class Case(SQLModel, table=True):
    """One branch's case in one campaign."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_state_due", "state", "due_at"),
        Index("ix_cases_campaign_branch", "campaign_id", "branch_id"),
        Index("ix_cases_campaign_state_due", "campaign_id", "state", "due_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    branch_id: int = Field(foreign_key="branch.id")
    title: str
    theme: str
    theme_note: str = ""
    expected_outcomes: str = ""
    schedule: str = ""
    innovation: str = ""
    promotion_plan: str = ""
    discipline_activity: str = ""
    state: str
    due_at: datetime | None = utc(nullable=True)
    version: int = 1
    score: float | None = None
    criteria: str = ""  # JSON: R13 score per criterion
    created_at: datetime = utc()
    updated_at: datetime = utc()


class Attachment(SQLModel, table=True):
    """A file of a case, stored under its sha256 in the files folder."""

    __tablename__ = "attachment"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str  # form | stamped_scan
    original_name: str
    sha256: str
    size: int
    actor: str
    created_at: datetime = utc()


class Waiver(SQLModel, table=True):
    """An exception org granted one case for one rule (R2), with its reason."""

    __tablename__ = "waiver"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    rule: str
    reason: str
    actor: str
    at: datetime = utc()


class History(SQLModel, table=True):
    """Append-only audit: transitions, and extend / waive / edit / attach rows."""

    __tablename__ = "history"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    at: datetime = utc()
    actor: str
    role: str
    on_behalf_of: str = ""
    trigger: str
    source: str
    dest: str
    inputs: str = ""  # JSON
    comment: str = ""


class Review(SQLModel, table=True):
    """R13: one expert assigned to one case, and (once submitted) their scores per criterion.

    Every assignment, unassignment, submission and change is also a history row of the case.
    """

    __tablename__ = "review"
    __table_args__ = (UniqueConstraint("case_id", "reviewer_id", name="uq_review_case_reviewer"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    reviewer_id: int = Field(foreign_key="app_user.id", index=True)
    assigned_by: str
    assigned_at: datetime = utc()
    scores: str = ""  # JSON: criterion id -> 0..100
    total: float | None = None  # the weighted total, two decimals
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    submitted_at: datetime | None = utc(nullable=True)
    changed_at: datetime | None = utc(nullable=True)


class Outbox(SQLModel, table=True):
    """R14: one reminder to one recipient by one channel, written by the sweep that decided it.

    The unique key (case, state, due_at, offset, recipient, channel) is what makes a reminder happen
    once: a later sweep, or a concurrent one, finds the row and adds nothing. A new due date (an
    extension) is a new key, so it arms new reminders. `offset` is 7d / 3wd / 12h, `overdue`, or
    `digest:YYYY-MM-DD` for org's daily overdue digest.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("case_id", "state", "due_at", "offset", "recipient", "channel", name="uq_outbox_key"),
        Index("ix_outbox_status_next", "status", "next_try_at"),
        Index("ix_outbox_lease", "lease_owner"),
        # A sender claims one recipient's rows per channel: without this, each claim scans every pending row.
        Index("ix_outbox_recipient", "recipient", "channel", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    state: str
    due_at: datetime = utc()
    offset: str
    kind: str  # before | overdue | digest
    recipient: str  # an email address, lower case: the person, whatever the channel
    recipient_name: str = ""
    channel: str
    status: str = "pending"  # pending | sent | failed | cancelled
    attempts: int = 0
    last_error: str = ""
    next_try_at: datetime = utc()
    lease_owner: str | None = None
    lease_until: datetime | None = utc(nullable=True)
    delivery_id: int | None = Field(default=None, foreign_key="delivery.id")
    created_at: datetime = utc()
    sent_at: datetime | None = utc(nullable=True)


class Delivery(SQLModel, table=True):
    """One message: the outbox rows one recipient gets by one channel in one sweep.

    `message_key` is derived from the keys of the rows it carries, so the same message sent again
    after a crash has the same key (and the same e-mail Message-ID).
    """

    __tablename__ = "delivery"
    id: int | None = Field(default=None, primary_key=True)
    message_key: str = Field(unique=True)
    channel: str
    recipient: str
    subject: str = ""
    outbox_ids: str = ""  # JSON list
    status: str = "sending"  # sending | sent | retry | failed
    attempts: int = 0
    last_error: str = ""
    created_at: datetime = utc()
    sent_at: datetime | None = utc(nullable=True)


class DeliveryAttempt(SQLModel, table=True):
    """One try at sending a delivery; `finished_at` stays empty if the sender died mid-send."""

    __tablename__ = "delivery_attempt"
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    owner: str
    started_at: datetime = utc()
    finished_at: datetime | None = utc(nullable=True)
    outcome: str = ""  # sent | temporary | permanent ('' while in progress)
    error: str = ""


class Credential(SQLModel, table=True):
    """A user's web password: an argon2id hash only; `temporary` makes the user change it at the next login."""

    __tablename__ = "credential"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True)
    password_hash: str
    temporary: bool = False
    changed_at: datetime = utc()


class WebSession(SQLModel, table=True):
    """A logged-in browser: the cookie holds a random id, the database only its sha256.

    The role and scope the user had at login are kept, so a role change ends the session even if the
    command that changed it did not end it explicitly.
    """

    __tablename__ = "web_session"
    id: str = Field(primary_key=True)  # sha256 hex of the cookie's value
    user_id: int = Field(foreign_key="app_user.id", index=True)
    role: str
    committee_id: int | None = None
    branch_id: int | None = None
    csrf: str
    address: str = ""
    created_at: datetime = utc()
    seen_at: datetime = utc()


class LoginFailure(SQLModel, table=True):
    """One failed login, for throttling by user name and by address (kept in the database: shared by every worker)."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_name_at", "name", "at"), Index("ix_login_failure_address_at", "address", "at"))
    id: int | None = Field(default=None, primary_key=True)
    name: str
    address: str
    at: datetime = utc()


class ApiToken(SQLModel, table=True):
    """A token for scripts (`Authorization: Bearer …`), stored as its sha256 only."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    token_hash: str = Field(unique=True)
    label: str = ""
    created_at: datetime = utc()
    last_used_at: datetime | None = utc(nullable=True)
    revoked_at: datetime | None = utc(nullable=True)
