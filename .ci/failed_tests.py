#!/usr/bin/env python3
"""Lists the failed tests recorded in the TRX files under a folder: name, message (start and end) and the first stack lines.

`dotnet test --verbosity quiet` prints only counts; this makes a red run say which test failed and why.
Exit status 0 always: the counts, not this listing, decide whether a run passed.
"""
import pathlib
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
FAILED = ("Failed", "Error", "Timeout", "Aborted")


def excerpt(lines: list[str], head: int = 12, tail: int = 20) -> list[str]:
    """A long message's start (the test's own words) and end (NUnit's Assert.That, Expected and But was come last)."""
    if len(lines) <= head + tail:
        return lines
    return lines[:head] + [f"... ({len(lines) - head - tail} lines left out) ..."] + lines[-tail:]


def main(folder: str) -> int:
    for trx in sorted(pathlib.Path(folder).rglob("*.trx")):
        root = ET.parse(trx).getroot()
        classes = {
            test.get("id"): method.get("className", "?")
            for test in root.iterfind(".//t:UnitTest", NS)
            for method in test.iterfind("t:TestMethod", NS)
        }
        for result in root.iterfind(".//t:UnitTestResult", NS):
            if result.get("outcome", "") not in FAILED:
                continue
            where = classes.get(result.get("testId"), "?")
            print(f"FAILED {where}: {result.get('testName', '?')} ({result.get('duration', '?')})")
            message = result.findtext(".//t:ErrorInfo/t:Message", default="", namespaces=NS).strip()
            stack = result.findtext(".//t:ErrorInfo/t:StackTrace", default="", namespaces=NS).strip()
            for line in excerpt(message.splitlines()):
                print(f"    {line}")
            for line in stack.splitlines()[:6]:
                print(f"    {line.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
