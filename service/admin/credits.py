"""`vidgate credits grant TENANT AMOUNT [--note TEXT]` and `vidgate credits show TENANT`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from service.auth.keys import tenant_name_problem
from service.billing.balance import AmountError, balance_object, parse_dollars
from service.persistence.stores import build_gateway
from service.settings import Settings


def add_credits_command(commands: Any) -> None:
    """Register `vidgate credits …` on the CLI's subcommands."""
    credits = commands.add_parser("credits", help="a tenant's prepaid credits")
    actions = credits.add_subparsers(title="credits")
    grant = actions.add_parser("grant", help="add credits (this meters the tenant from now on)")
    grant.add_argument("tenant", help="the tenant to credit")
    grant.add_argument("amount", help="dollars, e.g. 5.00")
    grant.add_argument("--note", default="", help="why (kept in the ledger)")
    grant.set_defaults(handler=_grant)
    show = actions.add_parser("show", help="print the tenant's balance")
    show.add_argument("tenant", help="the tenant")
    show.set_defaults(handler=_show)


def _grant(args: argparse.Namespace, settings: Settings) -> int:
    if problem := tenant_name_problem(args.tenant):
        print(f"vidgate: TENANT {problem}", file=sys.stderr)
        return 2
    try:
        amount = parse_dollars(args.amount)
    except AmountError as error:
        print(f"vidgate: AMOUNT: {error}", file=sys.stderr)
        return 2
    gateway = build_gateway(settings)
    try:
        account = gateway.grant_credits(args.tenant, amount, note=args.note)
    finally:
        gateway.close()
    print(json.dumps({"tenant": args.tenant, **balance_object(account)}))
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    gateway = build_gateway(settings)
    try:
        account = gateway.find_account(args.tenant)
    finally:
        gateway.close()
    print(json.dumps({"tenant": args.tenant, **balance_object(account)}))
    return 0
