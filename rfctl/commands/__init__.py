"""The commands layer: the argument parser (parser.py) and one module per
command, each exposing `add_parser(subparsers, parents)` and `run(args) -> int`."""
