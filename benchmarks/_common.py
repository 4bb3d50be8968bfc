"""Shared helpers of the benchmark scripts: the machine description, member lists, saved results."""

from __future__ import annotations

import os
import platform

import numpy as np


def machine() -> str:
    """CPU model, core count, Python and numpy versions (stated in every benchmark report)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


def dash(x, fmt=".2f") -> str:
    """``x`` formatted, or an em dash for a missing value (never reached, not run)."""
    return "—" if x is None else format(x, fmt)


def parse_members(text: str) -> list[int]:
    """'0-9', '0,3,7' or '0-4,10' → sorted Random member indices in 0..99."""
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-", 1)
            out.update(range(int(a), int(b) + 1))
        elif part:
            out.add(int(part))
    bad = [k for k in out if not 0 <= k <= 99]
    if bad:
        raise SystemExit(f"--members: Random has members 0..99; got {bad}")
    return sorted(out)


def add_output_args(ap, name: str) -> None:
    """``--out`` (default benchmarks/results/<name>.json) and ``--render`` (re-print the saved
    table instead of running), as the SDP scripts share them."""
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                   f"{name}.json"))
    ap.add_argument("--render", action="store_true", help="re-print the table of the saved JSON")


def add_case_args(ap, default_cases: str, regs: str = "0.1,0.01", regs_help: str | None = None) -> None:
    """``--cases`` (data:protocol, comma-separated), ``--regs``, ``--repeats`` (3) and ``--cap``
    (120 s per solve), as the scripts over the small sets share them."""
    ap.add_argument("--cases", default=default_cases,
                    help=f"data:protocol (paper or default; paper when left out, e.g. random:3), "
                         f"comma-separated (default {default_cases})")
    ap.add_argument("--regs", default=regs, help=regs_help)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cap", type=float, default=120.0, help="time limit of each solve (default 120 s)")


def parse_cases(text: str) -> list[tuple[str, str]]:
    """(data, protocol) of each 'data:protocol' item of a comma-separated list; the protocol is
    'paper' when left out, so that 'random:3' is a data set and 'random:3:default' one under the
    default protocol."""
    out = []
    for case in [c.strip() for c in text.split(",") if c.strip()]:
        name, _, protocol = case.rpartition(":")
        if protocol not in ("paper", "default"):
            name, protocol = case, "paper"
        out.append((name, protocol))
    return out


def start(ap, args, render) -> bool:
    """Handle ``--render`` (print the saved table; returns True: nothing to run) and check
    ``--repeats``."""
    import json

    if args.render:
        with open(args.out) as fh:
            print(render(json.load(fh)))
        return True
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    return False


def save_results(out: dict, path: str, table: str) -> None:
    """Write ``out`` as JSON to ``path`` (arrays and non-finite numbers cleaned) and the markdown
    ``table`` next to it (same name, .md), then print the table."""
    import json

    from convexnn.report import clean

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(clean(out), fh, indent=1)
    with open(os.path.splitext(path)[0] + ".md", "w") as fh:
        fh.write(table + "\n")
    print()
    print(table)
