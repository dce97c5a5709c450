"""The FastAPI application: pages (Jinja2) and the JSON API, over one data folder.

The data folder holds ``kneevision.db`` (the store's schema plus the ``web_*``
tables), ``uploads/`` (the clips as received) and ``results/`` (the analysis
folders, as ``kneevision batch`` lays them out). Everything in it is owner-only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import zipfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from kneevision.errors import KneeVisionError
from kneevision.web import engine, plots, security
from kneevision.web.db import WebDB, now
from kneevision.web.jobs import RESULTS, Runner
from kneevision.web.uploads import SUFFIX, UploadError, receive

if TYPE_CHECKING:
    from kneevision.summary import Summary

HERE = Path(__file__).parent
PATIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UPLOADS = "uploads"
DEFAULT_MAX_UPLOAD_MB = 2048
CSP = ("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
       "form-action 'self'; object-src 'none'")  # fmt: skip
LOCAL_USER = "local"
LOCAL_PREFIX = "local."


def api_status(job: dict) -> str:
    return "failed" if job["status"] == "cancelled" else job["status"]


def job_json(job: dict, summary: Summary | None = None, full: bool = False) -> dict:
    """A job as the API shows it (the public trial).

    Parameters
    ----------
    job : dict
        The ``web_jobs`` row.
    summary : Summary, optional
        The trial's summary; with ``full`` it is shown as ``summary.json`` holds it.
    full : bool
        Include the summary (``None`` when there is none).

    Returns
    -------
    dict
        The trial as JSON.
    """
    out = {
        "id": job["id"],
        "status": api_status(job),
        "progress": round(float(job["progress"] or 0), 4),
        "error": "cancelled" if job["status"] == "cancelled" else job["error"],
        "patient_id": job["patient_id"],
        "session_date": job["session_date"],
        "filename": job["filename"],
        "protocol": job["protocol"],
        "side": job["side"],
        "notes": job["notes"],
        "frames": job["frames"],
        "total_frames": job["total"],
        "fps": job["fps"],
        "eta_s": job["eta_s"],
        "created": job["created"],
        "finished": job["finished"],
    }
    if full:
        out["summary"] = summary.to_json() if summary is not None else None
    return out


class App:
    """The state behind the routes: data folder, mode, runner, per-thread connections."""

    def __init__(self, data: Path, lan: bool, max_upload_mb: float, runner: Runner | None):
        self.data = data
        self.lan = lan
        self.max_bytes = int(max_upload_mb * 1e6)
        self.runner = runner
        self.local = threading.local()
        self.limiter = security.RateLimit()
        with WebDB(data) as db:
            self.secret = db.secret()

    def db(self) -> WebDB:
        db = getattr(self.local, "db", None)
        if db is None:
            db = self.local.db = WebDB(self.data)
        return db

    # --- files --------------------------------------------------------------------------

    def upload_dir(self, patient: str) -> Path:
        return self.data / UPLOADS / patient

    def job(self, job_id: int) -> dict:
        job = self.db().one("SELECT * FROM web_jobs WHERE id = ?", (job_id,))
        if job is None:
            raise HTTPException(404, "no such trial")
        return job

    def trial_folder(self, job: dict) -> Path | None:
        if not job["trial_id"]:
            return None
        t = engine.store_trial(self.db().store, job["trial_id"])
        if not t or not t["out_dir"]:
            return None
        folder = Path(t["out_dir"])
        return folder if folder.is_dir() else None

    def patient(self, pid: str) -> dict:
        if not PATIENT_ID.match(pid):
            raise HTTPException(404, "no such patient")
        db = self.db()
        row = db.one("SELECT id, created FROM patients WHERE id = ?", (pid,))
        if row is None:
            raise HTTPException(404, "no such patient")
        extra = db.one("SELECT name, notes FROM web_patients WHERE id = ?", (pid,)) or {}
        return {**row, "name": extra.get("name") or "", "notes": extra.get("notes") or ""}

    def adopt(self, pid: str) -> None:
        """Give store trials made by ``kneevision batch`` (no job row) a trial id here."""
        db = self.db()
        rows = db.q(
            "SELECT s.patient_id, s.date, t.* FROM trials t JOIN sessions s ON s.id = t.session_id "
            "WHERE s.patient_id = ? AND t.id NOT IN "
            "(SELECT trial_id FROM web_jobs WHERE trial_id IS NOT NULL)",
            (pid,),
        )
        for t in rows:
            db.conn.execute(
                "INSERT INTO web_jobs (patient_id, session_date, path, filename, protocol, side, "
                "notes, settings, status, progress, error, trial_id, created, finished) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (pid, t["date"], t["path"], Path(t["path"]).name, t["protocol"], t["side"],
                 t["notes"], "{}", t["status"], 1.0 if t["status"] == "done" else 0.0,
                 t["error"], t["id"], t["finished"], t["finished"]),
            )  # fmt: skip

    def delete_patient(self, pid: str, user: str) -> None:
        db = self.db()
        jobs = db.q("SELECT * FROM web_jobs WHERE patient_id = ?", (pid,))
        for job in jobs:
            if job["status"] in ("queued", "running"):
                db.conn.execute("UPDATE web_jobs SET status = 'cancelled' WHERE id = ?",
                                (job["id"],))  # fmt: skip
                if self.runner:
                    self.runner.cancel(job["id"])
        trials = engine.delete_patient(db.store, pid)
        for t in trials:
            if t.get("out_dir"):
                shutil.rmtree(t["out_dir"], ignore_errors=True)
        for job in jobs:
            if self._inside(job["path"]):
                Path(job["path"]).unlink(missing_ok=True)
        shutil.rmtree(self.upload_dir(pid), ignore_errors=True)
        from kneevision.batch import _safe

        shutil.rmtree(self.data / RESULTS / _safe(pid), ignore_errors=True)
        db.conn.execute("DELETE FROM web_jobs WHERE patient_id = ?", (pid,))
        db.conn.execute("DELETE FROM web_patients WHERE id = ?", (pid,))
        db.audit(user, "delete patient", pid, f"{len(trials)} trial(s) and their files")

    def _inside(self, path: str) -> bool:
        """Whether ``path`` is in the data folder (never delete a batch's source clip)."""
        try:
            Path(path).resolve().relative_to(self.data.resolve())
            return True
        except ValueError:
            return False

    def trial_view(self, job: dict) -> dict:
        """What the trial page and the comparison need.

        The summary is read through the typed contract (:class:`Summary`); the page
        gets it as ``summary`` and the rows, repetitions and flags taken from it.
        """
        folder = self.trial_folder(job)
        summary = engine.read_summary(folder) if folder else None
        view: dict[str, Any] = {"job": job, "status": api_status(job), "summary": summary,
                                "folder": folder, "files": {}, "exports": []}  # fmt: skip
        if summary is None or folder is None:
            return view
        view["files"] = {n: True for n in engine.SERVED_FILES if (folder / n).is_file()}
        view["exports"] = [(fmt, name) for fmt, name in engine.EXPORT_FILES.items()
                           if view["files"].get(name)]  # fmt: skip
        rows = engine.key_rows(summary)
        for r in rows:
            r["label"] = engine.label(r["metric"])
            r["left_text"] = engine.fmt(r["metric"], r["left"])
            r["right_text"] = engine.fmt(r["metric"], r["right"])
        view["rows"] = rows
        view["bilateral"] = [
            {"metric": m, "label": engine.label(m), "value": stat.value,
             "text": engine.fmt(m, stat.value)}
            for m, stat in summary.bilateral.items()
        ]  # fmt: skip
        view["flags"] = engine.flags(summary)
        flagged = {a for _, a in view["flags"]}
        view["advice"] = [a for a in summary.advice if a not in flagged]
        view["reps"] = [
            {"rep": r.rep, "side": r.side, "start_s": r.start_s, "bottom_s": r.bottom_s,
             "end_s": r.end_s, "peak": engine.fmt("peak_knee_flexion_deg",
                                                  r.get("peak_knee_flexion_deg"))}
            for r in summary.reps
            if r.start_s is not None
        ]  # fmt: skip
        angles = engine.read_angles(folder)
        t = angles.get("time_s", [])
        series = {s: angles[f"{s}_knee_flexion_deg"] for s in ("left", "right")
                  if f"{s}_knee_flexion_deg" in angles}  # fmt: skip
        duration = (summary.input.duration_s if summary.input else None) or (t[-1] if t else 0)
        view["curve"] = plots.angle_curve(t, series, duration) if series else ""
        return view


def create_app(data: str | Path, *, lan: bool = False, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
               workers: int = 1, run_jobs: bool = True) -> FastAPI:  # fmt: skip
    """The web app over the data folder ``data`` (created owner-only when missing).

    Parameters
    ----------
    lan : bool
        Served beyond this computer: every page and API call needs a login or token.
    max_upload_mb : float
        Largest clip accepted.
    workers : int
        Analyses run at the same time (1 on a 2-core computer).
    run_jobs : bool
        Start the job runner (tests of the pages alone may not).
    """
    data = Path(data).absolute()
    prepare_data(data)
    runner = Runner(data, workers) if run_jobs else None
    state = App(data, lan, max_upload_mb, runner)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if runner:
            runner.start()
        # The report's modules (matplotlib) load in the background, not on the first page.
        threading.Thread(target=engine.warm_up, name="kneevision-warm-up", daemon=True).start()
        try:
            yield
        finally:
            if runner:
                await run_in_threadpool(runner.stop)

    app = FastAPI(title="KneeVision", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip
    app.state.kv = state
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["fmt_s"] = lambda v: "–" if v is None else f"{v:.1f} s"
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # --- authentication, CSRF, headers ----------------------------------------------------

    @app.middleware("http")
    async def guard(request: Request, call_next):
        path = request.url.path
        request.state.user = None
        request.state.session = None
        request.state.bearer = False
        new_cookie = None
        auth = request.headers.get("authorization", "")
        db = state.db()  # this thread's (the event loop's): quick lookups by primary key
        if auth.lower().startswith("bearer "):
            user = security.token_user(db, auth[7:].strip())
            if user is None:
                return _secure(JSONResponse({"detail": "invalid token"}, 401))
            request.state.user, request.state.bearer = user, True
        else:
            token = request.cookies.get(security.SESSION_COOKIE)
            local = bool(token) and token.startswith(LOCAL_PREFIX)
            # Served locally a browser's cookie only anchors its CSRF token (nothing stored);
            # on the LAN such a cookie opens nothing.
            user = None if local else security.session_user(db, token)
            if user is not None:
                request.state.user, request.state.session = user, token
            elif not state.lan:
                request.state.user = LOCAL_USER
                if local:
                    request.state.session = token
                elif not path.startswith(("/api/", "/static/")):  # a browser: give it one
                    new_cookie = LOCAL_PREFIX + secrets.token_urlsafe(24)
                    request.state.session = new_cookie
        public = path.startswith("/static/") or path in ("/login", "/api/health")
        if request.state.user is None and not public:
            if path.startswith("/api/"):
                return _secure(JSONResponse({"detail": "login required"}, 401))
            return _secure(login_form(request, path, None, 401))
        if (request.method in ("POST", "PUT", "PATCH", "DELETE") and path.startswith("/api/")
                and not request.state.bearer):  # fmt: skip
            sent = request.headers.get("x-csrf-token")
            origin = request.headers.get("origin")
            cookie_sent = request.cookies.get(security.SESSION_COOKIE) is not None
            same_site = origin is None or _same_origin(origin, request)
            if cookie_sent or origin is not None:
                ok = security.csrf_ok(state.secret, request.state.session, sent) and same_site
            else:  # local software (curl, scripts) on this computer: no browser involved
                ok = not state.lan
            if not ok:
                return _secure(JSONResponse({"detail": "CSRF token missing or wrong"}, 403))
        response = await call_next(request)
        if new_cookie:
            _set_cookie(response, new_cookie)
        return _secure(response)

    def _ctx(request: Request, extra: dict | None = None) -> dict:
        session = getattr(request.state, "session", None)
        return {
            "user": getattr(request.state, "user", None),
            "csrf": security.csrf_token(state.secret, session) if session else "",
            "lan": state.lan,
            "max_upload_mb": state.max_bytes / 1e6,
            **(extra or {}),
        }

    def page(request: Request, name: str, extra: dict | None = None, status: int = 200):
        return templates.TemplateResponse(request, name, _ctx(request, extra), status)

    def check_csrf(request: Request, sent: str | None) -> None:
        if request.state.bearer:
            return
        if not security.csrf_ok(state.secret, request.state.session, sent):
            raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page")

    def who(request: Request) -> str:
        return request.state.user or "?"

    async def form_of(request: Request) -> dict:
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if request.url.path.startswith("/api/") or not getattr(request.state, "user", None):
            return _secure(JSONResponse({"detail": exc.detail}, exc.status_code))
        ctx = {"status": exc.status_code, "message": exc.detail}
        return _secure(page(request, "error.html", ctx, exc.status_code))

    # --- login --------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/"):
        return login_form(request, next, None, 200)

    def login_form(request: Request, next: str, error: str | None, status: int):
        """The login page; its CSRF token is tied to a pre-login cookie (``kv_pre``)."""
        pre = request.cookies.get("kv_pre") or secrets.token_urlsafe(24)
        request.state.session = request.state.session or pre
        if request.state.user is None:
            request.state.session = pre
        resp = page(request, "login.html", {"next": _local_path(next), "error": error}, status)
        if not request.cookies.get("kv_pre"):
            _set_cookie(resp, pre, "kv_pre", max_age=3600)
        return resp

    @app.post("/login")
    async def login(request: Request):
        f = await form_of(request)
        pre = request.cookies.get("kv_pre")
        if not security.csrf_ok(state.secret, pre, f.get("csrf")):
            raise HTTPException(403, "the login form's CSRF token is missing or wrong: reload")
        name = f.get("name", "")
        key = f"{request.client.host if request.client else '?'}|{name}"
        nxt = f.get("next", "/")
        if state.limiter.blocked(key):
            return login_form(request, nxt, "too many failed logins: wait five minutes", 429)
        password = f.get("password", "")
        ok = await run_in_threadpool(lambda: security.verify_login(state.db(), name, password))
        if not ok:
            state.limiter.fail(key)
            return login_form(request, nxt, "wrong name or password", 401)
        state.limiter.clear(key)
        token = security.new_session(state.db(), name)
        state.db().audit(name, "login")
        resp = RedirectResponse(_local_path(f.get("next", "/")), 303)
        _set_cookie(resp, token)
        resp.delete_cookie("kv_pre")
        return resp

    @app.post("/logout")
    async def logout(request: Request):
        f = await form_of(request)
        check_csrf(request, f.get("csrf"))
        security.end_session(state.db(), request.state.session)
        resp = RedirectResponse("/login" if state.lan else "/", 303)
        resp.delete_cookie(security.SESSION_COOKIE)
        return resp

    # --- JSON API -----------------------------------------------------------------------

    @app.get("/api/health")
    def health():
        return {"status": "ok"}

    @app.get("/api/patients")
    def api_patients(request: Request):
        db = state.db()
        names = {r["id"]: r for r in db.q("SELECT * FROM web_patients")}
        out = []
        for p in engine.patients(db.store):
            extra = names.get(p["id"], {})
            out.append({"patient_id": p["id"], "name": extra.get("name") or "",
                        "sessions": p["sessions"], "trials": p["trials"],
                        "last_session": p["last"]})  # fmt: skip
        return out

    @app.post("/api/patients", status_code=201)
    async def api_add_patient(request: Request):
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(400, 'send JSON: {"patient_id": ..., "name": ...}') from None
        if not isinstance(body, dict):
            raise HTTPException(400, "send a JSON object")
        pid = str(body.get("patient_id") or "")
        name = str(body.get("name") or "")
        created = await run_in_threadpool(_add_patient, pid, name, "", who(request))
        if not created:
            raise HTTPException(409, f"patient {pid} exists")
        return {"patient_id": pid, "name": name}

    def _add_patient(pid: str, name: str, notes: str, user: str) -> bool:
        if not PATIENT_ID.match(pid):
            raise HTTPException(422, "a patient id is 1-64 letters, digits, '.', '_' or '-' "
                                "(no names: the id is shown in addresses)")  # fmt: skip
        db = state.db()
        created = engine.add_patient(db.store, pid)
        if created:
            db.conn.execute("INSERT OR REPLACE INTO web_patients (id, name, notes, updated) "
                            "VALUES (?,?,?,?)", (pid, name[:200], notes[:5000], now()))  # fmt: skip
            db.audit(user, "create patient", pid)
        return created

    @app.get("/api/patients/{pid}")
    def api_patient(request: Request, pid: str):
        p = state.patient(pid)
        state.db().audit(who(request), "view patient (API)", pid)
        return {"patient_id": p["id"], "name": p["name"], "notes": p["notes"],
                "created": p["created"]}  # fmt: skip

    @app.delete("/api/patients/{pid}")
    def api_delete_patient(request: Request, pid: str):
        state.patient(pid)
        state.delete_patient(pid, who(request))
        return {"patient_id": pid, "deleted": True}

    @app.get("/api/patients/{pid}/trials")
    def api_patient_trials(request: Request, pid: str):
        state.patient(pid)
        state.adopt(pid)
        db = state.db()
        db.audit(who(request), "list trials (API)", pid)
        jobs = db.q("SELECT * FROM web_jobs WHERE patient_id = ? ORDER BY session_date, id",
                    (pid,))  # fmt: skip
        return [job_json(j) for j in jobs]

    @app.post("/api/trials", status_code=202)
    async def api_add_trial(request: Request):
        ids = await _receive_trials(request)
        return {"id": ids[0], "status": "queued", "ids": ids}

    async def _receive_trials(request: Request) -> list[int]:
        """Stream the clips to disk, check the fields, queue one job per clip."""
        try:
            form = await receive(request, state.data / UPLOADS, state.max_bytes)
        except UploadError as exc:
            raise HTTPException(exc.status, exc.message) from None
        try:
            if not form.files:
                raise HTTPException(400, "no clip: choose a video file")
            return await run_in_threadpool(_queue, form, who(request))
        finally:
            form.discard()  # whatever was not moved into uploads/

    def _queue(form, user: str) -> list[int]:
        f = form.fields
        pid = f.get("patient_id", "").strip()
        if not PATIENT_ID.match(pid):
            raise HTTPException(422, "choose a patient")
        state.patient(pid)
        protocol = (f.get("protocol") or "auto").strip()
        if protocol not in engine.protocol_choices():
            raise HTTPException(422, f"unknown protocol {protocol!r}")
        side = (f.get("side") or "").strip() or None
        if side not in (None, "left", "right"):
            raise HTTPException(422, "side is left, right or empty")
        date = (f.get("session_date") or "").strip() or dt.date.today().isoformat()
        if not DATE.match(date):
            raise HTTPException(422, "the session date is YYYY-MM-DD")
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            raise HTTPException(422, f"{date} is not a date") from None
        notes = (f.get("notes") or "")[:5000] or None
        db = state.db()
        settings = db.analysis_settings()
        folder = state.upload_dir(pid)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        ids = []
        for up in list(form.files):
            stem = re.sub(r"[^\w-]+", "_", Path(up.filename).stem)[:40].strip("_") or "clip"
            final = folder / f"{date}_{stem}_{secrets.token_hex(3)}{SUFFIX[up.kind]}"
            os.replace(up.path, final)
            form.files.remove(up)
            cur = db.conn.execute(
                "INSERT INTO web_jobs (patient_id, session_date, path, filename, protocol, side, "
                "notes, settings, status, created, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (pid, date, str(final), up.filename, None if protocol == "auto" else protocol,
                 side, notes, json.dumps(settings), "queued", now(), user),
            )  # fmt: skip
            ids.append(int(cur.lastrowid))
            db.audit(user, "upload trial", pid, f"trial {cur.lastrowid}: {up.filename}")
        if state.runner:
            state.runner.wake()
        return ids

    @app.get("/api/trials/{job_id}")
    def api_trial(request: Request, job_id: int):
        job = state.job(job_id)
        folder = state.trial_folder(job) if job["status"] == "done" else None
        summary = engine.read_summary(folder) if folder else None
        state.db().audit(who(request), "view trial (API)", job["patient_id"], f"trial {job_id}")
        return job_json(job, summary, full=True)

    @app.post("/api/trials/{job_id}/cancel")
    def api_cancel(request: Request, job_id: int):
        job = _cancel(job_id, who(request))
        return job_json(job)

    def _cancel(job_id: int, user: str) -> dict:
        job = state.job(job_id)
        if job["status"] in ("queued", "running"):
            state.db().conn.execute(
                "UPDATE web_jobs SET status = 'cancelled', finished = ? WHERE id = ? "
                "AND status IN ('queued', 'running')", (now(), job_id))  # fmt: skip
            if state.runner:
                state.runner.cancel(job_id)
            if state._inside(job["path"]):
                Path(job["path"]).unlink(missing_ok=True)  # nothing kept of a cancelled trial
            state.db().audit(user, "cancel trial", job["patient_id"], f"trial {job_id}")
        return state.job(job_id)

    @app.get("/api/queue")
    def api_queue():
        return [job_json(j) for j in _queue_rows()]

    def _queue_rows() -> list[dict]:
        return state.db().q(
            "SELECT * FROM web_jobs WHERE status IN ('queued', 'running') OR id IN "
            "(SELECT id FROM web_jobs WHERE status NOT IN ('queued', 'running') "
            "AND created_by IS NOT NULL ORDER BY id DESC LIMIT 20) ORDER BY id"
        )

    @app.get("/api/queue/events")
    async def queue_events(request: Request):
        async def stream():
            last = None
            for tick in range(1200):  # ten minutes; the browser reconnects
                if await request.is_disconnected():
                    break
                rows = await run_in_threadpool(_queue_rows)
                body = json.dumps([job_json(j) for j in rows])
                if body != last:
                    last = body
                    yield f"data: {body}\n\n"
                elif tick % 30 == 0:
                    yield ": keep-alive\n\n"
                await asyncio.sleep(0.5)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})  # fmt: skip

    @app.get("/api/settings")
    def api_settings():
        return state.db().analysis_settings()

    @app.put("/api/settings")
    async def api_put_settings(request: Request):
        body = await request.json()
        try:
            return await run_in_threadpool(_save_settings, body, who(request))
        except KneeVisionError as exc:
            raise HTTPException(422, str(exc)) from None

    def _save_settings(values: dict, user: str) -> dict:
        db = state.db()
        merged = {**db.analysis_settings(), **values}
        engine.check_exports(merged)  # a format this installation cannot write is refused
        out = db.set_analysis_settings(merged)
        db.audit(user, "change settings", None, json.dumps(values)[:500])
        return out

    # --- pages --------------------------------------------------------------------------

    @app.get("/")
    def home():
        return RedirectResponse("/patients", 303)

    @app.get("/patients", response_class=HTMLResponse)
    def patients_page(request: Request, q: str = ""):
        rows = api_patients(request)
        if q:
            ql = q.lower()
            rows = [r for r in rows if ql in r["patient_id"].lower() or ql in r["name"].lower()]
        return page(request, "patients.html", {"patients": rows, "q": q, "error": None})

    @app.post("/patients")
    async def add_patient_form(request: Request):
        f = await form_of(request)
        check_csrf(request, f.get("csrf"))
        pid = f.get("patient_id", "").strip()
        try:
            created = await run_in_threadpool(_add_patient, pid, f.get("name", "").strip(),
                                              f.get("notes", "").strip(), who(request))  # fmt: skip
        except HTTPException as exc:
            return page(request, "patients.html", {"patients": api_patients(request), "q": "",
                        "error": exc.detail}, 422)  # fmt: skip
        if not created:
            return page(request, "patients.html", {"patients": api_patients(request), "q": "",
                        "error": f"patient {pid} exists already"}, 409)  # fmt: skip
        return RedirectResponse(f"/patients/{pid}", 303)

    @app.get("/patients/{pid}", response_class=HTMLResponse)
    def patient_page(request: Request, pid: str):
        p = state.patient(pid)
        state.adopt(pid)
        db = state.db()
        db.audit(who(request), "view patient", pid)
        jobs = db.q("SELECT * FROM web_jobs WHERE patient_id = ? ORDER BY session_date DESC, id",
                    (pid,))  # fmt: skip
        sessions: dict[str, list[dict]] = {}
        for j in jobs:
            j["api_status"] = api_status(j)
            sessions.setdefault(j["session_date"], []).append(j)
        trends = []
        for metric, points in engine.history(db.store, pid).items():
            svg = plots.trend(points, engine.label(metric))
            if svg:
                bilateral = all(pt["side"] == "both" for pt in points)
                trends.append({"metric": metric, "svg": svg, "order": (bilateral, metric)})
        trends.sort(key=lambda t: t["order"])  # left against right first
        done = sorted(
            (j for j in jobs if j["status"] == "done"), key=lambda j: (j["session_date"], j["id"])
        )  # before, then after
        return page(request, "patient.html", {"p": p, "sessions": sessions, "trends": trends,
                                              "done": done})  # fmt: skip

    @app.post("/patients/{pid}/edit")
    async def edit_patient(request: Request, pid: str):
        f = await form_of(request)
        check_csrf(request, f.get("csrf"))
        state.patient(pid)
        db = state.db()
        db.conn.execute(
            "INSERT INTO web_patients (id, name, notes, updated) VALUES (?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET name = excluded.name, notes = excluded.notes, "
            "updated = excluded.updated",
            (pid, f.get("name", "").strip()[:200], f.get("notes", "").strip()[:5000], now()),
        )
        db.audit(who(request), "edit patient", pid)
        return RedirectResponse(f"/patients/{pid}", 303)

    @app.post("/patients/{pid}/delete")
    async def delete_patient_form(request: Request, pid: str):
        f = await form_of(request)
        check_csrf(request, f.get("csrf"))
        state.patient(pid)
        if f.get("confirm", "").strip() != pid:
            raise HTTPException(400, f"type the patient id {pid} to confirm the deletion")
        await run_in_threadpool(state.delete_patient, pid, who(request))
        return RedirectResponse("/patients", 303)

    @app.get("/patients/{pid}/export")
    def export_patient(request: Request, pid: str):
        p = state.patient(pid)
        state.adopt(pid)
        db = state.db()
        fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".zip", dir=state.data)
        os.close(fd)
        jobs = db.q("SELECT * FROM web_jobs WHERE patient_id = ? ORDER BY id", (pid,))
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            record = {"patient": p, "trials": []}
            for j in jobs:
                folder = state.trial_folder(j)
                summary = engine.read_summary(folder) if folder else None
                record["trials"].append(job_json(j, summary, full=True))
                base = f"trial-{j['id']}"
                if Path(j["path"]).is_file():
                    z.write(j["path"], f"{base}/clip{Path(j['path']).suffix}")
                if folder:
                    for f in sorted(folder.iterdir()):
                        if f.is_file():
                            z.write(f, f"{base}/{f.name}")
            z.writestr("patient.json", json.dumps(record, indent=2, default=str))
        db.audit(who(request), "export patient", pid)
        return FileResponse(tmp, media_type="application/zip",
                            filename=f"kneevision-{pid}.zip",
                            background=BackgroundTask(os.unlink, tmp))  # fmt: skip

    @app.get("/trials/new", response_class=HTMLResponse)
    def new_trial_page(request: Request, patient: str = ""):
        return page(request, "new_trial.html", _new_trial_ctx(request, patient, None))

    def _new_trial_ctx(request: Request, patient: str, error: str | None) -> dict:
        return {"patients": api_patients(request), "chosen": patient, "error": error,
                "protocols": engine.protocol_choices(), "today": dt.date.today().isoformat(),
                "accept": ",".join(["video/*", *engine.video_suffixes()])}  # fmt: skip

    @app.post("/trials/new")
    async def new_trial(request: Request):
        q = request.query_params.get("csrf")
        session = request.state.session
        if not request.state.bearer and not security.csrf_ok(state.secret, session, q):
            await _drain(request)
            raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page")
        try:
            ids = await _receive_trials(request)
        except HTTPException as exc:
            ctx = _new_trial_ctx(request, "", exc.detail)
            return page(request, "new_trial.html", ctx, exc.status_code)
        return RedirectResponse("/queue?new=" + ",".join(map(str, ids)), 303)

    @app.get("/queue", response_class=HTMLResponse)
    def queue_page(request: Request):
        rows = [job_json(j) for j in _queue_rows()]
        return page(request, "queue.html", {"jobs": rows})

    @app.post("/trials/{job_id}/cancel")
    async def cancel_form(request: Request, job_id: int):
        f = await form_of(request)
        check_csrf(request, f.get("csrf"))
        await run_in_threadpool(_cancel, job_id, who(request))
        return RedirectResponse("/queue", 303)

    @app.get("/trials/{job_id}", response_class=HTMLResponse)
    def trial_page(request: Request, job_id: int):
        job = state.job(job_id)
        state.db().audit(who(request), "view trial", job["patient_id"], f"trial {job_id}")
        view = state.trial_view(job)
        return page(request, "trial.html", {"v": view, "p": state.patient(job["patient_id"])})

    @app.get("/trials/{job_id}/files/{name}")
    def trial_file(request: Request, job_id: int, name: str):
        return _file(request, job_id, name, attach=False)

    DOWNLOADS = {"pdf": "report.pdf", "csv": "reps.csv", "angles": "angles.csv",
                 "json": "summary.json", **engine.EXPORT_FILES}  # fmt: skip

    @app.get("/trials/{job_id}/download/{kind}")
    def trial_download(request: Request, job_id: int, kind: str):
        if kind not in DOWNLOADS:
            raise HTTPException(404, "no such download")
        return _file(request, job_id, DOWNLOADS[kind], attach=True)

    def _file(request: Request, job_id: int, name: str, attach: bool):
        if name not in engine.SERVED_FILES:
            raise HTTPException(404, "no such file")
        job = state.job(job_id)
        folder = state.trial_folder(job)
        if folder is None or not (folder / name).is_file():
            raise HTTPException(404, "no such file")
        if attach:
            state.db().audit(who(request), f"download {name}", job["patient_id"], f"trial {job_id}")
        filename = f"{job['patient_id']}_{job['session_date']}_trial{job_id}_{name}"
        return FileResponse(
            folder / name,
            media_type=engine.SERVED_FILES[name],
            filename=filename if attach else None,
            content_disposition_type="attachment" if attach else "inline",
        )

    @app.get("/compare", response_class=HTMLResponse)
    def compare_page(request: Request, a: int, b: int):
        ja, jb = state.job(a), state.job(b)
        va, vb = state.trial_view(ja), state.trial_view(jb)
        for j in (ja, jb):
            state.db().audit(who(request), "compare trials", j["patient_id"], f"trials {a}, {b}")
        rows = _compare_rows(va, vb)
        return page(request, "compare.html", {"a": va, "b": vb, "rows": rows})

    def _compare_rows(va: dict, vb: dict) -> list[dict]:
        out: dict[str, dict] = {}
        for key, v in (("a", va), ("b", vb)):
            for r in v.get("rows", []):
                row = out.setdefault(r["metric"], {"metric": r["metric"], "label": r["label"]})
                row[f"{key}_left"], row[f"{key}_right"] = r["left_text"], r["right_text"]
                row[f"{key}_raw"] = (r["left"], r["right"])
        for row in out.values():
            ra, rb = row.get("a_raw"), row.get("b_raw")
            diffs = []
            for k, side in enumerate(("left", "right")):
                if ra and rb and ra[k] is not None and rb[k] is not None:
                    diffs.append(f"{side} {rb[k] - ra[k]:+.1f}")
            row["change"] = ", ".join(diffs)
        return list(out.values())

    @app.get("/settings", response_class=HTMLResponse)
    def settings_page(request: Request, saved: int = 0):
        db = state.db()
        audit = db.q("SELECT * FROM web_audit ORDER BY id DESC LIMIT 50")
        return page(request, "settings.html", {"fields": engine.settings_fields(),
                    "values": db.analysis_settings(), "saved": saved, "error": None,
                    "audit": audit, "users": db.users()})  # fmt: skip

    @app.post("/settings")
    async def save_settings_form(request: Request):
        f = await form_of(request)
        check_csrf(request, f.get("csrf"))
        form = await request.form()  # read once: the same form, its repeated names kept
        values: dict[str, Any] = {}
        for field in engine.settings_fields():
            name = field["name"]
            if field["kind"] == "bool":
                values[name] = f.get(name) == "on"
            elif field["kind"] == "multi":  # one checkbox per choice, all named ``name``
                values[name] = [v for v in form.getlist(name) if isinstance(v, str)]
            elif name in f:
                values[name] = f[name].strip()
                if field["kind"] == "number":
                    kind = int if isinstance(field["default"], int) else float
                    try:
                        values[name] = kind(values[name])
                    except ValueError:
                        pass  # refused below, with the setting's name
        try:
            await run_in_threadpool(_save_settings, values, who(request))
        except KneeVisionError as exc:
            db = state.db()
            return page(request, "settings.html", {"fields": engine.settings_fields(),
                        "values": {**db.analysis_settings(), **values}, "saved": 0,
                        "error": str(exc), "audit": [], "users": db.users()}, 422)  # fmt: skip
        return RedirectResponse("/settings?saved=1", 303)

    return app


