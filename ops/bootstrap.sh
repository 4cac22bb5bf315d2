#!/usr/bin/env bash
# Makes a machine ready to run Quay and its tests: the Debian packages Quay starts locally
# (Postgres and Redis servers; Prometheus and promtool for the ops tests) and the npm dependencies. Quick and
# quiet when nothing is missing. Both README commands and CI start with it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DEBIAN_FRONTEND=noninteractive
started_at=$SECONDS
section() { printf '==== bootstrap: %s [%ss] ====\n' "$*" "$((SECONDS - started_at))"; }

sudo_cmd=()
if [[ $EUID -ne 0 ]]; then sudo_cmd=(sudo -n); fi

have_postgres_server() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x $dir/initdb && -x $dir/postgres ]] && return 0
  done
  return 1
}

apt_updated=0
apt_install() {
  if ((apt_updated == 0)); then
    "${sudo_cmd[@]}" apt-get update -qq
    apt_updated=1
  fi
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

# Debian's service packages try to start their daemon on install. A policy-rc.d that answers 101
# forbids it; we add one only for the install, unless the machine already has one.
policy_rc=/usr/sbin/policy-rc.d
added_policy=0
forbid_service_starts() {
  if [[ ! -e $policy_rc ]]; then
    printf '#!/bin/sh\n# added by .ci/run for the length of an apt-get install\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy_rc" >/dev/null
    "${sudo_cmd[@]}" chmod 755 "$policy_rc"
    added_policy=1
  fi
}
allow_service_starts() {
  if ((added_policy == 1)); then "${sudo_cmd[@]}" rm -f "$policy_rc"; added_policy=0; fi
}
trap allow_service_starts EXIT

# Belt and braces for the packages this run installed: whatever they started anyway is stopped,
# and their Postgres cluster is kept from starting again.
stop_package_services() {
  local installed=" $* "
  if [[ $installed == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null; then
    local version name port status rest
    while read -r version name port status rest; do
      [[ -z $version ]] && continue
      if [[ $status == online* ]]; then
        echo "stopping the cluster the postgresql package started ($version/$name on port $port)"
        "${sudo_cmd[@]}" pg_ctlcluster "$version" "$name" stop || true
      fi
      echo manual | "${sudo_cmd[@]}" tee "/etc/postgresql/$version/$name/start.conf" >/dev/null
    done < <(pg_lsclusters --no-header 2>/dev/null || true)
  fi
  local service
  for service in redis-server prometheus; do
    if [[ $installed == *" $service "* && -x /etc/init.d/$service ]] && "/etc/init.d/$service" status >/dev/null 2>&1; then
      echo "stopping the $service the package started"
      "${sudo_cmd[@]}" "/etc/init.d/$service" stop || true
    fi
  done
}

section "system packages"
required=()
command -v redis-server >/dev/null || required+=(redis-server)
have_postgres_server || required+=(postgresql)
optional=()
# The ops tests run a real Prometheus and promtool against the alert rules.
{ command -v promtool >/dev/null && command -v prometheus >/dev/null; } || required+=(prometheus)

if ((${#required[@]} + ${#optional[@]} == 0)); then
  echo "postgres server, redis-server and promtool already present"
else
  forbid_service_starts
  if ((${#required[@]} > 0)); then
    echo "installing: ${required[*]}"
    apt_install "${required[@]}"
  fi
  if ((${#optional[@]} > 0)); then
    echo "installing (optional): ${optional[*]}"
    apt_install "${optional[@]}" || { echo "WARNING: could not install ${optional[*]}; tests that need it will say so"; optional=(); }
  fi
  allow_service_starts
  stop_package_services "${required[@]}" "${optional[@]}"
fi
echo "postgres: $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' ')"
echo "redis:    $(redis-server --version)"
echo "promtool: $(command -v promtool >/dev/null && promtool --version 2>&1 | head -n 1 || echo absent)"
echo "node:     $(node --version), npm $(npm --version)"

section "npm dependencies"
if [[ -f node_modules/.package-lock.json && ! package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "node_modules is up to date with package-lock.json"
else
# The registry these machines reach lacks some other platforms' optional binaries (e.g.
# @msgpackr-extract/*-darwin-*), so a lockfile written here misses them and `npm ci` calls it out of
# sync. Only that verdict falls back to `npm install`, loudly; any other failure fails the run.
npm_ci_log=$(mktemp)
if ! npm ci --no-audit --no-fund 2>&1 | tee "$npm_ci_log"; then
  if grep -q "can only install packages when your package.json and package-lock.json" "$npm_ci_log"; then
    echo "WARNING: npm ci says package-lock.json is out of sync (lines above); falling back to npm install"
    npm install --no-audit --no-fund
  else
    exit 1
  fi
fi
rm -f "$npm_ci_log"
fi

