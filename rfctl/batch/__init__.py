"""generate --jsonl: one request per input line, one result per output line.

Results come out in input order even with -j N requests in flight, so the
output can be pasted next to the input, or as they finish with --unordered
(each carries its id). Exit 1 when some lines failed, 0 when none did; a
malformed line is an error record for that line (code 65), never the end of
the batch. Lines are answered as they are read and each result is written
as soon as it (and, in order, every line before it) is answered: a long
batch starts answering before its input ends, a program that feeds one line
and waits for its answer gets it, and memory is bounded by the window.

Modules: lines (one input line into a request), run (the reader, the
workers and interruption), sink (in order or as they finish), resume
(--resume FILE), progress (the terminal's progress line).
"""

from rfctl.batch.lines import MAX_TOKENS, Line, parse_line
from rfctl.batch.run import GRACE_S, REORDER_WINDOW, run_batch

__all__ = ["GRACE_S", "MAX_TOKENS", "REORDER_WINDOW", "Line", "parse_line", "run_batch"]
