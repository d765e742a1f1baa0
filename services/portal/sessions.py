"""Server-side sessions: the browser holds only a random id; tokens and state stay on the server.

One JSON file per session under the data directory, so every gunicorn worker sees the same sessions.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from portal.config import new_secret

COOKIE = "kinerja_portal"


class ServerSession(CallbackDict, SessionMixin):
    """A session's data, remembering whether it changed."""

    def __init__(self, initial=None, sid: str | None = None, new: bool = False):
        def changed(_):
            self.modified = True
        super().__init__(initial, changed)
        self.sid, self.new, self.modified = sid, new, False


class FileSessions(SessionInterface):
    """Sessions kept as files in `directory`, expiring after `max_age_s` without use."""

    def __init__(self, directory: Path, max_age_s: float, secure: bool):
        self.directory, self.max_age_s, self.secure = Path(directory), max_age_s, secure
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, sid: str) -> Path:
        return self.directory / hashlib.sha256(sid.encode()).hexdigest()

    def open_session(self, app, request):
        """The request's session, or a new empty one."""
        sid = request.cookies.get(COOKIE)
        if sid:
            path = self._path(sid)
            try:
                if time.time() - path.stat().st_mtime < self.max_age_s:
                    return ServerSession(json.loads(path.read_text()), sid)
            except (OSError, ValueError):
                pass
        return ServerSession(sid=new_secret(), new=True)

    def save_session(self, app, session: ServerSession, response):
        """Write a changed session and set its cookie; an emptied session is deleted."""
        path = self._path(session.sid)
        if not session:
            if not session.new:
                path.unlink(missing_ok=True)
                response.delete_cookie(COOKIE, path="/")
            return
        if session.modified or session.new:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(dict(session)))
            os.chmod(tmp, 0o600)
            tmp.replace(path)
        else:
            os.utime(path)
        response.set_cookie(COOKIE, session.sid, httponly=True, samesite="Lax", secure=self.secure, path="/",
                            max_age=int(self.max_age_s))

    def rotate(self, session: ServerSession) -> None:
        """Give the session a new id (on sign-in, so an id known before it is worthless after)."""
        self._path(session.sid).unlink(missing_ok=True)
        session.sid, session.modified = new_secret(), True
