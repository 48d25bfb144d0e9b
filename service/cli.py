"""The `vidgate` command: serve, worker, emulate, keys, and the `videos` client."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from events.apikey import DEFAULT_SCOPES, SCOPES, KeyLimits
from service.admin.credits import add_credits_command
from service.admin.export import add_export_command
from service.admin.key_limits import LimitError, add_limit_flags, limits_from, limits_object
from service.admin.replay import add_replay_command
from service.client.commands import add_videos_command
from service.settings import Settings, SettingsError

if TYPE_CHECKING:
    from service.runtime import Runtime


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"vidgate: {error}", file=sys.stderr)
        return 2
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    result: int = handler(args, settings)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidgate", description="Self-hosted AI video gateway")
    parser.add_argument("--version", action="version", version=f"vidgate {_version()}")
    commands = parser.add_subparsers(title="commands")

    serve = commands.add_parser("serve", help="run the API and the workers in one process")
    serve.add_argument("--host", help="interface to listen on (default: $HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: $PORT or 8000)")
    serve.add_argument(
        "--sandbox",
        action="store_true",
        help="point every provider at the built-in emulators (as VIDGATE_SANDBOX=true)",
    )
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser("worker", help="run the workers alone (dispatcher, renderer…)")
    worker.set_defaults(handler=_worker)

    emulate = commands.add_parser("emulate", help="run every upstream emulator on loopback")
    emulate.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    emulate.add_argument("--port", type=int, default=8100, help="port (default: 8100)")
    emulate.set_defaults(handler=_emulate)

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(title="keys")
    create = keys.add_parser("create", help="issue a new key and print it (shown once)")
    create.add_argument("--tenant", required=True, help="the tenant the key acts for")
    create.add_argument(
        "--scope",
        action="append",
        choices=SCOPES,
        dest="scopes",
        help=f"repeat for several (default: {' '.join(DEFAULT_SCOPES)})",
    )
    add_limit_flags(create)
    create.set_defaults(handler=_keys_create)
    limits = keys.add_parser("limits", help="change a key's limits (omitted flags keep theirs)")
    limits.add_argument("key", help="the key itself (vg_…)")
    add_limit_flags(limits, clearable=True)
    limits.set_defaults(handler=_keys_limits)
    listing = keys.add_parser("list", help="list keys: tenant, hint, scopes, state, limits, id")
    listing.add_argument("--tenant", help="only this tenant's keys")
    listing.set_defaults(handler=_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key", help="the key itself (vg_…) or its id (from `keys list`)")
    revoke.set_defaults(handler=_keys_revoke)
    add_export_command(commands)  # vidgate export events (service/admin/export.py)
    add_replay_command(commands)  # vidgate replay VIEW (service/admin/replay.py)
    add_credits_command(commands)  # vidgate credits grant|show (service/admin/credits.py)
    add_videos_command(commands)  # vidgate videos … over HTTP (service/client/commands.py)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vidgate")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from service.app import create_app
    from service.web.server import run

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    host, port = args.host or settings.host, args.port or settings.port
    # The gateway's own URL (webhook links, the sandbox's Sora hook) follows the flags.
    settings = dataclasses.replace(
        settings, host=host, port=port, sandbox=settings.sandbox or args.sandbox
    )
    run(create_app(settings), settings)
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from service.workers.role import main as worker_main

    worker_main()
    return 0


def _emulate(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from service.sandbox.server import bind
    from service.sandbox.suite import emulate

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        sock = bind(args.host, args.port)
    except OSError as error:  # the port is taken, or the address is not ours
        print(f"vidgate: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    asyncio.run(emulate(settings, sock))
    return 0


def _keys_create(args: argparse.Namespace, settings: Settings) -> int:
    from service.auth.keys import tenant_name_problem
    from service.runtime import build_runtime, issue_key

    tenant = args.tenant.strip()
    if problem := tenant_name_problem(tenant):
        print(f"vidgate: --tenant {problem}", file=sys.stderr)
        return 2
    try:
        limits = limits_from(args, KeyLimits())
    except LimitError as error:
        print(f"vidgate: {error}", file=sys.stderr)
        return 2
    rt = build_runtime(settings)
    try:
        scopes = tuple(dict.fromkeys(args.scopes or DEFAULT_SCOPES))
        key = issue_key(rt, tenant, scopes, limits=limits if limits != KeyLimits() else None)
    finally:
        rt.close()
    print(key)
    return 0


def _keys_limits(args: argparse.Namespace, settings: Settings) -> int:
    from service.auth.keys import KeyHasher, load_or_create_secret
    from service.persistence.stores import build_gateway

    hasher = KeyHasher(load_or_create_secret(settings.secret_key, settings.data_dir))
    gateway = build_gateway(settings)
    try:
        key_hash = hasher.hash(args.key)
        found = gateway.find_key(key_hash)
        if found is None:
            print("vidgate: no such key", file=sys.stderr)
            return 1
        try:
            limits = limits_from(args, found.limits)
        except LimitError as error:
            print(f"vidgate: {error}", file=sys.stderr)
            return 2
        changed = gateway.set_key_limits(key_hash, limits, by="cli")
    finally:
        gateway.close()
    print(json.dumps(limits_object(changed.limits if changed else limits)))
    return 0


def _keys_list(args: argparse.Namespace, settings: Settings) -> int:
    from service.persistence.stores import build_gateway

    gateway = build_gateway(settings)
    try:
        keys = gateway.list_keys()
    finally:
        gateway.close()
    for key in keys:
        if args.tenant is None or key.tenant == args.tenant:
            state = "revoked" if key.revoked else "active"
            limits = json.dumps(limits_object(key.limits), separators=(",", ":"))
            row = (key.tenant, key.hint, ",".join(key.scopes), state, limits, str(key.id))
            print("\t".join(row))
    return 0


def _keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from service.runtime import build_runtime

    rt = build_runtime(settings)
    try:
        # A lost key can be revoked only by its id: the key itself is all we store a hash of.
        key_hash = _hash_of(rt, args.key)
        found = key_hash is not None and rt.gateway.revoke_key(key_hash, by="cli")
    finally:
        rt.close()
    if not found:
        print("vidgate: no such key", file=sys.stderr)
        return 1
    print("revoked")
    return 0


def _hash_of(rt: Runtime, given: str) -> str | None:
    """The stored hash of a key given as itself (`vg_…`) or as its id; None for no such id."""
    try:
        key_id = UUID(given)
    except ValueError:
        return rt.hasher.hash(given)
    key = rt.gateway.key_with_id(key_id)
    return key.key_hash if key else None


if __name__ == "__main__":
    sys.exit(main())
