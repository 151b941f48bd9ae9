"""rfctl models: the model registry merged with what reachable servers list now.

The listings come from rfctl.checks; this module merges them with the registry
into rows and renders them through rfctl.table.
"""

from __future__ import annotations

import argparse
import sys

from rfctl.config import CAPABILITIES

HELP = "list models: registry (context, capabilities, prices) and live availability"

DESCRIPTION = """\
List models: every model the registry knows (context window, max output,
capabilities, prices per million tokens) merged with what each reachable
provider lists right now. `available` is yes when a reachable server lists
the model (or serves it: llama-server answers any name), no when no
configured provider can serve it now, unknown when that cannot be told.
--names prints bare names from the registry without touching the network
(for completions and scripts)."""


def add_parser(sub, parents):
    from rfctl.checks import DEFAULT_TIMEOUT
    from rfctl.commands.parser import command_parser, positive_float
    from rfctl.table import add_format_options

    p = command_parser(sub, "models", parents, HELP, DESCRIPTION)
    p.add_argument(
        "-p",
        "--provider",
        action="append",
        default=[],
        metavar="NAME",
        help="only models of this provider (repeatable)",
    )
    p.add_argument(
        "--capability",
        choices=CAPABILITIES,
        action="append",
        default=[],
        help="only models with this capability (repeatable: all of them)",
    )
    p.add_argument("--available", action="store_true", help="only models available now")
    p.add_argument(
        "--names",
        action="store_true",
        help="print bare model names, one per line (registry only unless "
        "--provider or --available asks for live data)",
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"bound on listing all providers (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--no-check",
        action="store_true",
        help="do not contact the providers (availability unknown)",
    )
    add_format_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from rfctl import registry

    if args.names and not (args.provider or args.available):
        # No config, no network: only the registry (see names_fast).
        user = registry.user_file(getattr(args, "models_file", None))
        return _names_offline(registry.load(argparse.Namespace(models=user)), args.capability)
    from rfctl import config
    from rfctl.checks import list_all, select

    paths = config.resolve_paths(args)
    reg = registry.load(paths)
    cfg = config.load(paths)
    providers = select(cfg, args.provider, enabled_only=not args.provider)
    providers, listings = _reach(providers, paths, start=bool(args.provider) and not args.no_check)
    if not args.no_check:
        listings.update(list_all([p for p in providers if p.name not in listings], args.timeout))
    rows = build_rows(
        reg, providers, listings, registry_rows=not args.provider, checked=not args.no_check
    )
    rows = [
        r
        for r in rows
        if all(c in r["capabilities"] for c in args.capability)
        and (not args.available or r["available"] == "yes")
    ]
    if args.names:
        seen = dict.fromkeys(r["model"] for r in rows)
        sys.stdout.write("".join(f"{name}\n" for name in seen))
        return 0
    from rfctl.table import emit

    emit(rows, _columns(), args.format, header=not args.no_header, wide=args.wide)
    return 0


def _reach(providers: list, paths, *, start: bool) -> tuple[list, dict]:
    """Providers as they can be listed: a managed llama-server's URL, started
    when the provider was named (-p), else only while it runs; a server that
    is not running, or cannot start, is a listing that says so."""
    from rfctl import localserver
    from rfctl.checks import Listing
    from rfctl.errors import RfctlError

    out, listings = [], {}
    for p in providers:
        try:
            q = localserver.started(p, paths) if start else localserver.current(p, paths)
        except RfctlError as e:
            q, listings[p.name] = p, Listing("down", detail=e.message)
        if q is None:
            q, listings[p.name] = p, Listing("unknown", detail="managed, not running")
        out.append(q)
    return out, listings


def _names_offline(reg, capabilities: list[str]) -> int:
    if capabilities:
        entries = [e for e in reg.entries() if all(e.has(c) for c in capabilities)]
        names = sorted({n for e in entries for n in (e.id, *e.aliases)}, key=str.lower)
    else:
        names = reg.names()
    sys.stdout.write("".join(f"{name}\n" for name in names))
    return 0


def _columns():
    from rfctl.table import Column, human_tokens

    def price(v):
        if v is None:
            return "-"
        return "free" if v == 0 else f"{v:.3f}".rstrip("0").rstrip(".")

    return [
        Column("model", "model", elastic=True, min_width=16),
        Column("provider", "provider", elastic=True, min_width=8),
        Column("context", "context", human=human_tokens, right=True),
        Column("max_output", "max out", human=human_tokens, right=True, wide=True),
        Column("capabilities", "capabilities", wide=True),
        Column("input_price", "in $/M", human=price, right=True),
        Column("output_price", "out $/M", human=price, right=True),
        Column("available", "available"),
    ]


