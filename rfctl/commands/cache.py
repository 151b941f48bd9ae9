"""rfctl cache stats|prune|clear: the response cache of `generate --cache`."""

from __future__ import annotations

HELP = "response cache: show its size, prune it, clear it"

DESCRIPTION = """\
The response cache keeps answers of `generate --cache` (or `[cache] enabled =
true`) under $XDG_CACHE_HOME/rfctl/responses, keyed by everything that decides
the answer. stats: entries, size, expired entries, the cap and TTL. prune:
remove expired and unreadable entries, then the least recently used ones until
the cache fits [cache] max_bytes. clear: remove every entry."""


def add_parser(sub, parents):
    from rfctl.commands.parser import action_command

    actions = ("stats", "prune", "clear")
    action_command(sub, "cache", parents, HELP, DESCRIPTION, run, actions, " | ".join(actions))


def open_cache(args):
    """The Cache that generate uses, from the config's [cache] table (its
    defaults while the config has none)."""
    from rfctl import cache, config

    paths = config.resolve_paths(args)
    cfg = config.load(paths)
    settings = getattr(cfg, "cache", None)
    return cache.Cache(
        getattr(paths, "cache", None) or cache.default_dir(),
        ttl=getattr(settings, "ttl", cache.DEFAULT_TTL),
        max_bytes=getattr(settings, "max_bytes", cache.DEFAULT_MAX_BYTES),
    )


def run(args) -> int:
    c = open_cache(args)
    if args.action == "stats":
        return _stats(c, args)
    removed, freed = c.prune() if args.action == "prune" else c.clear()
    row = {"action": args.action, "removed": removed, "bytes_freed": freed, "dir": c.dir}
    _emit([row], ("action", "removed", "bytes_freed", "dir"), args)
    return 0


def _stats(c, args) -> int:
    from dataclasses import asdict

    from rfctl.usagelog import format_ts

    row = asdict(c.stats())
    for key in ("oldest", "newest"):
        if row[key] is not None:
            from datetime import UTC, datetime

            row[key] = format_ts(datetime.fromtimestamp(row[key], UTC))
    cols = (
        "entries",
        "bytes",
        "expired",
        "max_bytes",
        "ttl",
        "oldest",
        "newest",
        "cost_usd",
        "dir",
    )
    _emit([row], cols, args)
    return 0


def _emit(rows, keys, args) -> None:
    import json
    import sys

    from rfctl.table import Column, emit

    if args.format == "json":  # one object: `rfctl cache stats --json | jq .bytes`
        sys.stdout.write(json.dumps(rows[0], indent=2) + "\n")
        return
    human = {"bytes": _size, "max_bytes": _size, "bytes_freed": _size, "ttl": _duration}
    emit(
        rows,
        [
            Column(k, k.replace("_", " "), human=human.get(k), right=k in human, elastic=k == "dir")
            for k in keys
        ],
        args.format,
        header=not args.no_header,
        wide=args.wide,
    )


def _size(n) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _duration(s) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s / size:g}{unit}"
    return f"{s:g}s"
