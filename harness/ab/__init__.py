"""`bench ab`: two revisions of the targets in one interleaved run, and the paired regression gate.

revisions.py  each revision's targets/ and contract/ under build/ab/<sha>/ (git archive, or the working tree)
install.py    installs cached by lock-file hash under build/ab/cache/, linked into each revision's folder
run.py        the run: each target twice (<name>-base, <name>-head), interleaved in rounds
(the verdict per gated figure and the exit code: harness.compare.ab; its reports: harness.exporters)
"""
