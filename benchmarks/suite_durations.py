"""Where the test suite's time goes: per-test and per-file sums from a pytest JUnit XML report.

Make the report and the table (as docs/development.md does, on the 2-core machine):

    python -m pytest -n 2 --junitxml=junit.xml
    python benchmarks/suite_durations.py junit.xml --top 25 --file-threshold 30

Each test's time is what JUnit records for it (setup + call + teardown, in the worker that ran
it); a file's time is the sum over its tests, so with two workers the files' sums add up to
about twice the wall time. `--tier` says which tier each test belongs to from the markers
`pytest --collect-only -m slow -q` lists (pass that listing's file).
"""

from __future__ import annotations

import argparse
import collections
import sys
import xml.etree.ElementTree as ET


def read(path: str) -> dict[str, float]:
    """`{node id: seconds}` from a JUnit XML file written by pytest."""
    durations = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        parts = classname.split(".")
        # pytest writes "tests.callbacks.test_x" (and ".Class" for methods): rebuild the file path
        path_parts = []
        for part in parts:
            path_parts.append(part)
            if part.startswith("test_"):
                break
        file = "/".join(path_parts) + ".py"
        rest = parts[len(path_parts) :]
        node = "::".join([file, *rest, name])
        durations[node] = durations.get(node, 0.0) + float(case.get("time", 0.0))
    return durations


def by_file(durations: dict[str, float]) -> dict[str, float]:
    files: dict[str, float] = collections.defaultdict(float)
    for node, seconds in durations.items():
        files[node.split("::", 1)[0]] += seconds
    return dict(files)


def table(durations: dict[str, float], top: int, file_threshold: float, slow: set[str] | None = None) -> str:
    """Markdown: totals (per tier when `slow` is given), the `top` slowest tests, the files over
    `file_threshold` seconds."""
    lines = [f"Tests: {len(durations)}, summed test time {sum(durations.values()):.0f} s."]
    if slow is not None:
        in_slow = sum(s for n, s in durations.items() if n in slow)
        lines.append(
            f"Marked slow: {sum(n in slow for n in durations)} tests, {in_slow:.0f} s; "
            f"inner tier: {sum(n not in slow for n in durations)} tests, {sum(durations.values()) - in_slow:.0f} s."
        )
    lines += ["", f"| slowest {top} tests | s |" + (" tier |" if slow is not None else ""), "|---|---|"]
    lines[-1] += "---|" if slow is not None else ""
    for node, seconds in sorted(durations.items(), key=lambda kv: -kv[1])[:top]:
        tier = (" slow |" if node in slow else " inner |") if slow is not None else ""
        lines.append(f"| `{node}` | {seconds:.1f} |{tier}")
    lines += ["", f"| files over {file_threshold:g} s | s | tests |", "|---|---|---|"]
    counts = collections.Counter(node.split("::", 1)[0] for node in durations)
    for file, seconds in sorted(by_file(durations).items(), key=lambda kv: -kv[1]):
        if seconds > file_threshold:
            lines.append(f"| `{file}` | {seconds:.0f} | {counts[file]} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("junit", help="the JUnit XML file pytest wrote (--junitxml)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--file-threshold", type=float, default=30.0)
    parser.add_argument("--tier", help="output of `pytest --collect-only -q -m slow` (the slow tier's node ids)")
    args = parser.parse_args(argv)
    slow = None
    if args.tier:
        with open(args.tier) as f:
            slow = {line.strip() for line in f if "::" in line}
    text = table(read(args.junit), args.top, args.file_threshold, slow)
    sys.stdout.write(text)
    return text


if __name__ == "__main__":
    main()
