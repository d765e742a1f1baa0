"""The one way to commit: a unit of work is one transaction, kept whole or not at all.

- An HTTP view that changes anything is `@transactional`: the request's session (`runtime.web.db()`) commits
  when the view returns; when it raises, nothing is committed (the request's teardown rolls back).
- A consumer, job or command opens `with unit_of_work(sessions) as session:`: committed when the block ends,
  rolled back when it raises. (The event consumer does this for every poll, with its inbox rows.)

Handlers never commit: they change the session they are given and leave the boundary to these two.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Iterator

from flask import g
from sqlalchemy.orm import Session, sessionmaker


def transactional(view):
    """Commit the request's session when `view` returns (nothing is committed if it raises)."""
    @functools.wraps(view)
    def run(*args, **kwargs):
        result = view(*args, **kwargs)
        session = g.get("db")
        if session is not None:
            session.commit()
        return result
    return run


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back if it raises, then closed."""
    with sessions() as session, session.begin():
        yield session