async def _drain(request: Request) -> None:
    """Read and drop the rest of a refused body, so the browser sees the answer."""
    try:
        while True:
            message = await request.receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                break
    except Exception:
        pass


def _local_path(path: str) -> str:
    return path if path.startswith("/") and not path.startswith("//") else "/"


def _same_origin(origin: str, request: Request) -> bool:
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def _set_cookie(response: Response, value: str, name: str = security.SESSION_COOKIE,
                max_age: int = security.SESSION_DAYS * 86400) -> None:  # fmt: skip
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", path="/")


def _secure(response: Response) -> Response:
    h = response.headers
    h["Content-Security-Policy"] = CSP
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"
    h["X-Frame-Options"] = "DENY"
    h.setdefault("Cache-Control", "no-store")
    return response


def prepare_data(data: Path) -> None:
    """The data folder, owner-only (0700; its files 0600), with the database created."""
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    data.chmod(0o700)
    for sub in (UPLOADS, RESULTS):
        (data / sub).mkdir(exist_ok=True, mode=0o700)
    with WebDB(data):
        pass
    for path in data.rglob("*"):  # what an older run or a batch wrote wider
        if not path.is_symlink():
            path.chmod(0o700 if path.is_dir() else 0o600)
    for leftover in (data / UPLOADS).rglob(".upload-*.part"):
        leftover.unlink(missing_ok=True)
    for leftover in data.glob(".export-*.zip"):
        leftover.unlink(missing_ok=True)
