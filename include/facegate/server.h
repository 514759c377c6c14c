/*
 * facegate/server.h — `facegate serve`: the HTTP JSON API over the border
 * operations (facegate/border.h), its route table and roles, API tokens, and
 * the one process-wide logger.
 *
 *     fg_server_options o;
 *     fg_server_options_init(&o);           // 127.0.0.1:8080, var/data, 2 threads
 *     o.listen = "127.0.0.1:0";             // an ephemeral port
 *     fg_server *s;
 *     if (fg_server_create(&o, &s, &e)) die(e.msg);
 *     printf("port %u\n", fg_server_port(s));
 *     ...                                   // until SIGTERM
 *     fg_server_destroy(s);                 // stop accepting, finish in-flight requests
 *
 * Every route is authorised by the route table (fg_server_routes): a request
 * to a route that needs a role carries `Authorization: Bearer fgt_...`, an
 * API token whose hash is in the store's `tokens` table (fg_api_token_*, records of
 * the border layer: facegate/border.h; the server reaches that layer only
 * through its public header).
 * Missing, unknown or revoked tokens get 401; a role the route does not allow
 * gets 403 and an "auth.denied" audit event; failed authentications are
 * rate-limited per client address (429 with Retry-After). The library audits
 * each action under the token's name and role. docs/api.md documents every
 * route, docs/openapi.json is the same table as OpenAPI 3.0 (served at
 * GET /openapi.json; a test checks that the two agree).
 *
 * Threads: the server runs its own threads (libmicrohttpd's pool, one
 * fg_border per worker, a purge timer). An fg_server handle may be used from
 * any one thread at a time; fg_server_shutdown may be called from another.
 */
#ifndef FACEGATE_SERVER_H
#define FACEGATE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "facegate/doc.h"

#include "facegate/border.h"
#include "facegate/error.h"
#include "facegate/log.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

/* ---- the route table ----------------------------------------------------- */

/* Roles (FG_ROLE_*) and API tokens (fg_api_token_*) are records of the border
 * layer: facegate/border.h. */

/* The API's problem document (RFC 9457) for a library error code:
 * {type, title, status, detail, code}, code the FG_E* name and status the
 * HTTP status the service answers it with; the command line prints the same
 * document for a failure under --json. NULL: out of memory. */
fg_doc *fg_problem_json(int code, const char *detail);

typedef struct fg_route_info {
  const char *method; /* "GET", "POST", "DELETE" */
  const char *path;   /* OpenAPI template: "/v1/manifests/{id}" */
  unsigned roles;     /* FG_ROLE_* allowed; 0: public (no token needed) */
} fg_route_info;

/* The server's route table (static; *n receives its length). */
const fg_route_info *fg_server_routes(size_t *n);
/* The OpenAPI document the server serves (static, NUL-terminated JSON). */
const char *fg_server_openapi(size_t *len);

/* ---- the server ------------------------------------------------------------ */

typedef struct fg_server fg_server;

typedef struct fg_server_options {
  const char *listen;       /* "ADDR:PORT" or "[V6]:PORT"; default "127.0.0.1:8080" */
  const char *web_dir;      /* static console files; default "web" (absent: 404) */
  const char *tls_cert;     /* PEM files: both or neither; TLS when given */
  const char *tls_key;
  int insecure_bind;        /* allow a non-loopback address without TLS */
  int threads;              /* worker threads (= fg_border handles); default 2 */
  int purge_interval;       /* seconds between purges; 0: no timer; default 600 */
  unsigned conn_timeout;    /* idle connection timeout, seconds; default 30 */
  size_t max_manifest;      /* body limits, bytes: manifests (16 MiB), */
  size_t max_image;         /*   one image after decoding (8 MiB), */
  size_t max_json;          /*   any other JSON body (64 KiB) */
  size_t max_body_in_flight; /* bytes of request bodies held at once, all requests
                               together (64 MiB); past it a body gets 503 + Retry-After */
  int auth_fail_limit;      /* failed authentications per network (/24, /64) per window (10) */
  int auth_fail_window;     /* seconds (60) */
  int auth_fail_global;     /* failed authentications per window, all networks (100) */
  int perm_fail_limit;      /* 403s per token per window (20) */
  int denial_audit_interval; /* seconds: one auth.denied event per source per interval (10) */
  int max_conns;            /* connections open at once (1024) */
  int max_conns_per_addr;   /* per client address (16) */
  int max_conns_per_net;    /* per client network, /24 or /64 (4 x per address) */
  int header_timeout;       /* seconds for a request's line and headers to arrive (10) */
  const char *tls_priorities; /* GnuTLS priority string; NULL: FG_TLS_PRIORITIES */
  const char *anchor_file;  /* append the audit chain's head here (NULL: no file) ... */
  int anchor_syslog;        /* ... and/or to the system log ... */
  int anchor_interval;      /* ... every this many seconds when it has grown (60) */
  const char *trusted_proxies; /* comma-separated addresses of reverse proxies (NULL: none):
                                  their connections are not limited per address, and the
                                  client's address is taken from their X-Real-IP header */
  fg_border_options border; /* how each worker opens its fg_border (data_dir, policy...) */
} fg_server_options;

void fg_server_options_init(fg_server_options *o);

/* TLS 1.3 and 1.2 only; forward-secret key exchange only (ECDHE); AEAD
 * ciphers only (AES-GCM, ChaCha20-Poly1305); no SHA-1 signatures. So no TLS
 * 1.0/1.1, no RSA key transport, no CBC or SHA-1 MAC suites. */
#define FG_TLS_PRIORITIES                                                                  \
  "NONE:+VERS-TLS1.3:+VERS-TLS1.2:+ECDHE-ECDSA:+ECDHE-RSA:+AES-256-GCM:+AES-128-GCM:"      \
  "+CHACHA20-POLY1305:+AEAD:+SIGN-ALL:-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:"     \
  "+GROUP-ALL:+COMP-NULL:%SAFE_RENEGOTIATION"

/* Open the border handles, bind and start serving. Refuses (FG_EPERM) a
 * non-loopback address without TLS unless insecure_bind, and (FG_EUNSUPPORTED)
 * TLS when libmicrohttpd was built without it. On error *out is NULL and
 * nothing is left running. */
int fg_server_create(const fg_server_options *o, fg_server **out, fg_error *err);
/* The port bound (useful with port 0). */
unsigned fg_server_port(const fg_server *s);
/* Requests being processed now. */
int fg_server_in_flight(const fg_server *s);
/* Stop accepting connections and wait (up to timeout_ms) for the requests in
 * flight to finish and their responses to be sent. Idempotent; safe to call
 * from another thread than the one that will destroy. Returns FG_OK when
 * everything finished, FG_ELIMIT on timeout. */
int fg_server_shutdown(fg_server *s, int timeout_ms);
/* fg_server_shutdown (30 s) if not done yet, stop the threads, close the
 * border handles and free. NULL does nothing. */
void fg_server_destroy(fg_server *s);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
