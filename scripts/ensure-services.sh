#!/usr/bin/env bash
# Installs the Debian programs the test suite talks to (real peers: Prometheus, Alertmanager,
# node exporter, the Mosquitto clients, Chromium) when they are missing, and starts the local
# services when they are installed but down. Used by `npm test` (pretest), so `.ci/run` and a
# fresh machine need nothing else; does nothing when everything is already there and up.
set -uo pipefail

apt_packages=()
command -v prometheus >/dev/null || apt_packages+=(prometheus)
command -v promtool >/dev/null || apt_packages+=(prometheus)
command -v prometheus-alertmanager >/dev/null || apt_packages+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null || apt_packages+=(prometheus-node-exporter)
command -v mosquitto_pub >/dev/null || apt_packages+=(mosquitto-clients)
command -v chromium >/dev/null || apt_packages+=(chromium)
if [ "${#apt_packages[@]}" -gt 0 ]; then
  echo "installing ${apt_packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${apt_packages[@]}" >/dev/null ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${apt_packages[@]}" >/dev/null; } ||
    echo "could not install ${apt_packages[*]}: the tests that need them will fail" >&2
fi

if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

port_open() { (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if command -v mosquitto >/dev/null && ! port_open 1883; then
  echo "starting Mosquitto" >&2
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
fi
if [ -x /usr/sbin/nats-server ] && ! port_open 4222; then
  echo "starting NATS" >&2
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server
fi
exit 0
