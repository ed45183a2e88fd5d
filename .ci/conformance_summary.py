#!/usr/bin/env python3
"""Summarises a conformance run: one line per suite, "SUITE: N passed, N failed", counting cases, not files.

usage: conformance_summary.py TRX_DIR [--debugger PATH] [--semantic SUITE=DIR ...]

* Suites from the TRX files: conformance tests are named "SUITE: case"; a case pinned to another answer than the
  suite's is named "SUITE: case (pinned to ours|HyperDbg: REASON)" and the suite's line says how many are pinned, to
  whose answer and why (the reasons are explained in the tests). A suite whose data is absent has a single ignored
  test "SUITE: skipped: conformance data not found" and is not listed. TRX results of semantic suites are ignored:
  those are run here.
* Semantic suites (--semantic): every *.ds file in DIR is a debugger-command script that prints "test case N was
  successful" or "... was failed" for each case; the file name ends in _FIRST-LAST.ds. Each file runs through the
  debugger (PATH, bin/hyperdbg) against the halted demo guest; each case counts as passed when it printed
  "successful" and nothing "failed", as failed otherwise (also when it printed nothing: the run stopped before it).

Exit status 1 when a case failed or no suite ran.
"""
import collections
import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
PINNED = re.compile(r"\(pinned to (ours|HyperDbg): ([\w-]+)\)$")
CASE_LINE = re.compile(r"^test case (\d+) was (successful|failed)$", re.MULTILINE)
RANGE = re.compile(r"_(\d+)-(\d+)\.ds$")
SEMANTIC_RUN_SECONDS = 900


def trx_suites(folder):
    counts = collections.OrderedDict()
    pins = collections.defaultdict(collections.Counter)
    for trx in sorted(pathlib.Path(folder).rglob("*.trx")):
        for result in ET.parse(trx).getroot().iterfind(".//t:UnitTestResult", NS):
            name = result.get("testName", "")
            suite, sep, case = name.partition(": ")
            if not sep or "semantic" in suite:
                continue
            outcome = result.get("outcome", "")
            passed_failed = counts.setdefault(suite, [0, 0])
            if outcome == "Passed":
                passed_failed[0] += 1
            elif outcome in ("Failed", "Error", "Timeout", "Aborted"):
                passed_failed[1] += 1
            else:
                continue
            pinned = PINNED.search(case)
            if pinned:
                pins[suite][(pinned.group(1), pinned.group(2))] += 1
    return counts, pins


def run_semantic_file(debugger, path):
    """Runs one file through the debugger; returns (passed case numbers, failed case numbers, note)."""
    match = RANGE.search(path.name)
    if not match:
        return set(), set(), f"{path.name}: the file name does not end in _FIRST-LAST.ds"
    expected = set(range(int(match.group(1)), int(match.group(2)) + 1))
    try:
        run = subprocess.run(
            [debugger, "--local", "--guest", "demo", "-c", "pause", "-c", f".script {path}"],
            capture_output=True, text=True, timeout=SEMANTIC_RUN_SECONDS)
        output = run.stdout + run.stderr
    except subprocess.TimeoutExpired:
        return set(), expected, f"{path.name}: the debugger did not finish within {SEMANTIC_RUN_SECONDS} s"
    succeeded, failed = set(), set()
    for number, result in CASE_LINE.findall(output):
        (succeeded if result == "successful" else failed).add(int(number))
    passed = (succeeded - failed) & expected
    missing = expected - passed - failed
    note = f"{path.name}: no result for case(s) {', '.join(map(str, sorted(missing)))}" if missing else None
    return passed, (failed & expected) | missing, note


def main(argv):
    folder, debugger, semantic = argv[1], None, []
    i = 2
    while i < len(argv):
        if argv[i] == "--debugger":
            debugger = argv[i + 1]
            i += 2
        elif argv[i] == "--semantic":
            name, _, directory = argv[i + 1].partition("=")
            semantic.append((name, pathlib.Path(directory)))
            i += 2
        else:
            print(f"conformance: unknown argument {argv[i]}", file=sys.stderr)
            return 2

    counts, pins = trx_suites(folder)
    lines, failed_any = [], False
    for suite in sorted(counts):
        passed, failed = counts[suite]
        if passed + failed == 0:
            continue
        failed_any |= failed > 0
        line = f"{suite}: {passed} passed, {failed} failed"
        if pins[suite]:
            by_whom = collections.Counter()
            for (whose, _), n in pins[suite].items():
                by_whom[whose] += n
            reasons = "; ".join(f"{n} {reason} ({whose})" for (whose, reason), n in sorted(pins[suite].items()))
            line += (f" — {sum(by_whom.values())} pinned: {by_whom['HyperDbg']} to HyperDbg's answer, "
                     f"{by_whom['ours']} to our own ({reasons}; reasons in the test)")
        lines.append(line)

    for name, directory in semantic:
        files = sorted(directory.glob("*.ds")) if directory.is_dir() else []
        if not files:
            continue
        if debugger is None:
            print("conformance: --semantic needs --debugger", file=sys.stderr)
            return 2
        passed, failed, notes = 0, 0, []
        for path in files:
            ok, bad, note = run_semantic_file(debugger, path)
            passed += len(ok)
            failed += len(bad)
            if note:
                notes.append(note)
        failed_any |= failed > 0
        lines.append(f"{name}: {passed} passed, {failed} failed ({len(files)} files, through {pathlib.Path(debugger).name} on the halted demo guest)")
        lines.extend(f"  {note}" for note in notes)

    if not lines:
        print("conformance: no suite found (expected command-parser/ or script-engine/ under the folder)", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 1 if failed_any else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
