#!/usr/bin/env python3
"""Summarises the TRX files of a conformance run: one line per suite, "SUITE: N passed, N failed".

Conformance tests are named "SUITE: case"; a suite whose data is absent has a single ignored test
"SUITE: skipped: conformance data not found" and is not listed. Exit status 1 when a case failed or no suite ran.
"""
import collections
import pathlib
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}


def main(folder: str) -> int:
    counts = collections.OrderedDict()
    for trx in sorted(pathlib.Path(folder).rglob("*.trx")):
        for result in ET.parse(trx).getroot().iterfind(".//t:UnitTestResult", NS):
            name = result.get("testName", "")
            suite, sep, _ = name.partition(": ")
            if not sep:
                continue
            outcome = result.get("outcome", "")
            passed, failed = counts.setdefault(suite, [0, 0])
            if outcome == "Passed":
                counts[suite][0] += 1
            elif outcome in ("Failed", "Error", "Timeout", "Aborted"):
                counts[suite][1] += 1
    ran = {s: c for s, c in counts.items() if c[0] + c[1] > 0}
    if not ran:
        print("conformance: no suite found (expected command-parser/ or script-engine/ under the folder)", file=sys.stderr)
        return 1
    for suite in sorted(ran):
        print(f"{suite}: {ran[suite][0]} passed, {ran[suite][1]} failed")
    return 1 if any(c[1] for c in ran.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
