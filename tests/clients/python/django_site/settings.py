import dj_database_url

SECRET_KEY = "client-library-test-only"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
# DATABASE_URL exactly as the environment has it (dj-database-url maps its scheme to a backend).
DATABASES = {"default": dj_database_url.config(env="DATABASE_URL")}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
