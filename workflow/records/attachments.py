"""A case's files: stored under their content's sha256, recorded with their original name, in a draft, audited.

A file comes as bytes with a name (a web upload has no path) or as a path on this machine (the CLI, a
case import); both become an `Upload` and go through the same checks (not empty, at most the size limit,
a name and content its kind allows) and the same storage. Files are listed and handed back as data (bytes and
the original name); a front end writes or sends them. In a draft a file can be replaced or removed; the
history keeps the old one's name and hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from sqlalchemy import delete, select
from sqlmodel import Session, col

from workflow import access
from workflow.access import Actor
from workflow.dates import clock
from workflow.db.models import Attachment
from workflow.db.store import Permissions, permissions
from workflow.db.values import safe_file_name
from workflow.errors import Conflict, NotFound, UsageError
from workflow.lifecycle import repository
from workflow.records import cases
from workflow.spec import rules, words
from workflow.workspace import Workspace

KINDS = rules.ATTACHMENT_KINDS
MAX_UPLOAD_ENV = "BRANCHFLOW_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 20
_MB = 1024 * 1024
_HEAD = 16

# What each kind accepts (R8: the 申报表 as an electronic file, the stamped scan), and what a file of each
# extension starts with: `%PDF-`, a ZIP (.docx), an OLE compound file (.doc, .wps), JPEG, PNG.
EXTENSIONS: dict[str, tuple[str, ...]] = {"form": (".doc", ".docx", ".wps", ".pdf"), "stamped_scan": (".pdf", ".jpg", ".png")}
_SAME = {".jpeg": ".jpg"}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SIGNATURES: dict[str, tuple[bytes, str]] = {
    ".pdf": (b"%PDF-", "PDF 文件"),
    ".docx": (b"PK\x03\x04", "Word 文档（.docx）"),
    ".doc": (_OLE, "Word 文档（.doc）"),
    ".wps": (_OLE, "WPS 文档（.wps）"),
    ".jpg": (b"\xff\xd8\xff", "JPEG 图片"),
    ".png": (b"\x89PNG\r\n\x1a\n", "PNG 图片"),
}


@dataclass(frozen=True)
class Upload:
    """A file about to be stored: its original name (kept for display only: no line breaks, escapes or
    right-to-left tricks), its content's sha256 and size, and where its bytes are."""

    name: str
    sha256: str
    size: int
    path: Path | None = None
    content: bytes | None = None
    head: bytes = b""  # the first bytes: the file's signature

    @classmethod
    def from_path(cls, path: str | Path, name: str | None = None) -> Upload:
        """A file on this machine (read in chunks: it may be large); NotFound when there is none."""
        src = Path(path)
        if not src.is_file():
            raise NotFound(f"找不到文件：{src}。请检查路径。")
        with src.open("rb") as fh:
            return cls.from_file(fh, src, name)

    @classmethod
    def from_file(cls, fh: BinaryIO, path: Path, name: str | None = None) -> Upload:
        """A file already opened (and checked) by the caller, read in chunks; `path` is where it is stored from."""
        h = hashlib.sha256()
        size = 0
        head = b""
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            head = head or chunk[:_HEAD]
            h.update(chunk)
            size += len(chunk)
        return cls(safe_file_name(name or path.name), h.hexdigest(), size, path=path, head=head)

    @classmethod
    def from_bytes(cls, content: bytes, name: str) -> Upload:
        """Bytes with the name the user gave the file (only its last part is kept: a browser may send a path)."""
        base = PurePosixPath(name.replace("\\", "/")).name.strip()
        if base in ("", ".", ".."):
            raise UsageError("上传的文件没有文件名：请给出原文件名（如 申报表.docx）。")
        return cls(safe_file_name(base), hashlib.sha256(content).hexdigest(), len(content), content=content, head=content[:_HEAD])


@dataclass(frozen=True)
class Attached:
    """What `attach` stored and recorded."""

    case: int
    kind: str
    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class StoredFile:
    """One attachment of a case as listed: kind, original name, size, hash, when and by whom."""

    id: int
    kind: str
    name: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str


@dataclass(frozen=True)
class Download:
    """A stored file handed back: what it is, and its bytes (checked against its hash)."""

    file: StoredFile
    content: bytes


@dataclass(frozen=True)
class Removed:
    """What `remove` took off a draft case (the stored bytes stay, named by their hash in the history)."""

    case: int
    kind: str
    files: tuple[StoredFile, ...]
    version: int


def check_kind(kind: str) -> str:
    """The kind's id (`form`, or its label `申报表电子版`; see `words.KINDS`); an unknown kind is a usage error."""
    return words.KINDS.resolve(kind)


