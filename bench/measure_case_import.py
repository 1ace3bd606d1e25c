"""`case import` of a 申报汇总表 whose every row brings its own two attachment files, against copying the
same files alone (no database: the floor for the files' part)."""

from __future__ import annotations

import csv
import os
import shutil
import time
from pathlib import Path
from typing import Any

from bench import backends, data
from bench.results import Results, at_most
from bench.timing import in_child


def section(rows: int) -> str:
    """The section title."""
    return f"case import of {rows:,} rows, each with its own two attachment files ({2 * rows:,} distinct small files)"


def write_sheet(folder: Path, branches: list[data.Branch], theme: str) -> Path:
    """The 申报汇总表 (UTF-8 CSV) and, beside it in 附件/, a .docx form and a .pdf scan per row (each file distinct)."""
    from workflow.intake.case_import import HEADERS

    files = folder / "附件"
    files.mkdir(parents=True, exist_ok=True)
    path = folder / "申报汇总表.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(HEADERS)
        for n, b in enumerate(branches, 1):
            form, scan = f"附件/申报表{n}.docx", f"附件/盖章{n}.pdf"
            (folder / form).write_bytes(b"PK\x03\x04" + f"申报表 {n} ".encode() * 20)
            (folder / scan).write_bytes(b"%PDF-1.4\n" + f"盖章扫描件 {n} ".encode() * 20)
            cells = {"支部名称": b.name, "项目名称": f"{b.name}特色创建", "创建方向": theme, "申报表文件": form, "盖章扫描件": scan}
            w.writerow([cells.get(h, "") for h in HEADERS])
    return path


def measure(results: Results, kind: str, workdir: Path, rows: int) -> None:
    """A campaign with `rows` branches and no cases; import the sheet once (every case created, every file attached)."""
    from workflow.spec import packaged_text, parse

    name = section(rows)
    branches = data.roster(rows)
    folder = workdir / f"case-import-{rows}"
    sheet = folder / "申报汇总表.csv"
    if not sheet.exists():
        write_sheet(folder, branches, parse(packaged_text()).rules.themes[0])
    db = backends.create(kind, workdir, "case_import")
    files = workdir / f"files-{kind}"
    shutil.rmtree(files, ignore_errors=True)
    try:
        data.empty_campaign(db)
        roster_csv = data.write_csv(workdir / "case-import-roster.csv", branches)
        done = in_child(run_import, db.url, str(roster_csv), str(sheet), str(files))
    finally:
        db.drop()
        shutil.rmtree(files, ignore_errors=True)
    results.add(name, "case import (library): read, check, create the cases, store the files", db.label, done["seconds"], "s",
                target=at_most(10, "≤ 10 s"), pg_rule=True, note=f"{done['created']:,} created, {done['attachments']:,} files")  # fmt: skip
    copied = in_child(copy_files, str(folder / "附件"), str(workdir / "case-import-copy"))
    results.add(name, "copy the same files alone (shutil.copyfile, no database)", db.label, copied, "s")


def run_import(url: str, roster_csv: str, sheet: str, files: str) -> dict[str, Any]:
    """Import the roster (not timed), then the 申报汇总表 (timed), in this child process."""
    os.environ["BRANCHFLOW_FILES"] = files
    from workflow.dates import clock
    from workflow.db.store import Store
    from workflow.intake import case_import, roster
    from workflow.workspace import Workspace

    ws = Workspace(Store(url), clock.parse_now(data.QUERY_NOW))
    roster.import_file(ws, roster_csv)
    t0 = time.perf_counter()
    done = case_import.import_file(ws, sheet)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "created": done.created, "attachments": done.attachments}


def copy_files(source: str, target: str) -> float:
    """Copy every file of `source` into `target` (the work of storing them, without any checks or database)."""
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    t0 = time.perf_counter()
    for entry in os.scandir(source):
        shutil.copyfile(entry.path, os.path.join(target, entry.name))
    seconds = time.perf_counter() - t0
    shutil.rmtree(target, ignore_errors=True)
    return seconds
