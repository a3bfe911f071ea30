# meshgate_tls.sh - the meshgate sidecar as a peer of ../shared/bench/tls (sourced by
# run_tls_peers.sh through EXTRA_TLS_PROXIES; bench/tls_run.sh sets that up).
#
# The sidecar runs standalone (-config-file): the harness's certificates instead of the
# mesh CA's, the bench's SPIFFE IDs (any ID of trust domain bench.internal admitted
# inbound; outbound the backend must present spiffe://bench.internal/ns/bench/sa/backend,
# the URI in the harness's server.pem). One worker, pinned like the other peers.
: "${MESHGATE_BIN:?set MESHGATE_BIN to the meshgate binary}"

_meshgate_run() { # WORKDIR
    taskset -c "$PROXY_CPU" "$MESHGATE_BIN" proxy -config-file "$1/sidecar.json" -workers 1 -admin-addr "" \
        -log-level warn ${MESHGATE_PROXY_FLAGS:-} >"$1/stdout.log" 2>"$1/stderr.log" </dev/null &
    echo $!
}
proxy_start_inbound_meshgate() {
    cat >"$1/sidecar.json" <<JSON
{"proxy": {"trust_domain": "bench.internal",
           "sidecar": {"inbound": {"address": "127.0.0.1", "port": $2,
                                   "local_service_address": "127.0.0.1", "local_service_port": $3}}},
 "certificate": {"cert_file": "$CERT_DIR/server.pem", "key_file": "$CERT_DIR/server.key",
                 "roots_file": "$CERT_DIR/root.pem"},
 "admit": "trust-domain"}
JSON
    _meshgate_run "$1"
}
proxy_start_outbound_meshgate() {
    cat >"$1/sidecar.json" <<JSON
{"proxy": {"trust_domain": "bench.internal",
           "sidecar": {"upstreams": [{"destination_name": "backend", "local_bind_address": "127.0.0.1",
                                      "local_bind_port": $2, "sni": "$TLS_NAME",
                                      "identity": "spiffe://bench.internal/ns/bench/sa/backend",
                                      "endpoints": ["127.0.0.1:$3"]}]}},
 "certificate": {"cert_file": "$CERT_DIR/client.pem", "key_file": "$CERT_DIR/client.key",
                 "roots_file": "$CERT_DIR/root.pem"},
 "admit": "trust-domain"}
JSON
    _meshgate_run "$1"
}
proxy_version_meshgate() { echo "meshgate $("$MESHGATE_BIN" version | head -1) (OpenSSL $(openssl version | awk '{print $2}'))"; }
