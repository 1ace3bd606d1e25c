"""Synthetic rosters for the demo, the tests and the benchmark (the product never reads ../shared)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from workflow.intake.roster import HEADERS

COMMITTEES = [
    "文法学院分党委",
    "外国语学院分党委",
    "建筑学院分党委",
    "艺术学院分党委",
    "理学院分党委",
    "机械工程与自动化学院分党委",
    "材料科学与工程学院分党委",
    "冶金学院分党委",
    "信息科学与工程学院分党委",
    "计算机科学与工程学院分党委",
    "工商管理学院分党委",
    "马克思主义学院直属党总支",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰博宇"


def rows(committees: int = 6, seed: int = 2024, branches_per: tuple[int, ...] = (12, 8, 10, 5, 14, 3)) -> list[list[str]]:
    """Roster rows (without header): committees of the given sizes, ~15% took part last year,
    and one national model branch (cycle 2023-2025) in the first committee."""
    rnd = random.Random(seed)
    out: list[list[str]] = []
    n = 0
    for ci in range(committees):
        name = COMMITTEES[ci % len(COMMITTEES)] if committees <= len(COMMITTEES) else f"第{ci + 1}分党委"
        size = branches_per[ci % len(branches_per)]
        for bi in range(size):
            n += 1
            kind = "教工" if bi % 3 else "学生"
            branch = f"{name.removesuffix('分党委').removesuffix('直属党总支')}第{bi + 1}{kind}党支部"
            took = "是" if rnd.random() < 0.15 else "否"
            model = "是" if (ci == 0 and bi == 3) else "否"
            person = rnd.choice(SURNAMES) + rnd.choice(GIVEN) + (rnd.choice(GIVEN) if rnd.random() < 0.5 else "")
            out.append(
                [
                    name,
                    branch,
                    str(rnd.randint(5, 45)),
                    person,
                    f"branch{n:04d}@example.edu.cn",
                    took,
                    model,
                    "2023-2025" if model == "是" else "",
                ]
            )
    return out


def write_csv(path: str | Path, data: list[list[str]], encoding: str = "gbk") -> Path:
    """Write a roster CSV as Chinese Excel does (GBK, CRLF) unless told otherwise."""
    p = Path(path)
    with p.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(HEADERS)
        w.writerows(data)
    return p


def write_xlsx(path: str | Path, data: list[list[str]], sheet: str = "支部名单") -> Path:
    """Write a roster workbook with the header row."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(HEADERS)
    for r in data:
        ws.append([int(v) if i == 2 else v for i, v in enumerate(r)])
    wb.save(path)
    return Path(path)
