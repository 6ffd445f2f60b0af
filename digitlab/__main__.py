"""Command line: ``python -m digitlab info --data SOURCE [--json]`` (more subcommands are added per issue).

Errors a user can fix (bad paths, bad data, unknown names) print one line to stderr
and exit with status 2; no traceback.
"""
from __future__ import annotations

import argparse
import json
import sys

from . import data


class UsageError(Exception):
    """A CLI error a user can fix; printed as one line, exit status 2."""


def cmd_info(args) -> int:
    ds = data.load(args.data)
    s = ds.summary()
    if args.json:
        print(json.dumps(s))
    else:
        print(f"{s['name']}  ({s['source']})")
        print(f"images: {s['n']}  labels: {'yes' if s['has_labels'] else 'no'}  mean pixel: {s['mean_pixel']}")
        if s["has_labels"]:
            for d, c in enumerate(s["class_counts"]):
                print(f"  {d}: {c:6d}  {'#' * round(60 * c / max(1, max(s['class_counts'])))}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m digitlab", description="DigitLab command line")
    sub = p.add_subparsers(dest="command", required=True)
    q = sub.add_parser("info", help="summarise a dataset")
    q.add_argument("--data", default="sample", help="sample | mnist | a Kaggle CSV | an IDX images file | a folder with an IDX pair")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_info)
    return p


# errors that mean "the user's input is wrong": one line, exit 2
USER_ERRORS: tuple[type[BaseException], ...] = (data.DataError, UsageError, FileNotFoundError)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
