"""Benchmark of the anonymisation engine against pyarrow I/O and Presidio.

    .venv/bin/python bench/anonymize_bench.py --size-mb 100

1. Generates a seeded, labelled synthetic CSV (Chinese personal data in columns and in free text,
plus
   hard negatives) of about ``--size-mb`` MB.  Labels are not stored: they are regenerated from the
   same seed while the output is read back, so evaluation streams too.
2. Times pyarrow reading + writing the same file (the I/O floor; pyarrow's reader and writer use
   every core, so it is also timed single-threaded for reference), then the engine in a fresh
   subprocess, once in a single process (``workers=1``) and once with ``--workers`` processes (wall
   time, CPU time, and peak memory as the sum of the RSS of the engine process and its workers,
   sampled from /proc every 50 ms).
3. Scores: recall per type = share of personal values that no longer appear in their output row;
   keep-rate = share of labelled non-personal values that survive unchanged.
4. Runs Presidio (if installed) with CN resident-ID and mobile pattern recognisers added on a
sample of
   rows, cell by cell, with the same scoring.

Not part of the test suite.  All data is synthetic (checksums computed, never real people).
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from listings.cleaning import validators as v  # noqa: E402
from listings.cleaning.parallel import MAX_DEFAULT_WORKERS  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"  # noqa: E501
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华建国志海燕玲红文辉鹏婷宇浩凯晨欣怡佳俊博雪梅琳丹萍斌波宁龙峰飞鑫晶晓云慧颖雨嘉子轩梓涵睿思宏毅春兰"  # noqa: E501
PROVINCES = [
    ("广东省", "深圳市", "南山区"),
    ("浙江省", "杭州市", "西湖区"),
    ("北京市", "", "朝阳区"),
    ("上海市", "", "浦东新区"),
    ("四川省", "成都市", "武侯区"),
    ("江苏省", "南京市", "鼓楼区"),
]
ROADS = ["科技", "文三", "建国", "世纪", "人民", "中山", "解放", "长江", "和平", "学院"]
PLATE_PROV = "京沪粤浙苏川鲁豫鄂湘"
REGIONS = [110105, 310115, 440305, 330106, 510107, 320106, 420106, 620102]
PRODUCT = [
    "本产品适合家庭使用，大家都很高兴。",
    "江山如画，风景优美，欢迎选购。",
    "金融服务套餐，含年度报告。",
    "高温天气注意防暑，配送时间2至3天。",
    "文化创意礼品，支持定制。",
    "方便快捷，平安到达。",
]


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def resident_id(rng: random.Random) -> str:
    base = (
        f"{rng.choice(REGIONS)}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}"
        f"{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    )
    return base + v.id_check_char(base)


def order_number(rng: random.Random) -> str:
    """Hard negative: region + birth date like an ID, wrong check digit, not a card."""
    while True:
        good = resident_id(rng)
        bad = good[:-1] + rng.choice([c for c in "0123456789" if c != good[-1]])
        if not v.is_bank_card(bad):
            return bad


def mobile(rng: random.Random) -> str:
    return "1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9))


def card(rng: random.Random) -> str:
    n = rng.choice((16, 19, 19))
    body = "62" + "".join(rng.choice("0123456789") for _ in range(n - 3))
    return body + v.luhn_check_digit(body)


def plate(rng: random.Random) -> str:
    return (
        rng.choice(PLATE_PROV)
        + rng.choice("ABCDEFGH")
        + "".join(rng.choice("0123456789") for _ in range(5))
    )


def ipv4(rng: random.Random) -> str:
    return (
        f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    )


def email(rng: random.Random, i: int) -> str:
    return (
        f"{rng.choice(['zhang', 'li', 'wang', 'user', 'chen'])}{i}{rng.randint(10, 99)}@"
        + rng.choice(["163.com", "qq.com", "126.com", "example.cn"])
    )


def address(rng: random.Random) -> str:
    p, c, d = rng.choice(PROVINCES)
    return (
        f"{p}{c}{d}{rng.choice(ROADS)}路{rng.randint(1, 999)}号{rng.randint(1, 30)}栋"
        f"{rng.randint(1, 6)}单元{rng.randint(1, 30)}{rng.randint(1, 4):02d}室"
    )


HEADER = [
    "编号",
    "姓名",
    "身份证号",
    "手机",
    "邮箱",
    "银行卡号",
    "车牌",
    "登录IP",
    "地址",
    "出生日期",
    "性别",
    "城市",
    "订单号",
    "序列号",
    "金额",
    "下单日期",
    "备注",
    "商品描述",
]
COLUMN_PII = {
    "姓名": "name",
    "身份证号": "id_card",
    "手机": "mobile",
    "邮箱": "email",
    "银行卡号": "bank_card",
    "车牌": "plate",
    "登录IP": "ip",
    "地址": "address",
}
KEEP_COLUMNS = ["编号", "城市", "订单号", "序列号", "金额", "下单日期", "商品描述"]


def make_row(rng: random.Random, i: int) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """(cells, text PII [(kind, value)], text negatives [value])."""
    name = person_name(rng)
    rid, mob, mail, crd = resident_id(rng), mobile(rng), email(rng, i), card(rng)
    pl, ip, addr = plate(rng), ipv4(rng), address(rng)
    birth = f"{rid[6:10]}-{rid[10:12]}-{rid[12:14]}"
    pii: list[tuple[str, str]] = []
    neg: list[str] = []
    frags: list[str] = []
    for _ in range(rng.randint(2, 4)):
        r = rng.random()
        if r < 0.16:
            other = person_name(rng)
            cue = rng.choice(["患者", "联系人：", "家属", "收件人", "经办人", "客户"])
            frags.append(
                f"{cue}{other}{rng.choice(['于今日来访', '已确认', '要求退款', '，请回电'])}"
            )
            pii.append(("name", other))
        elif r < 0.24:
            other = person_name(rng)
            frags.append(f"{other}{rng.choice(['先生', '女士', '经理'])}表示满意")
            pii.append(("name", other))
        elif r < 0.32:
            frags.append(f"{name}{rng.choice(['来电咨询', '反映物流慢', '要求开发票'])}")
            pii.append(("name", name))
        elif r < 0.44:
            m = mobile(rng)
            shown = rng.choice(
                [m, f"{m[:3]}-{m[3:7]}-{m[7:]}", f"+86 {m}", f"{m[:3]} {m[3:7]} {m[7:]}"]
            )
            frags.append(f"{rng.choice(['电话', '手机', '回拨', '联系方式'])}{shown}")
            pii.append(("mobile", m))
        elif r < 0.50:
            x = resident_id(rng)
            frags.append(f"{rng.choice(['身份证', '证件号码：', '身份证号'])}{x}")
            pii.append(("id_card", x))
        elif r < 0.56:
            e = email(rng, i + 7)
            frags.append(f"邮箱{e}{rng.choice(['联系', '已验证', ''])}")
            pii.append(("email", e))
        elif r < 0.61:
            c = card(rng)
            shown = rng.choice([c, " ".join(c[j : j + 4] for j in range(0, len(c), 4))])
            frags.append(f"退款至卡号{shown}")
            pii.append(("bank_card", c))
        elif r < 0.65:
            x = ipv4(rng)
            frags.append(f"登录IP{x}异常")
            pii.append(("ip", x))
        elif r < 0.69:
            x = plate(rng)
            frags.append(f"车牌{x}停在门口")
            pii.append(("plate", x))
        elif r < 0.77:
            x = order_number(rng)
            frags.append(f"订单号{x}")
            neg.append(x)
        elif r < 0.82:
            x = f"10{rng.randint(10**8, 10**9 - 1)}"
            frags.append(f"序列号{x}")
            neg.append(x)
        elif r < 0.88:
            x = f"{rng.randint(1, 99999)}.{rng.randint(0, 99):02d}"
            frags.append(f"金额{x}元")
            neg.append(x)
        elif r < 0.94:
            x = f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            frags.append(f"日期{x}")
            neg.append(x)
        else:
            x = rng.choice(["大家都很高兴", "江山如画", "金融产品", "高兴地说", "文化活动"])
            frags.append(x)
            neg.append(x)
    note = "，".join(frags) + "。"
    cells = [
        str(i),
        name,
        rid,
        mob,
        mail,
        crd,
        pl,
        ip,
        addr,
        birth,
        rng.choice("男女"),
        rng.choice(PROVINCES)[1] or "北京市",
        order_number(rng),
        f"10{rng.randint(10**8, 10**9 - 1)}",
        f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}",
        f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        note,
        rng.choice(PRODUCT),
    ]
    return cells, pii, neg


def rows(seed: int, n: int) -> Iterator[tuple[list[str], list[tuple[str, str]], list[str]]]:
    rng = random.Random(seed)
    for i in range(n):
        yield make_row(rng, i)


def generate(path: Path, seed: int, size_mb: float) -> int:
    target = size_mb * 1e6
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        rng = random.Random(seed)
        while f.tell() < target:
            for _ in range(1000):
                cells, _, _ = make_row(rng, n)
                w.writerow(cells)
                n += 1
    return n


class Score:
    def __init__(self) -> None:
        self.found: Counter[str] = Counter()
        self.total: Counter[str] = Counter()
        self.kept = 0
        self.neg_total = 0

    def pii(self, where: str, kind: str, value: str, out_text: str) -> None:
        key = f"{kind} ({where})"
        self.total[key] += 1
        self.found[key] += value not in out_text

    def negative(self, survived: bool) -> None:
        self.neg_total += 1
        self.kept += survived

    def to_dict(self) -> dict[str, Any]:
        return {
            "recall": {k: round(self.found[k] / self.total[k], 4) for k in sorted(self.total)},
            "pii_values": dict(sorted(self.total.items())),
            "keep_rate": round(self.kept / self.neg_total, 5) if self.neg_total else None,
            "non_pii_values": self.neg_total,
        }


def score_row(
    score: Score, cells: list[str], pii: list[tuple[str, str]], neg: list[str], out: dict[str, str]
) -> None:
    row_text = "\x1f".join(out.values())
    for col, kind in COLUMN_PII.items():
        score.pii("column", kind, cells[HEADER.index(col)], row_text)
    note = out.get("备注", "")
    for kind, value in pii:
        score.pii("text", kind, value, note)
    for col in KEEP_COLUMNS:
        score.negative(out.get(col) == cells[HEADER.index(col)])
    for value in neg:
        score.negative(value in note)


def evaluate(output: Path, seed: int, n: int) -> dict[str, Any]:
    score = Score()
    with open(output, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        for (cells, pii, neg), out in zip(rows(seed, n), reader, strict=True):
            score_row(score, cells, pii, neg, out)
    return score.to_dict()


PYARROW_CHILD = """
import json, sys, time
import pyarrow as pa
import pyarrow.csv as pacsv
threads = {threads!r}
if threads == 1:
    pa.set_cpu_count(1)  # write_csv formats on the global CPU pool
