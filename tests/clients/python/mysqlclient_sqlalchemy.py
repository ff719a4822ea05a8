"""mysqlclient (MySQLdb, the C extension Django's MySQL backend and SQLAlchemy's plain `mysql://`
use), from MYSQL_URL (or DATABASE_URL when MySQL/MariaDB is the main database).

    /usr/bin/python3 mysqlclient_sqlalchemy.py VARIABLE TOKEN

Run with Debian's python3, python3-mysqldb (mysqlclient built on MariaDB Connector/C) and
python3-sqlalchemy: mysqlclient has no wheel on PyPI for Linux (it compiles against the C client),
so this is how most Linux users get it.
"""
import sys

import MySQLdb
from sqlalchemy import create_engine, text

from common import env, try_schemes

var, token = sys.argv[1], sys.argv[2]
url = env(var)


def connect(u):
    engine = create_engine(u)
    with engine.connect() as c:
        c.execute(text("SELECT 1"))
    engine.dispose()


try_schemes(url, ["mysql", "mysql+mysqldb"], connect)
engine = create_engine(url)
with engine.begin() as c:
    assert c.connection.dbapi_connection.__class__.__module__.startswith("MySQLdb"), "not mysqlclient"
    c.execute(text("CREATE TABLE IF NOT EXISTS client_rows (client varchar(64), token varchar(64))"))
    c.execute(text("INSERT INTO client_rows VALUES ('mysqlclient', :t)"), {"t": token})
with engine.connect() as c:
    got = c.execute(text("SELECT token FROM client_rows WHERE client = 'mysqlclient'")).scalar_one()
    print(f"READ {got}")
