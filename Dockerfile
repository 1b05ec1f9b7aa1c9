# The production image: web (gunicorn), worker and beat all run from it (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A user of its own: the processes never run as root. var/ holds media (a volume in compose).
RUN groupadd --system smarketing \
    && useradd --system --gid smarketing --home-dir /app --no-create-home smarketing \
    && mkdir -p /app/var/media /app/staticfiles \
    && chown -R smarketing:smarketing /app
WORKDIR /app

# Dependencies before the code, so a code change reuses this layer. Every pin ships a wheel.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=smarketing:smarketing . .
USER smarketing

# Static files are built into the image. With DEBUG off settings refuse a missing or weak key,
# so a random throwaway one lets them load; the real SECRET_KEY comes from the environment at run time.
RUN DEBUG=0 SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" python manage.py collectstatic --noinput

EXPOSE 8000
CMD ["gunicorn", "smarketing.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
