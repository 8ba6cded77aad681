# Slim image: the bot, its shipped content and nothing else.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BOT_DATA_DIR=/data \
    BOT_HTTP_LISTEN=127.0.0.1:8080

# A fixed uid so the data volume's owner is stable across rebuilds.
RUN useradd --create-home --uid 10001 --user-group bot \
    && mkdir /data && chown bot:bot /data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY content ./content
RUN pip install . && rm -rf /src

USER bot
WORKDIR /home/bot
# Sessions, the generated secret and the Matrix device keys live here: keep them across restarts.
VOLUME ["/data"]
# Only used in Telegram webhook mode (TELEGRAM_MODE=webhook).
EXPOSE 8443
STOPSIGNAL SIGTERM
# /healthz is 200 once the content is loaded and every configured platform is connected. The
# slim image has no curl: python asks 127.0.0.1 on BOT_HTTP_LISTEN's port (keep the listener
# on 127.0.0.1 or 0.0.0.0); a 503 or no answer fails the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; port = os.environ['BOT_HTTP_LISTEN'].rpartition(':')[2]; r.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
CMD ["python", "-m", "bot", "run"]
