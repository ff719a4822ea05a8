"""psycopg 3 on its own: DATABASE_URL as-is, and the libpq variables (PGHOST…PGDATABASE) with an
empty connection string, as `psql` reads them.

    psycopg_direct.py TOKEN
"""
import sys

import psycopg

from common import env, try_schemes

token = sys.argv[1]
url = env("DATABASE_URL")
try_schemes(url, ["postgres", "postgresql"], lambda u: psycopg.connect(u).close())
with psycopg.connect(url) as c:
    c.execute("CREATE TABLE IF NOT EXISTS client_rows (client text, token text)")
    c.execute("INSERT INTO client_rows VALUES ('psycopg', %s)", (token,))
# Only the PG* variables: libpq reads them when the string names nothing.
with psycopg.connect("") as c:
    got = c.execute("SELECT token FROM client_rows WHERE client = 'psycopg'").fetchone()[0]
    print(f"READ {got}")
