#!/usr/bin/env bash
# Builds native/gssapi-cb (gss_init/accept_sec_context with channel bindings, see its source) against MIT
# libgssapi_krb5 and the installed Node's headers. Idempotent and fast: one C file, compiled only when the .node is
# missing or older than the source; a plain C compiler call, because a Node-API addon links against nothing of
# Node's (its symbols resolve when Node loads it), so node-gyp's configure step would only add seconds.
#   bash scripts/build-gssapi-cb.sh     (run by scripts/setup.sh --peers; needs libkrb5-dev and cc)
# Exit 0 with a message when the prerequisites are missing: Kerberos without channel binding still works.
set -euo pipefail
cd "$(dirname "$0")/.."
src=native/gssapi-cb/gssapi_cb.c
out=native/gssapi-cb/build/gssapi_cb.node
log() { printf 'setup: %s\n' "$*" >&2; }

[[ -f "$out" && "$out" -nt "$src" && "$out" -nt "$0" ]] && exit 0
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || { log "no C compiler ($cc): Kerberos channel binding unavailable"; exit 0; }
command -v krb5-config >/dev/null 2>&1 || { log "krb5-config missing (apt-get install libkrb5-dev): Kerberos channel binding unavailable"; exit 0; }
# The headers of the Node that runs svcfleet: <prefix>/include/node (Debian: /usr/include/node), or npm_config_nodedir.
prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
nodeinc=${npm_config_nodedir:-$prefix}/include/node
[[ -f "$nodeinc/node_api.h" ]] || { log "no Node headers in $nodeinc: Kerberos channel binding unavailable"; exit 0; }

mkdir -p "$(dirname "$out")"
# shellcheck disable=SC2046 # krb5-config prints several flags
"$cc" -O2 -Wall -Wextra -Wno-unused-parameter -fPIC -shared -DNODE_GYP_MODULE_NAME=gssapi_cb -I"$nodeinc" \
  $(krb5-config --cflags gssapi) -o "$out.tmp" "$src" $(krb5-config --libs gssapi)
mv "$out.tmp" "$out"
log "built $out"
