#!/usr/bin/env bash
# Idempotent setup for svcfleet on a fresh Debian machine.
#   scripts/setup.sh          node modules + PowerShell 7 (enough for `svcfleet demo`)
#   scripts/setup.sh --peers  also the Debian peers the test suite talks to (needs root):
#                             openssh-server, python3-winrm, ansible-core, pdsh, tmux, iproute2, and for
#                             Kerberos: an MIT KDC + kadmin.local (the tests run a throwaway realm), kinit,
#                             libkrb5-dev (the optional `kerberos` npm binding compiles against it) and
#                             python3-requests-kerberos (pywinrm's Kerberos transport, the conformance peer),
#                             python3-gssapi (an independent Kerberos client with channel binding, for the tests);
#                             then builds native/gssapi-cb (Kerberos channel binding, scripts/build-gssapi-cb.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

PWSH_VERSION=7.6.9
want_peers=0
[[ "${1:-}" == "--peers" ]] && want_peers=1

log() { printf 'setup: %s\n' "$*" >&2; }

# --- PowerShell 7 as a .NET global tool (NuGet is the only source reachable for it here) ---
export PATH="$PATH:$HOME/.dotnet/tools"
if command -v pwsh >/dev/null 2>&1 && pwsh -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()' 2>/dev/null | grep -qx "$PWSH_VERSION"; then
  :
else
  command -v dotnet >/dev/null 2>&1 || { log "dotnet SDK is missing: install it (https://dot.net) and run again"; exit 1; }
  log "installing PowerShell $PWSH_VERSION (dotnet tool)"
  dotnet tool update --global PowerShell --version "$PWSH_VERSION" >/dev/null \
    || dotnet tool install --global PowerShell --version "$PWSH_VERSION" >/dev/null
fi

# --- Debian peers, only when asked (tests) ---
if (( want_peers )); then
  pkgs=(openssh-server openssh-client python3-winrm ansible-core pdsh tmux iproute2
        krb5-kdc krb5-admin-server krb5-user libkrb5-dev python3-requests-kerberos python3-gssapi)
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
      log "missing Debian packages: ${missing[*]}; run as root: apt-get update && apt-get install -y ${missing[*]}"
      exit 1
    fi
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

# --- node modules (npm ci also compiles dist/ through the prepare script) ---
if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "installing node modules"
  npm ci --no-audit --no-fund >/dev/null
else
  npm run --silent build
fi

# The GSSAPI binding is an optionalDependency: npm skips it quietly when libkrb5-dev was missing at install
# time. Once the peers are there, build it (against /usr/include/node, see .npmrc) so the Kerberos tests run.
if (( want_peers )) && [[ ! -f node_modules/kerberos/build/Release/kerberos.node ]]; then
  log "building the kerberos (GSSAPI) binding"
  npm rebuild kerberos >/dev/null 2>&1 || log "could not build the kerberos binding: run npm rebuild kerberos --foreground-scripts to see why"
fi
# svcfleet's own addon for Kerberos channel binding (one C file; skipped when it is up to date). Tried whenever
# libkrb5-dev is there; without it Kerberos works unbound (a warning per host), so only --peers insists.
if (( want_peers )) || command -v krb5-config >/dev/null 2>&1; then
  bash scripts/build-gssapi-cb.sh
fi
