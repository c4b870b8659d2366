"""claims-junit.xml: the article's claims as JUnit XML (the Ant schema that Jenkins, GitLab and most CI
test reporters read), written beside the report so that CI shows each claim as a test case."""

from __future__ import annotations

import xml.etree.ElementTree as ET

CLAIMS_JUNIT_FILENAME = "claims-junit.xml"


def claims_to_junit(verdicts: list, suite: str = "bench report") -> str:
    """JUnit XML of the article's claims (harness.claims.ClaimVerdict): a test case per claim; "refuted" is a
    failure, "inconclusive", "not checkable" and "by inspection" (a reading of the code, not a measurement) are
    skipped (not judged by the run, which is neither pass nor fail)."""
    failures = sum(v.verdict == "refuted" for v in verdicts)
    skipped = sum(v.verdict not in ("supported", "refuted") for v in verdicts)
    root = ET.Element("testsuites", name=suite, tests=str(len(verdicts)), failures=str(failures), errors="0")
    testsuite = ET.SubElement(root, "testsuite", name=f"{suite}: claims", tests=str(len(verdicts)),
                              failures=str(failures), errors="0", skipped=str(skipped), time="0")
    for v in verdicts:
        case = ET.SubElement(testsuite, "testcase", classname=f"{suite}.claims", name=f"{v.claim.id}: {v.claim.claim}",
                             time="0")
        message = f"{v.verdict}: {v.reason}"
        if v.verdict == "refuted":
            ET.SubElement(case, "failure", message=message, type="refuted").text = message
        elif v.verdict != "supported":
            ET.SubElement(case, "skipped", message=message)
        else:
            ET.SubElement(case, "system-out").text = message
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
