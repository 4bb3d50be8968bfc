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