t = time.perf_counter()
table = pacsv.read_csv({src!r}, read_options=pacsv.ReadOptions(use_threads=threads != 1))
pacsv.write_csv(table, {dst!r})
print(json.dumps(time.perf_counter() - t))
"""


def pyarrow_baseline(src: Path, dst: Path, *, threads: int | None = None) -> float:
    """Seconds for pyarrow to read and write ``src``, in a fresh process like the engine (a warm
    second run in the same process is about twice as fast; neither side gets that)."""
    code = PYARROW_CHILD.format(threads=threads, src=str(src), dst=str(dst))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(json.loads(out.stdout))


ENGINE_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from listings.cleaning import anonymize_file
t = time.perf_counter()
report = anonymize_file({src!r}, {dst!r}, secret=b"bench-secret-0123456789abcdef",
                        workers={workers!r})
seconds = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
ch = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, joined by the time we get here
json.dump({{"seconds": seconds,
           "cpu_seconds": ru.ru_utime + ru.ru_stime + ch.ru_utime + ch.ru_stime,
           "report": report.to_dict()}}, open({rep!r}, "w"), ensure_ascii=False)
"""
PAGE = os.sysconf("SC_PAGE_SIZE")


def _process_tree(root: int) -> set[int]:
    """``root`` and all its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    # The command name (field 2) may hold spaces: split after its ')'.
                    parents[int(entry.name)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid and c not in tree]
        tree.update(children)
        frontier.extend(children)
    return tree


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0  # the process has just ended


def run_engine(src: Path, dst: Path, rep: Path, workers: int) -> dict[str, Any]:
    code = ENGINE_CHILD.format(
        root=str(ROOT), src=str(src), dst=str(dst), rep=str(rep), workers=workers
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    # Peak memory is sampled from /proc, summed over the engine's processes (each worker holds its
    # own batch and its own pyarrow).  getrusage's ru_maxrss would not do: on Linux a child's
    # starts from its parent's resident size at fork, so it would report the bench's own memory.
    # The whole /proc walk runs every 0.5 s (workers live for the whole run), RSS reads every 50 ms.
    peak_sum = peak_parent = peak_worker = samples = 0
    tree = {proc.pid}
    while proc.poll() is None:
        if samples % 10 == 0:
            tree = _process_tree(proc.pid)
        sizes = {pid: _rss(pid) for pid in tree}
        peak_sum = max(peak_sum, sum(sizes.values()))
        peak_parent = max(peak_parent, sizes.get(proc.pid, 0))
        peak_worker = max([peak_worker, *(n for pid, n in sizes.items() if pid != proc.pid)])
        samples += 1
        time.sleep(0.05)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, "engine")
    result: dict[str, Any] = json.loads(rep.read_text())
    result.update(peak_rss_sum=peak_sum, peak_rss=peak_parent, worker_peak_rss=peak_worker)
    return result


def presidio_engine() -> Any:
    """Presidio with no downloaded model: a blank spaCy Chinese pipeline (no NER, so no names),
    its predefined email/credit-card/IP recognisers, and CN resident-ID and mobile patterns."""
    import spacy
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IpRecognizer,
    )

    nlp: Any = SpacyNlpEngine(models=[{"lang_code": "zh", "model_name": "blank"}])
    nlp.nlp = {"zh": spacy.blank("zh")}  # a blank pipeline: no model download, no NER
    registry = RecognizerRegistry(supported_languages=["zh"])
    for rec in (EmailRecognizer, CreditCardRecognizer, IpRecognizer):
        registry.add_recognizer(rec(supported_language="zh"))
    registry.add_recognizer(
        PatternRecognizer(
            supported_entity="CN_ID",
            supported_language="zh",
            patterns=[Pattern("cn_id", r"(?<!\d)\d{17}[\dXx](?!\d)", 0.6)],
        )
    )
    registry.add_recognizer(
        PatternRecognizer(
            supported_entity="CN_MOBILE",
            supported_language="zh",
            patterns=[Pattern("cn_mobile", r"(?<!\d)1[3-9]\d{9}(?!\d)", 0.6)],
        )
    )
    return AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["zh"])


def pa_threads() -> int:
    import pyarrow as pa

    return int(pa.cpu_count())


def run_presidio(seed: int, sample: int) -> dict[str, Any]:
    try:
        analyzer = presidio_engine()
    except Exception as exc:  # ImportError, or an API change in presidio
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    score = Score()
    nbytes = 0
    t = time.perf_counter()
    for cells, pii, neg in rows(seed, sample):
        out = {}
        for h, cell in zip(HEADER, cells, strict=True):
            nbytes += len(cell.encode()) + 1
            results = analyzer.analyze(text=cell, language="zh")
            red = cell
            for r in sorted(results, key=lambda r: r.start, reverse=True):
                red = red[: r.start] + f"<{r.entity_type}>" + red[r.end :]
            out[h] = red
        score_row(score, cells, pii, neg, out)
    seconds = time.perf_counter() - t
    return {
        "available": True,
        "rows": sample,
        "mb": round(nbytes / 1e6, 3),
        "seconds": round(seconds, 2),
        "mb_per_s": round(nbytes / 1e6 / max(seconds, 1e-9), 4),
        **score.to_dict(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=float, default=100.0)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--workdir", default="/tmp/anonymize_bench")  # noqa: S108 - scratch data
    ap.add_argument("--presidio-rows", type=int, default=1000)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument(
        "--workers",
        type=int,
        default=MAX_DEFAULT_WORKERS,
        help="worker processes of the second engine run (default 2; the first uses one process)",
    )
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    src, dst, base = work / "corpus.csv", work / "cleaned.csv", work / "pyarrow_copy.csv"
    single_dst = work / "cleaned_single_process.csv"

    t = time.perf_counter()
    n = generate(src, args.seed, args.size_mb)
    mb = os.path.getsize(src) / 1e6
    print(f"corpus: {n} rows, {mb:.1f} MB, generated in {time.perf_counter() - t:.1f}s")

    load_before = os.getloadavg()
    pa_s = pyarrow_baseline(src, base)  # pyarrow's default: one thread per core
    pa1_s = pyarrow_baseline(src, base, threads=1)
    single = run_engine(src, single_dst, work / "report1.json", workers=1)
    pooled = run_engine(src, dst, work / "report.json", workers=args.workers)
    load_after = os.getloadavg()
    identical = filecmp.cmp(single_dst, dst, shallow=False)
    quality = evaluate(dst, args.seed, n)
    presidio = run_presidio(args.seed, args.presidio_rows)

    def engine_figures(run: dict[str, Any], workers: int) -> dict[str, Any]:
        return {
            "workers": workers,
            "seconds": round(run["seconds"], 2),
            "mb_per_s": round(mb / run["seconds"], 2),
            "ratio_to_pyarrow": round(pa_s / run["seconds"], 3),
            "ratio_to_pyarrow_single_thread": round(pa1_s / run["seconds"], 3),
            # CPU time of the engine and its workers (pyarrow's reader threads included, imports
            # excluded from "seconds" but not from this): less sensitive to other work.
            "cpu_seconds": round(run.get("cpu_seconds", 0.0), 2),
            "peak_rss_mb": round(run["peak_rss_sum"] / 1e6, 1),
            "peak_rss_parent_mb": round(run["peak_rss"] / 1e6, 1),
            "peak_rss_one_worker_mb": round(run["worker_peak_rss"] / 1e6, 1),
        }

    results = {
        "corpus": {"rows": n, "mb": round(mb, 1), "seed": args.seed},
        # The machine is shared: the 1/5/15-minute load averages around the timed runs.
        "load_average": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in load_after],
        },
        # pyarrow's CSV reader and writer use all cores (pa.cpu_count() threads).
        "pyarrow_read_write": {
            "threads": pa_threads(),
            "seconds": round(pa_s, 2),
            "mb_per_s": round(mb / pa_s, 1),
        },
        "pyarrow_read_write_single_thread": {
            "seconds": round(pa1_s, 2),
            "mb_per_s": round(mb / pa1_s, 1),
        },
        "engine_single_process": engine_figures(single, 1),
        "engine": {
            **engine_figures(pooled, args.workers),
            "output_identical_to_single_process": identical,
            **quality,
        },
        "presidio": presidio,
    }
    if presidio.get("available") and presidio.get("mb_per_s"):
        for key in ("engine", "engine_single_process"):
            speed = results[key]["mb_per_s"]
            results[key]["speedup_vs_presidio"] = round(speed / presidio["mb_per_s"], 1)
    print(json.dumps(results, ensure_ascii=False, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
