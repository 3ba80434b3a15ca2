# Slim production image: `docker run -e DATABASE_URL=… -e IYS_USERNAME=… -e IYS_PASSWORD=…
#   -v /etc/iys-inbound.toml:/app/iys-inbound.toml iys-inbound`
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY inbound inbound
COPY keywords keywords
COPY smpp_bind smpp_bind
COPY iys_push iys_push
COPY migrations migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 iys
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
# the migrations are read from the source tree next to the package
COPY migrations /app/migrations
USER iys
ENV PYTHONUNBUFFERED=1 IYS_INBOUND_MIGRATIONS_DIR=/app/migrations
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz')" || exit 1
ENTRYPOINT ["iys-inbound"]
CMD ["run"]
