#!/usr/bin/env bash
# Serve caseflow as in production: gunicorn (sync workers, loopback only) behind a private nginx
# that buffers whole requests, so slow clients never hold a worker (deploy/nginx-site.conf).
#   CASEFLOW_PORT (8000)      where nginx listens
#   CASEFLOW_WORKERS (2)      gunicorn sync workers
#   CASEFLOW_RUN_DIR (instance/run)  nginx's config, pid, logs and temporary files
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${CASEFLOW_PORT:-8000}
LISTEN=${CASEFLOW_LISTEN:-127.0.0.1:$PORT}
WORKERS=${CASEFLOW_WORKERS:-2}
RUN=$(mkdir -p "${CASEFLOW_RUN_DIR:-instance/run}" && cd "${CASEFLOW_RUN_DIR:-instance/run}" && pwd)
APP_PORT=${CASEFLOW_APP_PORT:-$((PORT + 1))}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx is not installed (apt-get install nginx-light)" >&2; exit 1; }

mkdir -p "$RUN/tmp"
{
  [ "$(id -u)" -eq 0 ] && echo "user root;"  # a private nginx: its workers need the run directory
  cat <<CONF
worker_processes 1;
pid $RUN/nginx.pid;
error_log $RUN/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log $RUN/nginx-access.log;
    client_body_temp_path $RUN/tmp/body;
    proxy_temp_path $RUN/tmp/proxy;
    fastcgi_temp_path $RUN/tmp/fastcgi;
    uwsgi_temp_path $RUN/tmp/uwsgi;
    scgi_temp_path $RUN/tmp/scgi;
CONF
  sed -e "s|@UPSTREAM@|127.0.0.1:$APP_PORT|" -e "s|@LISTEN@|$LISTEN|" deploy/nginx-site.conf
  echo "}"
} > "$RUN/nginx.conf"
"$NGINX" -t -q -c "$RUN/nginx.conf" -e "$RUN/nginx-error.log"

.venv/bin/gunicorn --workers "$WORKERS" --bind "127.0.0.1:$APP_PORT" --timeout 120 --control-socket "$RUN/gunicorn.ctl" wsgi:app &
app_pid=$!
"$NGINX" -c "$RUN/nginx.conf" -e "$RUN/nginx-error.log" -g "daemon off;" &
nginx_pid=$!
trap 'kill -TERM $app_pid $nginx_pid 2>/dev/null; wait' INT TERM EXIT
echo "caseflow on http://$LISTEN (nginx) -> gunicorn 127.0.0.1:$APP_PORT ($WORKERS workers)"
wait -n $app_pid $nginx_pid
