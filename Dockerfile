# Slim image: the bot, its shipped content and nothing else.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BOT_DATA_DIR=/data

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
CMD ["python", "-m", "bot", "run"]