def max_upload_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The largest file accepted: BRANCHFLOW_MAX_UPLOAD_MB megabytes (default 20)."""
    text = (os.environ if environ is None else environ).get(MAX_UPLOAD_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_UPLOAD_MB * _MB
    try:
        mb = float(text)
    except ValueError:
        mb = -1.0
    if not 0 < mb <= 2048:
        raise UsageError(f"环境变量 {MAX_UPLOAD_ENV} 应是 0 到 2048 之间的兆字节数（如 20），现在是 {text!r}。")
    return int(mb * _MB)


def problem(kind: str, upload: Upload, limit: int | None = None) -> str | None:
    """Why this file cannot be the case's `kind` (empty, too large, a name or content the kind does not allow), or None."""
    limit = max_upload_bytes() if limit is None else limit
    if upload.size == 0:
        return f"文件 {upload.name} 是空的（0 字节）：请选择有内容的文件"
    if upload.size > limit:
        return (
            f"文件 {upload.name} 有 {_size(upload.size)}，超过上限 {round(limit / _MB, 3):g} MB："
            f"请压缩后再上传（上限由环境变量 {MAX_UPLOAD_ENV} 设置）"
        )
    suffix = PurePosixPath(upload.name).suffix.lower()
    ext = _SAME.get(suffix, suffix)
    allowed = EXTENSIONS[kind]
    if ext not in allowed:
        listed = "、".join(allowed[:-1]) + " 或 " + allowed[-1]
        return f"{KINDS[kind]}只能是 {listed} 文件，{upload.name} 不是"
    signature, label = SIGNATURES[ext]
    if not upload.head.startswith(signature):
        return f"文件 {upload.name} 的内容不是{label}（按文件开头的字节判断）：请检查文件是否损坏，或扩展名是否与内容相符"
    return None


def _size(n: int) -> str:
    return f"{n / _MB:.1f} MB" if n >= _MB else f"{n / 1024:.1f} KB"


def check(kind: str, upload: Upload, limit: int | None = None) -> None:
    """Refuse a file the kind does not allow (see `problem`)."""
    kind = check_kind(kind)
    found = problem(kind, upload, limit)
    if found:
        raise UsageError(found + "。")


def store(folder: Path, upload: Upload, modes: Permissions | None = None, source: BinaryIO | None = None) -> Path:
    """Write the file atomically to folder/ab/abcdef… (never under a name the user chose); a file already there is kept.

    The bytes come from `source` (a file the caller opened and checked), else the upload's bytes or path; the copy
    must hash to what was read before, or nothing is stored. Folders are 0700 and files 0600 (or as
    BRANCHFLOW_UMASK allows a shared group), whatever the process umask.
    """
    modes = modes or permissions(os.environ)
    target = folder / upload.sha256[:2] / upload.sha256
    if target.exists():
        return target
    for part in (folder, target.parent):
        if not part.exists():
            part.mkdir(parents=True, exist_ok=True, mode=modes.dir_mode)
            os.chmod(part, modes.dir_mode)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        os.fchmod(fd, modes.file_mode)
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            if source is None and upload.content is not None:
                h.update(upload.content)
                out.write(upload.content)
            else:
                with _reader(upload, source) as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
                        out.write(chunk)
        if h.hexdigest() != upload.sha256:
            raise Conflict("附件在上传过程中被改动（内容与刚才读到的不同），未做任何修改：请重试。")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _reader(upload: Upload, source: BinaryIO | None) -> contextlib.AbstractContextManager[BinaryIO]:
    """The bytes to store: the caller's open file (left open), else the upload's path."""
    if source is not None:
        return contextlib.nullcontext(source)
    if upload.path is None:
        raise UsageError("附件没有内容：请给出文件路径或文件内容。")
    return upload.path.open("rb")


