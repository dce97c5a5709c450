"""``kneevision serve`` (the clinic's web app) and ``kneevision users`` (its logins)."""

from __future__ import annotations

import argparse
import fcntl
import getpass
import os
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_USAGE = 2
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_DATA = "kneevision-data"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``serve`` and ``users`` on the main parser."""
    p = sub.add_parser(
        "serve",
        help="the clinic's web app: patients, uploads, the analysis queue, reports",
        description="Start the local web app over a data folder (the SQLite store of "
        "`kneevision batch`/`db`, the uploaded clips and the analysis folders). Bound to "
        "127.0.0.1 without login; any other --host needs a user (`kneevision users add`).",
    )
    p.add_argument("--data", default=DEFAULT_DATA, metavar="DIR",
                   help=f"data folder (default ./{DEFAULT_DATA}; created owner-only)")  # fmt: skip
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only)")  # fmt: skip
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--no-browser", action="store_true", dest="no_browser",
                   help="do not open the browser")  # fmt: skip
    p.add_argument("--max-upload-mb", type=float, default=2048, dest="max_upload_mb",
                   metavar="MB", help="largest clip accepted (default 2048)")  # fmt: skip
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="analyses at the same time (default 1)")  # fmt: skip
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("users", help="logins of the web app (needed beyond 127.0.0.1)",
                       description="Add, list or delete the web app's users, or make an API "
                       "token (sent as 'Authorization: Bearer TOKEN').")  # fmt: skip
    p.add_argument("--data", default=DEFAULT_DATA, metavar="DIR",
                   help=f"data folder (default ./{DEFAULT_DATA})")  # fmt: skip
    # --data also after the command: `kneevision users add NAME --data DIR`
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data", default=argparse.SUPPRESS, metavar="DIR", help="data folder")
    us = p.add_subparsers(dest="users_command", metavar="COMMAND")
    a = us.add_parser("add", parents=[data],
                      help="add a user (or set their password); asks for the password")  # fmt: skip
    a.add_argument("name")
    a.add_argument("--password-stdin", action="store_true", dest="password_stdin",
                   help="read the password from standard input (scripts)")  # fmt: skip
    us.add_parser("list", parents=[data], help="list the users")
    d = us.add_parser("delete", parents=[data], help="delete a user, their sessions and tokens")
    d.add_argument("name")
    t = us.add_parser("token", parents=[data], help="print a new API token for a user")
    t.add_argument("name")
    p.set_defaults(func=cmd_users)


def _err(msg: str) -> int:
    print(f"kneevision: {msg}", file=sys.stderr)
    return EXIT_USAGE


def cmd_users(args: argparse.Namespace) -> int:
    from kneevision.web import security
    from kneevision.web.app import prepare_data
    from kneevision.web.db import WebDB

    data = Path(args.data).absolute()
    prepare_data(data)
    with WebDB(data) as db:
        if args.users_command == "add":
            if args.password_stdin:
                password = sys.stdin.readline().rstrip("\n")
            else:
                password = getpass.getpass(f"password for {args.name}: ")
                if getpass.getpass("again: ") != password:
                    return _err("the passwords differ")
            try:
                security.add_user(db, args.name, password)
            except ValueError as exc:
                return _err(str(exc))
            db.audit("(command line)", "add user", None, args.name)
            print(f"user {args.name} added")
        elif args.users_command == "list":
            for name in db.users():
                print(name)
        elif args.users_command == "delete":
            if not security.delete_user(db, args.name):
                return _err(f"no user {args.name!r}")
            db.audit("(command line)", "delete user", None, args.name)
            print(f"user {args.name} deleted")
        elif args.users_command == "token":
            try:
                print(security.new_token(db, args.name))
            except ValueError as exc:
                return _err(str(exc))
            db.audit("(command line)", "new token", None, args.name)
        else:
            return _err("users: choose add, list, delete or token")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from kneevision.web.app import create_app, prepare_data
    from kneevision.web.db import WebDB

    data = Path(args.data).absolute()
    lan = args.host not in LOCAL_HOSTS
    os.umask(0o077)  # everything the server writes is the owner's only
    prepare_data(data)
    if lan:
        with WebDB(data) as db:
            if not db.users():
                return _err(
                    f"--host {args.host} serves beyond this computer and needs a login: add a "
                    f"user first (kneevision users add NAME --data {args.data})"
                )
    lock = open(data / ".serve.lock", "w")  # held while serving
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return _err(f"another kneevision serve uses {data}")
    app = create_app(data, lan=lan, max_upload_mb=args.max_upload_mb, workers=args.workers)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{shown}:{args.port}/"
    print(f"KneeVision serving {data} at {url}" + ("" if not lan else " (login needed)"),
          flush=True)  # fmt: skip
    if not args.no_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, (url,)).start()
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning",
                            timeout_graceful_shutdown=3, access_log=False)  # fmt: skip
    uvicorn.Server(config).run()
    lock.close()
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``python -m kneevision.web serve|users ...``."""
    parser = argparse.ArgumentParser(prog="python -m kneevision.web")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_parsers(sub)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    return args.func(args)
