"""PyMySQL through SQLAlchemy, from MYSQL_URL (or DATABASE_URL when MariaDB is the main database).

    pymysql_sqlalchemy.py VARIABLE TOKEN

SQLAlchemy reads `mysql://` as MySQL with its default driver, mysqlclient (MySQLdb), a C
extension; with PyMySQL the scheme must name it: `mysql+pymysql://` (measured below).
"""
import sys

from sqlalchemy import create_engine, text

from common import env, try_schemes, with_scheme

var, token = sys.argv[1], sys.argv[2]
url = env(var)


def connect(u):
    engine = create_engine(u)
    with engine.connect() as c:
        c.execute(text("SELECT 1"))
    engine.dispose()


try_schemes(url, ["mysql", "mariadb", "mysql+pymysql", "mariadb+pymysql"], connect)
engine = create_engine(with_scheme(url, "mysql+pymysql"))
with engine.begin() as c:
    c.execute(text("CREATE TABLE IF NOT EXISTS client_rows (client varchar(64), token varchar(64))"))
    c.execute(text("INSERT INTO client_rows VALUES ('pymysql', :t)"), {"t": token})
with engine.connect() as c:
    got = c.execute(text("SELECT token FROM client_rows WHERE client = 'pymysql'")).scalar_one()
    print(f"READ {got}")
