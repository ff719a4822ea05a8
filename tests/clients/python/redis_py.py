"""redis-py from REDIS_URL as-is (user and password in it), writing under REDIS_KEY_PREFIX.

    redis_py.py TOKEN
"""
import sys

import redis

from common import env, try_schemes

token = sys.argv[1]
url = env("REDIS_URL")
prefix = env("REDIS_KEY_PREFIX")
try_schemes(url, ["redis"], lambda u: redis.Redis.from_url(u).ping())
r = redis.Redis.from_url(url, decode_responses=True)
r.set(f"{prefix}clients:redis-py", token)
print(f"READ {r.get(prefix + 'clients:redis-py')}")