# ---------------------------------------------------------------- rows


def build_rows(
    reg, providers: list, listings: dict, *, registry_rows: bool = True, checked: bool = True
) -> list[dict]:
    from rfctl.checks import Listing, configured_models, serves
    from rfctl.registry import vendor_for_kind

    rows: list[dict] = []
    covered: set[str] = set()  # registry ids some provider row stands for
    for p in providers:
        listing = listings.get(p.name) or Listing("unknown", detail="not checked")
        listed_ids = [m.id for m in listing.models]
        for info in sorted(listing.models, key=lambda m: m.id.lower()):
            entry = reg.resolve(info.id)
            row = _row(info.id, p, entry, "yes", info.context, info.max_output, info.loaded)
            rows.append(row)
            if entry:
                covered.add(entry.id)
        for name in configured_models(p):
            if listing.status == "listed" and serves(p.kind, listed_ids, name, reg):
                continue
            state = {"listed": "no", "down": "no"}.get(listing.status, "unknown")
            entry = reg.resolve(name)
            rows.append(_row(name, p, entry, state, None, None, None))
            if entry and state != "no":
                covered.add(entry.id)
    if not registry_rows:
        return rows
    for entry in reg.entries():
        if entry.id in covered:
            continue
        sources = [
            listings.get(p.name) for p in providers if vendor_for_kind(p.kind) == entry.vendor
        ]
        unknown = not checked or any(s is None or s.status == "unknown" for s in sources)
        rows.append(_row(entry.id, None, entry, "unknown" if unknown else "no", None, None, None))
    return rows


def _row(model: str, p, entry, available: str, context, max_output, loaded) -> dict:
    local = p.local if p is not None else bool(entry and entry.free)
    prices = None if local else _price(model, p, entry)
    if local:
        inp = out = cached = 0.0
    elif prices:
        inp, out, cached = prices.input, prices.output, prices.cache_read
    else:
        inp = out = cached = None
    return {
        "model": model,
        "provider": p.name if p is not None else None,
        "kind": p.kind if p is not None else None,
        "registry_id": entry.id if entry else None,
        "vendor": entry.vendor if entry else None,
        "context": context or (entry.context if entry else None),
        "max_output": max_output or (entry.max_output if entry else None),
        "capabilities": list(entry.capabilities) if entry else [],
        "input_price": inp,
        "output_price": out,
        "cached_input_price": cached,
        "price_source": prices.source if prices and not local else None,
        "prices_as_of": prices.as_of if prices and not local else None,
        "free": local,
        "available": available,
        "loaded": loaded,
        "verified": entry.verified if entry else None,
    }


def _price(model: str, p, entry):
    """What a call would pay (rfctl.cost.price_for); a registry row without
    a provider is priced as its vendor's own API."""
    from rfctl.cost import price_for

    if p is None and entry is not None and entry.vendor in ("anthropic", "openai"):
        p = argparse.Namespace(kind=entry.vendor)
    if p is None and entry is None:
        return None
    return price_for(p, entry, model)


# ---------------------------------------------------------------- the fast path

_FAST_OPTIONS = ("--names", "--capability", "--models-file")


def names_fast(argv: list[str]) -> int | None:
    """`rfctl models --names [--capability C]... [--models-file F]` without
    building the whole parser (completions call this on every TAB).

    argv is what follows `models`. Returns None when argv is anything else,
    and the caller parses it the normal way.
    """
    if "--names" not in argv:
        return None
    caps: list[str] = []
    models_file = None
    it = iter(argv)
    for arg in it:
        name, eq, value = arg.partition("=")
        if name not in _FAST_OPTIONS or (name == "--names" and eq):
            return None
        if name == "--names":
            continue
        if not eq:
            value = next(it, None)
            if value is None:
                return None
        if name == "--capability":
            if value not in CAPABILITIES:
                return None  # let argparse say what is wrong
            caps.append(value)
        else:
            models_file = value
    from rfctl import registry
    from rfctl.errors import RfctlError

    try:
        reg = registry.load(argparse.Namespace(models=registry.user_file(models_file)))
    except RfctlError as e:  # an exit code, like every command's run()
        from rfctl import console

        console.error(e.message)
        return int(e.code)
    return _names_offline(reg, caps)
