#!/usr/bin/env bash
# Starts RabbitMQ and PostgreSQL when they are installed here but not running, and waits
# until they answer. Tests that need them skip on a laptop without them, and fail when
# CI=true.
#
# RabbitMQ's boot can take minutes (it reloads every durable queue it holds): the wait is
# long, and a broker already booting is waited for, never started a second time.
set -u
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {  # port seconds
  for _ in $(seq 1 "$2"); do port_open "$1" && return 0; sleep 1; done
  return 1
}
if ! port_open 5672 && command -v rabbitmq-server >/dev/null 2>&1; then
  if ! pgrep -f 'beam.*rabbit' >/dev/null 2>&1; then
    rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
  wait_port 5672 600 || echo "ensure-services: RabbitMQ did not open 127.0.0.1:5672" >&2
fi
if ! port_open 5432 && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
  wait_port 5432 60 || echo "ensure-services: PostgreSQL did not open 127.0.0.1:5432" >&2
fi
exit 0
