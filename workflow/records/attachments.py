"""A case's files: stored under their content's sha256, recorded with their original name, in a draft, audited.

A file comes as bytes with a name (a web upload has no path) or as a path on this machine (the CLI, a
case import); both become an `Upload` and go through the same checks and the same storage.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from sqlalchemy import insert
from sqlmodel import Session

from workflow import access
from workflow.access import Actor
from workflow.dates import clock
from workflow.db.models import Attachment
from workflow.db.store import Permissions, permissions
from workflow.db.values import safe_file_name
from workflow.errors import Conflict, NotFound, UsageError
from workflow.lifecycle import repository
from workflow.records import cases
from workflow.spec import rules
from workflow.workspace import Workspace

KINDS = rules.ATTACHMENT_KINDS


@dataclass(frozen=True)
class Upload:
    """A file about to be stored: its original name (kept for display only: no line breaks, escapes or
    right-to-left tricks), its content's sha256 and size, and where its bytes are."""

    name: str
    sha256: str
    size: int
    path: Path | None = None
    content: bytes | None = None

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
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
        return cls(safe_file_name(name or path.name), h.hexdigest(), size, path=path)

    @classmethod
    def from_bytes(cls, content: bytes, name: str) -> Upload:
        """Bytes with the name the user gave the file (only its last part is kept: a browser may send a path)."""
        base = PurePosixPath(name.replace("\\", "/")).name.strip()
        if not base:
            raise UsageError("上传的文件没有文件名：请给出原文件名（如 申报表.docx）。")
        return cls(safe_file_name(base), hashlib.sha256(content).hexdigest(), len(content), content=content)


@dataclass(frozen=True)
class Attached:
    """What `attach` stored and recorded."""

    case: int
    kind: str
    name: str
    sha256: str
    size: int


def check_kind(kind: str) -> None:
    """Refuse an unknown attachment kind."""
    if kind not in KINDS:
        raise UsageError(f"附件类型 {kind!r} 无效：请用 form（申报表电子版）或 stamped_scan（盖章扫描件）。")


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
) -> None:
    """Store the file (from `source`, if the caller opened and checked it) and record it as the `kind` of a case in `state` (whose owner is `owner`), with its history
    row; the caller updates the case's version."""
    store(folder, upload, source=source)
    session.execute(
        insert(Attachment).values(
            case_id=case_id,
            kind=kind,
            original_name=upload.name,
            sha256=upload.sha256,
            size=upload.size,
            actor=actor.name,
            created_at=clock.to_db(now),
        )
    )
    inputs = {"kind": kind, "name": upload.name, "sha256": upload.sha256, "size": upload.size}
    repository.record(session, actor, case_id, "attach", state, state, inputs, now, comment, access.acting_for(actor, owner))


def attach(ws: Workspace, case_id: int, kind: str, *, path: str | Path | None = None, content: bytes | None = None, name: str | None = None) -> Attached:
    """Store a file for a draft case as its `kind` and record it (one transaction): a path, or bytes with a file name."""
    check_kind(kind)
    if (path is None) == (content is None):
        raise UsageError("请给出一个文件：路径，或文件内容及文件名（二者选一）。")
    if content is not None:
        upload = Upload.from_bytes(content, name or "")
    else:
        assert path is not None
        upload = Upload.from_path(path, name)
    with ws.store.write() as session:
        actor, row = cases.editable(ws, session, case_id, "上传附件")
        add(session, ws.store.files_dir, actor, case_id, row.state, ws.spec.by_id[row.state].owner, kind, upload, ws.now)
        repository.update_case(session, case_id, row.version, ws.now)
    return Attached(case_id, kind, upload.name, upload.sha256, upload.size)
