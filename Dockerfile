# shipbot: one image for `shipbot serve` and `shipbot migrate` (Kubernetes manifests in deploy/kubernetes).
FROM python:3.11-slim

# PYTHONPATH puts the source first, so templates/ beside bot/ are found as in a checkout.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PORT=8080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY templates ./templates
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin shipbot

USER 10001
EXPOSE 8080
CMD ["shipbot", "serve"]
