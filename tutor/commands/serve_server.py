"""The web server of `tutor serve`: textual-serve with one tutor process per browser tab,
an access token, Host and Origin checks, a tab limit and a bounded shutdown."""

from __future__ import annotations

from typing import Any

from tutor.commands.serve_hosts import addresses, is_loopback, learner_env
from tutor.engine.labs.editing import SERVED_ENV


def _death_signal() -> Any:
    """A preexec_fn that sets PR_SET_PDEATHSIG (Linux). Tabs are forked from the event
    loop's thread, which lives as long as the server, so the signal means the server died."""
    import os
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork, not in the child
    server = os.getpid()

    def set_death_signal() -> None:
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != server:  # the server died before prctl took effect
            os._exit(1)

    return set_death_signal


def make_server(argv: list[str], **options: Any) -> Any:
    """Build the server; textual-serve and aiohttp load only here (0.4 s of imports)."""
    import asyncio
    import contextlib
    import logging
    import os
    import re
    import secrets
    import signal
    import sys
    from pathlib import Path

    import aiohttp_jinja2
    import jinja2
    from aiohttp import web
    from aiohttp.web_runner import GracefulExit
    from textual_serve.app_service import AppService
    from textual_serve.server import Server, to_int

    from tutor.errors import TutorError

    log = logging.getLogger("tutor.serve")

    die_with_server = _death_signal()

    class TabProcess(AppService):
        """One tab's tutor: exec'd without a shell, in its own session (so the server's
        Ctrl-C is not also delivered to every tab), stopped within a bound, and killed by
        the kernel if the server itself is killed (its stdin EOF alone does not end it)."""

        extra_env: dict[str, str] = {}

        async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
            env = {**self._build_environment(width, height), **self.extra_env,
                   # what a tab may let a learner do: see tutor.engine.labs.editing
                   SERVED_ENV: "public" if options["public"] else "loopback"}
            self._process = process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=env,
                start_new_session=True, preexec_fn=die_with_server)
            assert process.stdin is not None
            self._stdin = process.stdin
            return process

        async def stop_within(self, seconds: float) -> None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(self.stop(), seconds)
            process = self._process
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(process.wait(), 5)

    class TutorServer(Server):
        def __init__(self) -> None:
            super().__init__(" ".join(argv), host=options["host"], port=options["port"],
                             title="SQS tutor")
            self.public = bool(options["public"])
            self.max_sessions = int(options["max_sessions"])
            self.sockets: set[web.WebSocketResponse] = set()
            # Who may open a tab: whoever has the printed address. Loopback alone does not
            # say that (other users of this machine reach it too), nor does a classroom LAN.
            self.token = secrets.token_urlsafe(9)
            self.cookie = f"tutor_serve_{options['port']}"  # cookies ignore the port

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            # The stock page links a Google Fonts stylesheet, and textual.js only connects on
            # window.onload: on a classroom network that drops outside traffic the page would
            # hang until that request times out. Serve the page without it (monospace fallback).
            stock = (Path(self.templates_path) / "app_index.html").read_text(encoding="utf-8")
            page = re.sub(r"<link[^>]*fonts\.googleapis\.com[^>]*>", "", stock, flags=re.S)
            aiohttp_jinja2.setup(app, loader=jinja2.DictLoader({"app_index.html": page}))
            # textual.js appends "?width=..": a learner id has to travel in the path.
            app.router.add_get("/ws/{learner}", self.handle_websocket)
            return app

        def initialize_logging(self) -> None:
            logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                                format="tutor serve: %(message)s")

        async def on_startup(self, app: web.Application) -> None:
            for base in addresses(options["host"], options["port"]):
                print(f"Serving the tutor at {base}/?token={self.token}", flush=True)
            print(f"Each browser tab runs its own tutor, all on the LocalStack at "
                  f"{options['endpoint_url']}", flush=True)
            print("A classroom: add &learner=ID to the address, and each learner gets their own "
                  "progress, workspace and LocalStack account", flush=True)
            print("Press Ctrl-C to stop", flush=True)

        async def on_shutdown(self, app: web.Application) -> None:
            # Closing the sockets ends each tab's message loop, which stops its tutor.
            for websocket in list(self.sockets):
                with contextlib.suppress(Exception):
                    await websocket.close()

        def check_request(self, request: web.Request, *, websocket: bool) -> None:
            """Refuse DNS rebinding (Host) and other sites' pages (Origin): a WebSocket is
            not bound by the same-origin policy, so any page the learner visits could
            otherwise open a tutor on this port and type into it."""
            if not self.public and not is_loopback(request.url.host or ""):
                raise web.HTTPForbidden(text="tutor serve: answers loopback names only")
            origin = request.headers.get("Origin")
            seen = origin.split("://", 1)[-1].lower() if origin is not None else None
            cross = seen is not None and seen != request.host.lower()
            if websocket and cross:
                raise web.HTTPForbidden(text="tutor serve: cross-origin connection refused")

        def learner_of(self, learner: str) -> dict[str, str]:
            try:
                return learner_env(learner)
            except TutorError as exc:
                raise web.HTTPBadRequest(text=f"tutor serve: {exc.one_line()}") from None

        def has_token(self, request: web.Request) -> bool:
            given = request.cookies.get(self.cookie, "")
            return secrets.compare_digest(given.encode(), self.token.encode())

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            self.check_request(request, websocket=False)
            from_url = request.query.get("token", "")
            if not (secrets.compare_digest(from_url.encode(), self.token.encode())
                    or self.has_token(request)):
                raise web.HTTPForbidden(text="tutor serve: open the full address that "
                                        "`tutor serve` printed (it carries the access token)")
            learner = request.query.get("learner", "")
            if learner:
                self.learner_of(learner)
            # URLs follow the address the browser used (works for 0.0.0.0 and any name).
            base = f"http://{request.host}"
            page = aiohttp_jinja2.render_template("app_index.html", request, {
                "font_size": max(8, min(40, to_int(request.query.get("fontsize", "16"), 16))),
                "app_websocket_url": f"ws://{request.host}/ws"
                + (f"/{learner.strip().lower()}" if learner else ""),
                "config": {"static": {"url": f"{base}/static/"}},
                "application": {"name": "SQS tutor"},
            })
            # The WebSocket is opened by this page's script, which cannot add headers: the
            # token travels as a cookie that other sites' pages never get (SameSite=Strict).
            page.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
            return page

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            self.check_request(request, websocket=True)
            if not self.has_token(request):
                raise web.HTTPForbidden(text="tutor serve: no access token; open the page first")
            if len(self.sockets) >= self.max_sessions:
                raise web.HTTPServiceUnavailable(
                    text=f"tutor serve: {self.max_sessions} tabs are open already")
            learner = request.match_info.get("learner")
            extra_env = self.learner_of(learner) if learner else {}
            websocket = web.WebSocketResponse(heartbeat=15)
            width = max(20, min(500, to_int(request.query.get("width", "80"), 80)))
            height = max(8, min(300, to_int(request.query.get("height", "24"), 24)))
            tab: TabProcess | None = None
            self.sockets.add(websocket)
            try:
                await websocket.prepare(request)

                async def close() -> None:
                    await websocket.close()

                tab = TabProcess(self.command, write_bytes=websocket.send_bytes,
                                 write_str=websocket.send_str, close=close,
                                 download_manager=self.download_manager)
                tab.extra_env = extra_env
                await tab.start(width, height)
                await self._process_messages(websocket, tab)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await websocket.close()
            except Exception as error:  # a bad message from a browser ends only its tab
                log.warning("a browser session ended: %s: %s", type(error).__name__, error)
            finally:
                self.sockets.discard(websocket)
                if tab is not None:
                    await tab.stop_within(10)
            return websocket

        def run(self) -> None:
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)

            stopping = False

            def request_exit() -> None:
                nonlocal stopping
                if stopping:  # a second Ctrl-C: the bounded shutdown is already under way
                    print("stopping (tabs get up to 10 s to quit)…", file=sys.stderr)
                    return
                stopping = True
                raise GracefulExit()

            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(signum, request_exit)
            try:
                web.run_app(self._make_app(), sock=options["sock"], handle_signals=False,
                            loop=loop, print=None, shutdown_timeout=10, access_log=None)
            finally:
                if not loop.is_closed():
                    loop.close()
                # LocalStack clean-up may follow; a late Ctrl-C must not cut it short.
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return TutorServer()
