"""generate --dry-run: the plan and its estimates, as a table or JSON. Sends
nothing; exits as a real call would have before sending (65, 69, 77), else 0.
With --jsonl: one JSON line per request line, its plan (or why it has none);
exit 1 when some line could not be planned, as a batch with failed lines."""

from __future__ import annotations

import json
import sys

from rfctl.routing.candidates import Candidate, Plan


def show(cfg, paths, req, opts) -> int:
    from rfctl import routing

    pl = routing.preview(cfg, paths, req, opts)
    sys.stdout.write(as_json(pl) if opts.json else as_table(pl))
    sys.stdout.flush()
    if pl.error is not None:
        raise pl.error
    return 0


def show_batch(args, cfg, paths) -> int:
    from dataclasses import replace

    from rfctl import routing, settings
    from rfctl.batch.lines import parse_line, read_lines
    from rfctl.errors import Exit, RfctlError
    from rfctl.prompt_input import limit_of

    defaults = settings.request(args, cfg, "-")
    base = settings.options(args)
    failed = 0
    for number, text in enumerate(read_lines(limit_of(args)), 1):
        if not text.strip():
            continue
        line = parse_line(text, number, defaults)
        rec: dict = {"id": line.id}
        error = line.error
        if error is None:
            opts = replace(
                base, providers=[line.provider] if line.provider else list(base.providers)
            )
            if line.request.model:
                opts.model = line.request.model
            try:
                pl = routing.preview(cfg, paths, line.request, opts)
            except RfctlError as e:  # a line naming an unknown provider: that line fails
                error = e
            else:
                error = pl.error
                rec["plan"] = plan_dict(pl)
        rec["ok"] = error is None
        if error is not None:
            failed += 1
            rec["error"] = {"code": int(error.code), "message": error.message}
        if line.metadata is not None:
            rec["metadata"] = line.metadata
        sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return Exit.PARTIAL if failed else 0


def as_json(pl: Plan) -> str:
    return json.dumps(plan_dict(pl), indent=2) + "\n"


def plan_dict(pl: Plan) -> dict:
    out = {
        "strategy": pl.strategy,
        "tokens": {
            "prompt_upper_bound": pl.tokens_bound,
            "prompt_estimate": pl.tokens,
            "max_tokens": pl.max_tokens,
        },
        "candidates": [c.as_json() for c in pl.candidates],
        "dropped": [c.as_json() for c in pl.dropped],
    }
    if pl.spent_today is not None:
        out["spent_today_usd"] = round(pl.spent_today, 6)
    if pl.error is not None:
        out["error"] = {"code": int(pl.error.code), "message": pl.error.message}
    return out


def as_table(pl: Plan) -> str:
    est = f"~{pl.tokens} tokens (tiktoken)" if pl.tokens else f"at most {pl.tokens_bound} tokens"
    lines = [f"prompt\t{est}; max_tokens {pl.max_tokens}; strategy {pl.strategy}"]
    for i, c in enumerate(pl.candidates, 1):
        lines.append(_line(str(i), c, "try"))
    for c in pl.dropped:
        lines.append(_line("-", c, "skip"))
    return "\n".join(lines) + "\n"


def _line(rank: str, c: Candidate, verdict: str) -> str:
    if c.free:
        cost = "free"
    elif c.est_cost is not None:
        cost = f"<= ${c.est_cost:.4f}"
    else:
        cost = "price unknown" if c.kept else "-"
    ctx = c.context
    return "\t".join(
        [
            rank,
            c.name,
            c.model or "(server default)",
            f"ctx {ctx}" if ctx else "ctx ?",
            cost,
            f"{verdict}: {c.why}",
        ]
    )
