#!/usr/bin/env python3
"""A minimal Django site whose only database setting is dj-database-url reading DATABASE_URL, as
Django deployment guides write it. `manage.py migrate` creates Django's own tables there."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