def add(
    session: Session,
    folder: Path,
    actor: Actor,
    case_id: int,
    state: str,
    owner: str | None,
    kind: str,
    upload: Upload,
    now: datetime,
    comment: str = "",
    source: BinaryIO | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Store the file (from `source`, if the caller opened and checked it) and record it as the `kind` of a case in
    `state` (whose owner is `owner`), with its history row (`extra` added to its inputs); the caller updates the
    case's version."""
    row, history = stored(folder, actor, case_id, state, owner, kind, upload, now, comment, source, extra)
    session.connection().execute(Attachment.__table__.insert(), row)  # type: ignore[attr-defined]  # one cached statement
    repository.append_history(session, [history])


def stored(
    folder: Path,
    actor: Actor,
    case_id: int,
    state: str,
    owner: str | None,
    kind: str,
    upload: Upload,
    now: datetime,
    comment: str = "",
    source: BinaryIO | None = None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Store the file as `add` does and return its attachment row and history row, for the caller to insert
    (a case import inserts a chunk's rows with one executemany each)."""
    store(folder, upload, source=source)
    row = {
        "case_id": case_id,
        "kind": kind,
        "original_name": upload.name,
        "sha256": upload.sha256,
        "size": upload.size,
        "actor": actor.name,
        "created_at": clock.to_db(now),
    }
    inputs = {"kind": kind, "name": upload.name, "sha256": upload.sha256, "size": upload.size, **(extra or {})}
    return row, repository.history_row(case_id, actor, now, "attach", state, state, inputs, comment, access.acting_for(actor, owner))


def insert_rows(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert attachment rows built by `stored` (one executemany)."""
    if rows:
        session.connection().execute(Attachment.__table__.insert(), list(rows))  # type: ignore[attr-defined]


def attach(
    ws: Workspace,
    case_id: int,
    kind: str,
    *,
    path: str | Path | None = None,
    content: bytes | None = None,
    name: str | None = None,
    replace: bool = False,
) -> Attached:
    """Store a file for a draft case as its `kind` and record it (one transaction): a path, or bytes with a file name.

    With `replace`, the case's current files of that kind are taken off first (the history row names them)."""
    kind = check_kind(kind)
    if (path is None) == (content is None):
        raise UsageError("请给出一个文件：路径，或文件内容及文件名（二者选一）。")
    if content is not None:
        upload = Upload.from_bytes(content, name or "")
    else:
        assert path is not None
        upload = Upload.from_path(path, name)
    check(kind, upload)
    with ws.store.write() as session:
        actor, row = cases.editable(ws, session, case_id, "替换附件" if replace else "上传附件")
        replaced = _take_off(session, case_id, kind, None) if replace else []
        extra = {"replaced": [{"name": f.name, "sha256": f.sha256, "size": f.size} for f in replaced]} if replaced else {}
        add(session, ws.store.files_dir, actor, case_id, row.state, ws.spec.by_id[row.state].owner, kind, upload, ws.now, extra=extra)
        repository.update_case(session, case_id, row.version, ws.now)
    return Attached(case_id, kind, upload.name, upload.sha256, upload.size)


def remove(ws: Workspace, case_id: int, kind: str, name: str | None = None) -> Removed:
    """Take a draft case's file(s) of `kind` off it (all of them, or the one of this original name), audited."""
    kind = check_kind(kind)
    with ws.store.write() as session:
        actor, row = cases.editable(ws, session, case_id, "删除附件")
        current = [f for f in _listed(session, case_id) if f.kind == kind]
        if name is not None:
            current = [f for f in current if f.name == name]
        if not current:
            which = f"名为“{name}”的" if name is not None else ""
            raise NotFound(f"申报 {case_id} 没有{which}{KINDS[kind]}。", hint="请先查看该申报的附件清单。", field="kind")
        taken = _take_off(session, case_id, kind, [f.id for f in current])
        on_behalf_of = access.acting_for(actor, ws.spec.by_id[row.state].owner)
        repository.append_history(
            session,
            [
                repository.history_row(
                    case_id,
                    actor,
                    ws.now,
                    "detach",
                    row.state,
                    row.state,
                    {"kind": kind, "name": f.name, "sha256": f.sha256, "size": f.size},
                    "",
                    on_behalf_of,
                )
                for f in taken
            ],
        )
        version = repository.update_case(session, case_id, row.version, ws.now)
    return Removed(case_id, kind, tuple(taken), version)


def files(ws: Workspace, case_id: int) -> list[StoredFile]:
    """A case's current files, oldest first (whoever may read the case)."""
    with ws.store.read() as session:
        actor = ws.actor(session)
        row = repository.load_case(session, case_id)
        access.require_read(actor, row.committee_id, row.branch_id, access.is_assigned(session, actor, case_id))
        return _listed(session, case_id)


def download(ws: Workspace, case_id: int, kind: str | None = None) -> list[Download]:
    """A case's current files (of one kind, if asked) with their bytes, checked against their hash."""
    if kind is not None:
        kind = check_kind(kind)
    found = [f for f in files(ws, case_id) if kind is None or f.kind == kind]
    if not found:
        what = KINDS[kind] if kind is not None else "附件"
        raise NotFound(f"申报 {case_id} 还没有{what}。")
    return [Download(f, read(ws, f)) for f in found]


def read(ws: Workspace, f: StoredFile) -> bytes:
    """The stored bytes of a listed file, or NotFound when the files folder lacks them (or they changed)."""
    path = ws.store.files_dir / f.sha256[:2] / f.sha256
    try:
        content = path.read_bytes()
    except OSError:
        raise NotFound(f"附件 {f.name} 的文件不在附件目录中（{ws.store.files_dir}）：请检查 BRANCHFLOW_FILES。") from None
    if hashlib.sha256(content).hexdigest() != f.sha256:
        raise NotFound(f"附件 {f.name} 在附件目录中的文件已损坏（内容与登记的 sha256 不符）：请从备份恢复 {path}。")
    return content


def _listed(session: Session, case_id: int) -> list[StoredFile]:
    rows = session.execute(select(Attachment).where(col(Attachment.case_id) == case_id).order_by(col(Attachment.id))).scalars()
    return [StoredFile(a.id or 0, a.kind, a.original_name, a.size, a.sha256, clock.from_db(a.created_at), a.actor) for a in rows]


def _take_off(session: Session, case_id: int, kind: str, ids: list[int] | None) -> list[StoredFile]:
    """Delete the case's attachment rows of `kind` (these ids, or all); returns what they were."""
    taken = [f for f in _listed(session, case_id) if f.kind == kind and (ids is None or f.id in ids)]
    if taken:
        session.execute(delete(Attachment).where(col(Attachment.id).in_([f.id for f in taken])))
    return taken
