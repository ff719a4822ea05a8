"""SQLAlchemy on PostgreSQL with psycopg 3 or psycopg2, from DATABASE_URL.

    sqlalchemy_pg.py psycopg|psycopg2 TOKEN

Dockhand's DATABASE_URL uses `postgresql://`, which SQLAlchemy takes as is with psycopg2 (its
default PostgreSQL driver); SQLAlchemy (1.4 and later) refuses `postgres://` (it names no
dialect). The schemes it takes are measured below; the round trip uses the URL as handed out for
psycopg2, and the manual's one change for psycopg 3: `postgresql://` -> `postgresql+psycopg://`.
"""
import sys

from sqlalchemy import create_engine, text

from common import env, try_schemes, with_scheme

driver, token = sys.argv[1], sys.argv[2]
url = env("DATABASE_URL")


def connect(u):
    engine = create_engine(u)
    with engine.connect() as c:
        c.execute(text("SELECT 1"))
    engine.dispose()


dialect = "postgresql+psycopg" if driver == "psycopg" else "postgresql+psycopg2"
try_schemes(url, ["postgres", "postgresql", dialect], connect)
engine = create_engine(with_scheme(url, "postgresql+psycopg") if driver == "psycopg" else url)
name = f"sqlalchemy-{driver}"
with engine.begin() as c:
    c.execute(text("CREATE TABLE IF NOT EXISTS client_rows (client text, token text)"))
    c.execute(text("INSERT INTO client_rows VALUES (:c, :t)"), {"c": name, "t": token})
with engine.connect() as c:
    got = c.execute(text("SELECT token FROM client_rows WHERE client = :c"), {"c": name}).scalar_one()
    print(f"READ {got}")
