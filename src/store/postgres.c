/*
 * The PostgreSQL backend of fg_store (libpq; src/store/store_internal.h).
 *
 * One connection per store, opened from a libpq URI with facegate's defaults
 * in front of it (the URI's own settings win): a 3 s connect timeout, TCP
 * keepalives and a 10 s TCP user timeout (a vanished server is noticed),
 * target_session_attrs=read-write (a multi-host URI finds the primary; a
 * standby is never written to). Notices are swallowed: the library does not
 * print.
 *
 * The connection stays in libpq's pipeline mode, so that statements of a
 * transaction need not each wait for the server. Inside a transaction, a
 * statement that returns no rows (INSERT, UPDATE, DELETE, pg_notify) is only
 * queued; the next statement that returns rows, fg_store_changes or the
 * commit sends everything queued and reads every result in order (one round
 * trip). BEGIN and the writer lock are queued the same way, so a transaction
 * costs its reads plus one round trip for the commit. Outside a transaction
 * every statement is sent with a sync point of its own (its own implicit
 * transaction) and waited for. The first error inside a transaction sticks:
 * every later call returns it until the rollback.
 *
 * Writers are serialised exactly as SQLite serialises them (BEGIN IMMEDIATE):
 * each transaction takes one transaction-scoped advisory lock first. This
 * keeps one audit chain and lets the border logic read-then-write without
 * races between servers. So that the lock is not held while the commit waits
 * for the disk and the synchronous standby, a writer commits with
 * synchronous_commit off — the lock goes as soon as the commit record is
 * written — and then waits for durability with a barrier: a one-statement
 * transaction with synchronous_commit on that writes one tiny WAL record
 * (pg_logical_emit_message, transactional: a transaction that writes no WAL
 * would not wait at all), sent in the same round trip. WAL is one ordered log, so when the barrier's commit is
 * flushed (and confirmed by the standby) so is every commit before it: the
 * caller hears FG_OK only then. Barriers of concurrent writers share flushes
 * (group commit). A reader on another connection may see a commit whose
 * barrier has not returned yet; a crash before it returns loses that commit
 * and everything after it, none of which was acknowledged
 * (docs/deployment.md). Its cost and gain are measured in `make bench-store`.
 *
 * Statements are prepared once per connection (placeholders `?` rewritten to
 * `$n`) and described, so the query's column count is checked once.
 * Parameters travel as text (numbers) or binary (blobs: bytea, no escaping);
 * results come back binary and are decoded by type (integers, floating point,
 * numeric, booleans, text, bytea).
 *
 * Lost connections: a failed or timed-out call marks the connection broken
 * (FG_EUNAVAILABLE; an open transaction is gone, and nothing of it was
 * acknowledged), and the next call outside a transaction reconnects, at most
 * every 200 ms. After a reconnection fg_store_poll reports "anything may have
 * changed" (notifications may have been missed). A statement past its
 * deadline is cancelled; a commit that the synchronous standby does not
 * confirm within the commit deadline is cancelled too, which leaves it
 * committed on the primary only: FG_EUNAVAILABLE, counted and logged.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/internal.h"
#include "facegate/log.h"
#include "store/postgres_internal.h"
#include "store/store_internal.h"

#define NBUCKETS 64
#define MAX_COLS 64
#define MAX_PARAMS 32
/* The writer lock (0x46414354, "FACT") and the commit barrier, prepared once
 * per connection like the named queries. */
static const fg_query WRITER_LOCK = {"writer_lock", "SELECT pg_advisory_xact_lock(1178749268)", 1};
static const fg_query BARRIER = {
    "commit_barrier", "SELECT pg_logical_emit_message(true, 'facegate', 'barrier')", 1};
#define RECONNECT_PAUSE_MS 200.0
#define CANCEL_GRACE_MS 2000.0

/* Fixed type OIDs of PostgreSQL's built-in types (catalog/pg_type.h is a
 * server header; these numbers never change). */
enum {
  OID_BOOL = 16, OID_BYTEA = 17, OID_NAME = 19, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23,
  OID_TEXT = 25, OID_OID = 26, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_UNKNOWN = 705,
  OID_BPCHAR = 1042, OID_VARCHAR = 1043, OID_NUMERIC = 1700
};

typedef struct stmt {
  const fg_query *q;
  char name[16];
  int nparams;
  struct stmt *next;
} stmt;

/* What the client has sent and not read yet, in order. */
typedef enum { PEND_PREPARE, PEND_DESCRIBE, PEND_QUERY, PEND_COMMAND, PEND_SYNC } pend_kind;
typedef struct pend {
  pend_kind kind;
  const fg_query *q; /* PREPARE/DESCRIBE/QUERY */
  const char *what;  /* COMMAND: for messages */
  fg_row_fn fn;      /* QUERY: where its rows go (NULL: nowhere) */
  void *ctx;
} pend;

typedef struct pg_conn {
  PGconn *pc;                   /* NULL: broken, reconnect on the next call */
  char *uri;
  char shown[512];              /* the URI with its password masked */
  unsigned flags;
  stmt *buckets[NBUCKETS];
  unsigned nstmt;
  pend *pend;
  int npend, cap;
  int in_txn;
  int batching;                 /* execs queue until batch_run */
  fg_error failure;             /* code != 0: the open transaction failed */
  int64_t changes;
  char channels[8][64];
  int nchannels;
  int reconnected;              /* not yet reported by poll */
  int lost_logged;
  double next_connect;          /* fg__ms() before which no reconnect is tried */
  double timeout_ms, commit_timeout_ms;
  fg_store_stats stats;
} pg_conn;

/* ---- errors ---------------------------------------------------------------- */

/* The first line of a libpq message, without its trailing newline. */
static const char *first_line(const char *msg, char *buf, size_t cap) {
  snprintf(buf, cap, "%s", msg && *msg ? msg : "unknown error");
  buf[strcspn(buf, "\n")] = 0;
  return buf;
}

/* The FG code for a server error's SQLSTATE. Connection trouble, a standby
 * that refuses writes, cancellation and exhausted resources are transient
 * (FG_EUNAVAILABLE: retry); constraint violations are conflicts. */
static int code_of_state(const char *state) {
  if (!state || strlen(state) != 5) return FG_EIO;
  if (!strncmp(state, "23", 2)) return FG_ECONFLICT;
  if (!strncmp(state, "22", 2)) return FG_EINVAL;
  if (!strncmp(state, "08", 2) || !strncmp(state, "53", 2) || !strncmp(state, "57P", 3) ||
      !strcmp(state, "57014") || !strcmp(state, "25006") || !strcmp(state, "40001") ||
      !strcmp(state, "40P01") || !strcmp(state, "55P03"))
    return FG_EUNAVAILABLE;
  return FG_EIO;
}

static void ignore_notice(void *arg, const char *message) {
  (void)arg, (void)message;
}

/* ---- the connection ------------------------------------------------------ */

static void free_statements(pg_conn *c) {
  for (int b = 0; b < NBUCKETS; b++) {
    for (stmt *s = c->buckets[b], *next; s; s = next) {
      next = s->next;
      free(s);
    }
    c->buckets[b] = NULL;
  }
}

/* Drop q's statement from the cache (its PREPARE failed: the server has none). */
static void forget_stmt(pg_conn *c, const fg_query *q);

/* Forget the connection: the server's session (prepared statements, the open
 * transaction) is gone with it. */
static void mark_broken(pg_conn *c, const char *why) {
  if (c->pc) PQfinish(c->pc);
  c->pc = NULL;
  free_statements(c);
  c->npend = 0;
  c->next_connect = 0; /* the first reconnect may be tried at once */
  if (c->in_txn && !c->failure.code)
    fg__seterr(&c->failure, FG_EUNAVAILABLE, "connection to the database lost (%s): the "
               "transaction was not recorded", why);
  if (!c->lost_logged) {
    fg__log(FG_LOG_WARN, "store %s: connection lost (%s); reconnecting", c->shown, why);
    c->lost_logged = 1;
  }
}

static int push(pg_conn *c, pend_kind kind, const fg_query *q, const char *what, fg_error *err) {
  if (c->npend == c->cap) {
    int cap = c->cap ? 2 * c->cap : 32;
    pend *p = realloc(c->pend, (size_t)cap * sizeof *p);
    if (!p) return fg__seterr(err, FG_ENOMEM, "store: out of memory");
    c->pend = p;
    c->cap = cap;
  }
  c->pend[c->npend++] = (pend){kind, q, what, NULL, NULL};
  return FG_OK;
}

/* Queue a statement without parameters (BEGIN, LISTEN, DDL...). */
static int send_command(pg_conn *c, const char *sql, const char *what, int rows, fg_error *err) {
  if (!PQsendQueryParams(c->pc, sql, 0, NULL, NULL, NULL, NULL, 1)) {
    char line[256];
    mark_broken(c, first_line(PQerrorMessage(c->pc), line, sizeof line));
    return fg__seterr(err, FG_EUNAVAILABLE, "%s: %s", what, line);
  }
  return push(c, rows ? PEND_QUERY : PEND_COMMAND, NULL, what, err);
}

/* Wait until a result can be read without blocking, or the deadline. */
static int wait_readable(pg_conn *c, double deadline) {
  while (PQisBusy(c->pc)) {
    double left = deadline - fg__ms();
    if (left <= 0) return 0;
    struct pollfd p = {.fd = PQsocket(c->pc), .events = POLLIN};
    int r = poll(&p, 1, left > 1e6 ? 1000000 : (int)left + 1);
    if (r < 0 && errno != EINTR) return -1;
    if (!PQconsumeInput(c->pc)) return -1;
  }
  return 1;
}

/* The next result, waiting at most until the deadline, then cancelling the
 * statement and waiting CANCEL_GRACE_MS more. *cancelled says a cancel went
 * out. NULL with *lost set: the connection broke (or never answered). */
static PGresult *next_result(pg_conn *c, double deadline, int *cancelled, int *lost) {
  int w = wait_readable(c, deadline);
  if (w == 0 && !*cancelled) {
    PGcancel *cn = PQgetCancel(c->pc);
    char buf[256];
    if (cn) {
      PQcancel(cn, buf, sizeof buf);
      PQfreeCancel(cn);
    }
    *cancelled = 1;
    w = wait_readable(c, fg__ms() + CANCEL_GRACE_MS);
  }
  if (w <= 0) {
    *lost = 1;
    return NULL;
  }
  return PQgetResult(c->pc);
}

/* Decode one binary NUMERIC (base-10000 digits) to a double, or an integer
 * when it has no fractional digits and fits. */
static int numeric_val(const unsigned char *p, int len, fg_val *v) {
  if (len < 8) return -1;
  int nd = (int16_t)(p[0] << 8 | p[1]), weight = (int16_t)(p[2] << 8 | p[3]);
  unsigned sign = (unsigned)(p[4] << 8 | p[5]);
  int dscale = (int16_t)(p[6] << 8 | p[7]);
  if (nd < 0 || len < 8 + 2 * nd) return -1;
  if (sign == 0xC000) {
    v->type = FG_VAL_REAL;
    v->r = NAN;
    return 0;
  }
  double x = 0;
  for (int i = 0; i < nd; i++) x += (p[8 + 2 * i] << 8 | p[9 + 2 * i]) * pow(10000.0, weight - i);
  if (sign == 0x4000) x = -x;
  if (dscale == 0 && fabs(x) < 9.0e18) {
    v->type = FG_VAL_INT;
    v->i = (int64_t)llround(x);
    v->r = (double)v->i;
  } else {
    v->type = FG_VAL_REAL;
    v->r = x;
  }
  return 0;
}

static uint64_t be64(const unsigned char *p) {
  uint64_t x = 0;
  for (int i = 0; i < 8; i++) x = x << 8 | p[i];
  return x;
}

static int read_row(const PGresult *r, int row, fg_val *cols, int n, const fg_query *q,
                    fg_error *err) {
  for (int i = 0; i < n; i++) {
    fg_val *v = &cols[i];
    memset(v, 0, sizeof *v);
    if (PQgetisnull(r, row, i)) continue; /* FG_VAL_NULL */
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, i);
    int len = PQgetlength(r, row, i);
    Oid t = PQftype(r, i);
    int bad = 0;
    switch (t) {
    case OID_INT8: bad = len != 8; if (!bad) v->i = (int64_t)be64(p); v->type = FG_VAL_INT; break;
    case OID_INT4: bad = len != 4; if (!bad) v->i = (int32_t)ntohl(*(const uint32_t *)(const void *)p); v->type = FG_VAL_INT; break;
    case OID_INT2: bad = len != 2; if (!bad) v->i = (int16_t)(p[0] << 8 | p[1]); v->type = FG_VAL_INT; break;
    case OID_OID: bad = len != 4; if (!bad) v->i = ntohl(*(const uint32_t *)(const void *)p); v->type = FG_VAL_INT; break;
    case OID_BOOL: bad = len != 1; if (!bad) v->i = p[0] != 0; v->type = FG_VAL_INT; break;
    case OID_FLOAT8: {
      bad = len != 8;
      uint64_t u = bad ? 0 : be64(p);
      memcpy(&v->r, &u, 8);
      v->type = FG_VAL_REAL;
      break;
    }
    case OID_FLOAT4: {
      bad = len != 4;
      uint32_t u = bad ? 0 : ntohl(*(const uint32_t *)(const void *)p);
      float f;
      memcpy(&f, &u, 4);
      v->r = f;
      v->type = FG_VAL_REAL;
      break;
    }
    case OID_NUMERIC: bad = numeric_val(p, len, v) != 0; break;
    case OID_TEXT: case OID_VARCHAR: case OID_BPCHAR: case OID_NAME: case OID_UNKNOWN:
      v->type = FG_VAL_TEXT; /* libpq ends every value with a NUL byte */
      v->s = (const char *)p;
      v->n = (size_t)len;
      break;
    case OID_BYTEA:
      v->type = FG_VAL_BLOB;
      v->b = p;
      v->n = (size_t)len;
      break;
    default:
      return fg__seterr(err, FG_EFORMAT, "%s: column %d has type oid %u, which facegate does not read",
                        q ? q->name : "query", i + 1, (unsigned)t);
    }
    if (bad) return fg__seterr(err, FG_EFORMAT, "%s: column %d: malformed value", q ? q->name : "query", i + 1);
    if (v->type == FG_VAL_INT) v->r = (double)v->i;
  }
  return FG_OK;
}

/* Note the first failure of what is being read (and of the transaction). */
static void note_failure(pg_conn *c, fg_error *first, int code, const char *fmt, const char *a,
                         const char *b) {
  if (first->code) return;
  fg__seterr(first, code, fmt, a, b);
  if (c->in_txn && !c->failure.code) c->failure = *first;
}

/* Read the results of everything sent, in order; each query's rows go to
 * its callback until one fails. Returns the first failure (or a callback's
 * code). */
static int drain(pg_conn *c, double timeout_ms, int *cancelled_out, fg_error *err) {
  fg_error first = {0};
  int fn_rc = FG_OK;
  int cancelled = 0, lost = 0;
  double deadline = fg__ms() + timeout_ms;
  if (c->npend > 0) c->stats.round_trips++;
  if (PQflush(c->pc) != 0) lost = 1;
  for (int k = 0; k < c->npend && !lost; k++) {
    pend *e = &c->pend[k];
    const char *name = e->q ? e->q->name : e->what;
    int fn_done = 0;
    for (;;) {
      PGresult *r = next_result(c, deadline, &cancelled, &lost);
      if (!r) break;
      ExecStatusType st = PQresultStatus(r);
      if (st == PGRES_PIPELINE_SYNC) {
        PQclear(r);
        break; /* no NULL follows a sync's result */
      }
      if (st == PGRES_FATAL_ERROR) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        char line[400];
        first_line(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY), line, sizeof line);
        if (PQstatus(c->pc) == CONNECTION_BAD) lost = 1;
        note_failure(c, &first, lost ? FG_EUNAVAILABLE : code_of_state(state), "%s: %s", name, line);
        if (e->kind == PEND_PREPARE) forget_stmt(c, e->q);
        if (lost) {
          PQclear(r);
          break;
        }
      } else if (st == PGRES_PIPELINE_ABORTED) {
        if (e->kind == PEND_PREPARE) forget_stmt(c, e->q);
        note_failure(c, &first, FG_EIO, "%s: %s", name, "not run: an earlier statement failed");
      } else if (e->kind == PEND_DESCRIBE && st == PGRES_COMMAND_OK) {
        if (PQnfields(r) != e->q->ncols) {
          char msg[96];
          snprintf(msg, sizeof msg, "returns %d columns, %d expected", PQnfields(r), e->q->ncols);
          note_failure(c, &first, FG_EINVAL, "%s: %s", name, msg);
        }
      } else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        const char *n = PQcmdTuples(r);
        if (n && *n) c->changes = strtoll(n, NULL, 10);
        if (st == PGRES_TUPLES_OK && e->fn && !first.code && fn_rc == FG_OK && !fn_done) {
          int nc = PQnfields(r);
          if (nc > MAX_COLS) {
            fn_rc = fg__seterr(err, FG_ELIMIT, "%s: %d columns (at most %d)", name, nc, MAX_COLS);
            fn_done = 1;
          }
          fg_val cols[MAX_COLS];
          for (int row = 0; row < PQntuples(r) && !fn_done; row++) {
            int rc = read_row(r, row, cols, nc, e->q, err);
            if (rc == FG_OK) rc = e->fn(e->ctx, cols, nc, err);
            if (rc == 1) fn_done = 1;
            else if (rc < 0) fn_rc = rc, fn_done = 1;
          }
        }
      } else {
        note_failure(c, &first, FG_EIO, "%s: unexpected result (%s)", name, PQresStatus(st));
      }
      PQclear(r);
    }
  }
  if (cancelled_out) *cancelled_out = cancelled;
  c->npend = 0;
  if (lost) {
    char line[256];
    first_line(c->pc ? PQerrorMessage(c->pc) : NULL, line, sizeof line);
    if (cancelled && !strcmp(line, "unknown error")) snprintf(line, sizeof line, "no answer in time");
    mark_broken(c, line);
    if (!first.code) fg__seterr(&first, FG_EUNAVAILABLE, "database: %s", line);
    else first.code = FG_EUNAVAILABLE;
  }
  if (first.code) {
    if (err) *err = first;
    return first.code;
  }
  return fn_rc;
}

/* Send a sync point and read everything (outside a transaction). */
static int sync_all(pg_conn *c, fg_error *err) {
  if (!PQpipelineSync(c->pc)) {
    char line[256];
    mark_broken(c, first_line(PQerrorMessage(c->pc), line, sizeof line));
    return fg__seterr(err, FG_EUNAVAILABLE, "database: %s", line);
  }
  int rc = push(c, PEND_SYNC, NULL, "sync", err);
  return rc == FG_OK ? drain(c, c->timeout_ms, NULL, err) : rc;
}

static int valid_channel(const char *ch) {
  size_t n = ch ? strlen(ch) : 0;
  if (n == 0 || n >= 64) return 0;
  for (size_t i = 0; i < n; i++)
    if (!(islower((unsigned char)ch[i]) || ch[i] == '_' || isdigit((unsigned char)ch[i]))) return 0;
  return 1;
}

static int take_flag(void *ctx, const fg_val *cols, int n, fg_error *err) {
  (void)n, (void)err;
  *(int *)ctx = cols[0].type == FG_VAL_INT ? (int)cols[0].i : -1;
  return 1;
}

static int connect_now(pg_conn *c, fg_error *err) {
  int ro = (c->flags & FG_STORE_READONLY) != 0;
  const char *kw[] = {"connect_timeout", "application_name", "target_session_attrs",
                      "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
                      "tcp_user_timeout", "dbname", NULL};
  const char *vals[] = {"3", "facegate", ro ? "any" : "read-write", "1", "5", "2", "3", "10000",
                        c->uri, NULL};
  c->next_connect = fg__ms() + RECONNECT_PAUSE_MS;
  PGconn *pc = PQconnectdbParams(kw, vals, 1);
  if (!pc) return fg__seterr(err, FG_ENOMEM, "store %s: out of memory", c->shown);
  if (PQstatus(pc) != CONNECTION_OK) {
    char line[300];
    first_line(PQerrorMessage(pc), line, sizeof line);
    PQfinish(pc);
    return fg__seterr(err, FG_EUNAVAILABLE, "store %s: cannot connect: %s", c->shown, line);
  }
  PQsetNoticeProcessor(pc, ignore_notice, NULL);
  if (!PQenterPipelineMode(pc)) {
    PQfinish(pc);
    return fg__seterr(err, FG_EIO, "store %s: libpq without pipeline mode", c->shown);
  }
  c->pc = pc;
  int rc = FG_OK;
  if (ro) rc = send_command(c, "SET default_transaction_read_only = on", "read-only", 0, err);
  if (rc == FG_OK && (c->flags & FG_STORE_NOSYNC))
    rc = send_command(c, "SET synchronous_commit = off", "nosync", 0, err);
  for (int i = 0; rc == FG_OK && i < c->nchannels; i++) {
    char sql[96];
    snprintf(sql, sizeof sql, "LISTEN \"%s\"", c->channels[i]);
    rc = send_command(c, sql, "listen", 0, err);
  }
  /* Does this primary wait for a standby on every commit? Said once per
   * connection: after a failover the new primary often has none yet. */
  int sync = -1;
  if (rc == FG_OK && !ro) {
    rc = send_command(c, "SELECT current_setting('synchronous_standby_names') <> ''",
                      "synchronous standby", 1, err);
    if (rc == FG_OK) {
      c->pend[c->npend - 1].fn = take_flag;
      c->pend[c->npend - 1].ctx = &sync;
    }
  }
  if (rc == FG_OK) rc = sync_all(c, err);
  if (rc == FG_OK && !ro) {
    c->stats.synchronous_standby = sync;
    if (sync == 0)
      fg__log(FG_LOG_WARN, "store %s: the primary has no synchronous standby "
              "(synchronous_standby_names is empty): an acknowledged commit exists on one server "
              "only until a standby is attached (docs/deployment.md)", c->shown);
  }
  if (rc != FG_OK) {
    if (c->pc) PQfinish(c->pc);
    c->pc = NULL;
    return rc;
  }
  return FG_OK;
}

/* Outside a transaction: make sure there is a connection. */
static int ensure_connected(pg_conn *c, fg_error *err) {
  if (c->pc) return FG_OK;
  if (fg__ms() < c->next_connect)
    return fg__seterr(err, FG_EUNAVAILABLE, "store %s: no database connection (retrying)", c->shown);
  int rc = connect_now(c, err);
  if (rc != FG_OK) return rc;
  c->stats.reconnects++;
  c->reconnected = 1;
  c->lost_logged = 0;
  fg__log(FG_LOG_INFO, "store %s: reconnected to %s:%s", c->shown, PQhost(c->pc), PQport(c->pc));
  return FG_OK;
}

static double env_ms(const char *name, double dflt) {
  const char *s = getenv(name);
  char *end;
  double v = s ? strtod(s, &end) : 0;
  return s && *s && !*end && v >= 10 && v <= 3.6e6 ? v : dflt;
}

static void pg_close(void *conn) {
  pg_conn *c = conn;
  if (!c) return;
  if (c->pc) PQfinish(c->pc);
  free_statements(c);
  free(c->pend);
  if (c->uri) memset(c->uri, 0, strlen(c->uri)); /* may hold a password */
  free(c->uri);
  free(c);
}

static int pg_open(const char *target, unsigned flags, void **conn, fg_error *err) {
  *conn = NULL;
  pg_conn *c = calloc(1, sizeof *c);
  if (!c || !(c->uri = strdup(target))) {
    free(c);
    return fg__seterr(err, FG_ENOMEM, "store: out of memory");
  }
  fg_store_redact(target, c->shown, sizeof c->shown);
  c->flags = flags;
  c->stats.synchronous_standby = -1;
  c->timeout_ms = env_ms("FACEGATE_STORE_TIMEOUT_MS", FG__STORE_TIMEOUT_MS);
  c->commit_timeout_ms = env_ms("FACEGATE_STORE_COMMIT_TIMEOUT_MS", FG__STORE_COMMIT_TIMEOUT_MS);
  int rc = connect_now(c, err);
  if (rc != FG_OK) {
    pg_close(c);
    return rc;
  }
  *conn = c;
  return FG_OK;
}

/* ---- statements ------------------------------------------------------------- */

/* q's SQL with `?` placeholders numbered $1, $2... (outside quotes); *nparams
 * receives their count, *several whether a ';' separates statements. */
static char *numbered(const char *sql, int *nparams, int *several) {
  size_t n = strlen(sql), cap = n + 4 * MAX_PARAMS + 1;
  char *out = malloc(cap), *o = out;
  if (!out) return NULL;
  int k = 0;
  char quote = 0;
  *several = 0;
  for (const char *p = sql; *p; p++) {
    if (quote) {
      if (*p == quote) quote = 0;
    } else if (*p == '\'' || *p == '"') {
      quote = *p;
    } else if (*p == ';') {
      *several |= p[1 + strspn(p + 1, " \t\r\n;")] != 0;
    } else if (*p == '?') {
      if ((size_t)(o - out) + 8 >= cap) break;
      o += sprintf(o, "$%d", ++k);
      continue;
    }
    if ((size_t)(o - out) + 2 >= cap) break;
    *o++ = *p;
  }
  *o = 0;
  *nparams = k;
  return out;
}

static unsigned bucket_of(const fg_query *q) {
  uintptr_t a = (uintptr_t)q;
  return (unsigned)((a >> 3) ^ (a >> 9)) % NBUCKETS;
}

/* The statement for q, queueing its preparation (and a description, to check
 * its column count) on first use. */
static int get_stmt(pg_conn *c, const fg_query *q, stmt **out, fg_error *err) {
  unsigned b = bucket_of(q);
  for (stmt *s = c->buckets[b]; s; s = s->next)
    if (s->q == q) {
      *out = s;
      return FG_OK;
    }
  stmt *s = calloc(1, sizeof *s);
  int several = 0;
  char *sql = s ? numbered(q->sql, &s->nparams, &several) : NULL;
  if (!s || !sql) {
    free(s);
    free(sql);
    return fg__seterr(err, FG_ENOMEM, "%s: out of memory", q->name);
  }
  if (several) {
    free(s);
    free(sql);
    return fg__seterr(err, FG_EINVAL, "%s: not exactly one SQL statement", q->name);
  }
  s->q = q;
  snprintf(s->name, sizeof s->name, "fg%u", ++c->nstmt);
  int ok = PQsendPrepare(c->pc, s->name, sql, 0, NULL) && PQsendDescribePrepared(c->pc, s->name);
  free(sql);
  if (!ok) {
    free(s);
    char line[256];
    mark_broken(c, first_line(PQerrorMessage(c->pc), line, sizeof line));
    return fg__seterr(err, FG_EUNAVAILABLE, "%s: %s", q->name, line);
  }
  s->next = c->buckets[b];
  c->buckets[b] = s;
  int rc = push(c, PEND_PREPARE, q, NULL, err);
  if (rc == FG_OK) rc = push(c, PEND_DESCRIBE, q, NULL, err);
  *out = s;
  return rc;
}

static void forget_stmt(pg_conn *c, const fg_query *q) {
  for (stmt **pp = &c->buckets[bucket_of(q)]; *pp; pp = &(*pp)->next) {
    if ((*pp)->q == q) {
      stmt *dead = *pp;
      *pp = dead->next;
      free(dead);
      return;
    }
  }
}

/* A real as text that float8's input accepts, exactly (17 digits). */
static void real_text(double x, char *buf, size_t cap) {
  if (isnan(x)) snprintf(buf, cap, "NaN");
  else if (isinf(x)) snprintf(buf, cap, x > 0 ? "Infinity" : "-Infinity");
  else snprintf(buf, cap, "%.17g", x);
}

static int send_exec(pg_conn *c, stmt *s, const fg_val *p, int np, fg_error *err) {
  if (np != s->nparams)
    return fg__seterr(err, FG_EINVAL, "%s: %d parameters given, %d expected", s->q->name, np,
                      s->nparams);
  if (np > MAX_PARAMS)
    return fg__seterr(err, FG_ELIMIT, "%s: %d parameters (at most %d)", s->q->name, np, MAX_PARAMS);
  const char *values[MAX_PARAMS];
  int lengths[MAX_PARAMS], formats[MAX_PARAMS];
  char num[MAX_PARAMS][32];
  for (int i = 0; i < np; i++) {
    lengths[i] = 0;
    formats[i] = 0;
    switch (p[i].type) {
    case FG_VAL_NULL: values[i] = NULL; break;
    case FG_VAL_INT:
      snprintf(num[i], sizeof num[i], "%lld", (long long)p[i].i);
      values[i] = num[i];
      break;
    case FG_VAL_REAL:
      real_text(p[i].r, num[i], sizeof num[i]);
      values[i] = num[i];
      break;
    case FG_VAL_TEXT: values[i] = p[i].s; break;
    case FG_VAL_BLOB:
      if (p[i].n > (size_t)INT32_MAX)
        return fg__seterr(err, FG_ELIMIT, "%s: parameter %d is too large", s->q->name, i + 1);
      values[i] = p[i].b ? (const char *)p[i].b : NULL;
      lengths[i] = (int)p[i].n;
      formats[i] = 1;
      break;
    default: return fg__seterr(err, FG_EINVAL, "%s: parameter %d has a bad type", s->q->name, i + 1);
    }
  }
  if (!PQsendQueryPrepared(c->pc, s->name, np, values, lengths, formats, 1)) {
    char line[256];
    mark_broken(c, first_line(PQerrorMessage(c->pc), line, sizeof line));
    return fg__seterr(err, FG_EUNAVAILABLE, "%s: %s", s->q->name, line);
  }
  return push(c, PEND_QUERY, s->q, NULL, err);
}

/* Inside a transaction: nothing more can run once something failed. */
static int txn_failed(pg_conn *c, fg_error *err) {
  if (!c->in_txn || !c->failure.code) return FG_OK;
  if (err) *err = c->failure;
  return c->failure.code;
}

static int pg_exec(void *conn, const fg_query *q, const fg_val *params, int np, fg_row_fn fn,
                   void *ctx, fg_error *err) {
  pg_conn *c = conn;
  int rc = txn_failed(c, err);
  if (rc == FG_OK && !c->in_txn) rc = ensure_connected(c, err);
  if (rc != FG_OK) return rc;
  stmt *s = NULL;
  if ((rc = get_stmt(c, q, &s, err)) != FG_OK || (rc = send_exec(c, s, params, np, err)) != FG_OK)
    return rc;
  c->pend[c->npend - 1].fn = fn;
  c->pend[c->npend - 1].ctx = ctx;
  if (c->batching) { /* read by batch_run; outside a transaction, each its own */
    if (c->in_txn) return FG_OK;
    if (!PQpipelineSync(c->pc)) {
      char line[256];
      mark_broken(c, first_line(PQerrorMessage(c->pc), line, sizeof line));
      return fg__seterr(err, FG_EUNAVAILABLE, "database: %s", line);
    }
    return push(c, PEND_SYNC, NULL, "sync", err);
  }
  if (!c->in_txn) return sync_all(c, err);
  if (!fn) return FG_OK; /* deferred: read with the next rows or the commit */
  if (!PQsendFlushRequest(c->pc)) {
    char line[256];
    mark_broken(c, first_line(PQerrorMessage(c->pc), line, sizeof line));
    return txn_failed(c, err);
  }
  return drain(c, c->timeout_ms, NULL, err);
}

static int64_t pg_changes(void *conn) {
  pg_conn *c = conn;
  if (c->pc && c->npend > 0) {
    fg_error e;
    if (!c->in_txn || !PQsendFlushRequest(c->pc) || drain(c, c->timeout_ms, NULL, &e) != FG_OK)
      return -1;
  }
  return c->failure.code ? -1 : c->changes;
}

/* ---- transactions ------------------------------------------------------------ */

static int pg_begin(void *conn, fg_error *err) {
  pg_conn *c = conn;
  int rc = ensure_connected(c, err);
  if (rc != FG_OK) return rc;
  int ro = (c->flags & FG_STORE_READONLY) != 0;
  rc = send_command(c, ro ? "BEGIN READ ONLY" : "BEGIN", "begin", 0, err);
  stmt *s = NULL;
  if (rc == FG_OK && !ro && (rc = get_stmt(c, &WRITER_LOCK, &s, err)) == FG_OK)
    rc = send_exec(c, s, NULL, 0, err);
  if (rc != FG_OK) return rc;
  c->in_txn = 1;
  memset(&c->failure, 0, sizeof c->failure);
  return FG_OK;
}

static void pg_rollback(void *conn) {
  pg_conn *c = conn;
  c->in_txn = 0;
  c->batching = 0;
  memset(&c->failure, 0, sizeof c->failure);
  if (!c->pc) return;
  /* A sync first: after a failure the pipeline skips everything up to one. */
  fg_error e;
  if (!PQpipelineSync(c->pc) || push(c, PEND_SYNC, NULL, "sync", &e) != FG_OK ||
      send_command(c, "ROLLBACK", "rollback", 0, &e) != FG_OK) {
    if (c->pc) mark_broken(c, "rollback failed");
    return;
  }
  sync_all(c, &e);
}

/* Queue a sync point. */
static int send_sync(pg_conn *c, fg_error *err) {
  if (!PQpipelineSync(c->pc)) return fg__seterr(err, FG_EUNAVAILABLE, "commit: connection lost");
  return push(c, PEND_SYNC, NULL, "sync", err);
}

static int pg_commit(void *conn, fg_error *err) {
  pg_conn *c = conn;
  int rc = txn_failed(c, err);
  int barrier = !(c->flags & (FG_STORE_READONLY | FG_STORE_NOSYNC));
  if (rc == FG_OK && !c->pc) rc = fg__seterr(err, FG_EUNAVAILABLE, "commit: no connection");
  if (rc == FG_OK && barrier) /* the writer lock goes with the commit record */
    rc = send_command(c, "SET LOCAL synchronous_commit = off", "commit", 0, err);
  if (rc == FG_OK) rc = send_command(c, "COMMIT", "commit", 0, err);
  if (rc == FG_OK) rc = send_sync(c, err);
  stmt *s = NULL;
  if (rc == FG_OK && barrier && (rc = get_stmt(c, &BARRIER, &s, err)) == FG_OK)
    rc = send_exec(c, s, NULL, 0, err); /* durable, and on the standby, when this one is */
  if (rc == FG_OK && barrier) rc = send_sync(c, err);
  int cancelled = 0;
  if (rc == FG_OK) rc = drain(c, c->commit_timeout_ms, &cancelled, err);
  if (rc == FG_OK && cancelled) {
    /* The commit itself ran: only the wait for the standby was cut short. */
    c->stats.unreplicated_commits++;
    fg__log(FG_LOG_ERROR,
            "store %s: a commit was not confirmed by the synchronous standby within %.0f ms; it "
            "exists on the primary only (unreplicated commits so far: %llu)",
            c->shown, c->commit_timeout_ms, (unsigned long long)c->stats.unreplicated_commits);
    rc = fg__seterr(err, FG_EUNAVAILABLE,
                    "commit not confirmed by the synchronous standby within %.0f ms (it may exist "
                    "on the primary only)", c->commit_timeout_ms);
  }
  if (rc == FG_OK || cancelled) {
    c->in_txn = 0;
    memset(&c->failure, 0, sizeof c->failure);
    return rc;
  }
  fg_error keep = err ? *err : (fg_error){0};
  pg_rollback(c);
  if (err) *err = keep;
  return rc;
}

/* A migration: statements separated by ';' (no ';' inside facegate's DDL). */
static int pg_exec_script(void *conn, const char *sql, fg_error *err) {
  pg_conn *c = conn;
  char *copy = strdup(sql);
  if (!copy) return fg__seterr(err, FG_ENOMEM, "store: out of memory");
  int rc = c->pc ? FG_OK : fg__seterr(err, FG_EUNAVAILABLE, "migration: no connection");
  char *save = NULL;
  for (char *s = strtok_r(copy, ";", &save); s && rc == FG_OK; s = strtok_r(NULL, ";", &save)) {
    if (!s[strspn(s, " \t\r\n")]) continue;
    rc = send_command(c, s, "migration", 0, err);
  }
  free(copy);
  if (rc == FG_OK && !c->in_txn) rc = sync_all(c, err);
  return rc;
}

static int take_count(void *ctx, const fg_val *cols, int n, fg_error *err) {
  (void)n, (void)err;
  *(int64_t *)ctx = cols[0].type == FG_VAL_INT ? cols[0].i : 0;
  return 1;
}

static int pg_count_tables(void *conn, int64_t *n, fg_error *err) {
  static const fg_query q = {
      "count_tables",
      "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()", 1};
  *n = 0;
  return pg_exec(conn, &q, NULL, 0, take_count, n, err);
}

/* ---- several servers: notifications -------------------------------------------- */

static int pg_notify(void *conn, const char *channel, const char *payload, fg_error *err) {
  static const fg_query q = {"notify", "SELECT pg_notify(?, ?)", 1};
  if (!valid_channel(channel) || (payload && strlen(payload) > 200))
    return fg__seterr(err, FG_EINVAL, "notify: bad channel or payload");
  fg_val p[2] = {FG_V_TEXT(channel), FG_V_TEXT(payload ? payload : "")};
  return pg_exec(conn, &q, p, 2, NULL, NULL, err);
}

static int pg_listen(void *conn, const char *channel, fg_error *err) {
  pg_conn *c = conn;
  if (!valid_channel(channel)) return fg__seterr(err, FG_EINVAL, "listen: bad channel name");
  if (c->in_txn) return fg__seterr(err, FG_ECONFLICT, "listen: inside a transaction");
  for (int i = 0; i < c->nchannels; i++)
    if (!strcmp(c->channels[i], channel)) return FG_OK;
  if (c->nchannels == (int)(sizeof c->channels / sizeof c->channels[0]))
    return fg__seterr(err, FG_ELIMIT, "listen: too many channels");
  snprintf(c->channels[c->nchannels++], sizeof c->channels[0], "%s", channel);
  int rc = ensure_connected(c, err);
  if (rc != FG_OK) return rc == FG_EUNAVAILABLE ? FG_OK : rc; /* LISTENed at reconnection */
  char sql[96];
  snprintf(sql, sizeof sql, "LISTEN \"%s\"", channel);
  rc = send_command(c, sql, "listen", 0, err);
  return rc == FG_OK ? sync_all(c, err) : rc;
}

static int pg_poll(void *conn, fg_notify_fn fn, void *ctx) {
  pg_conn *c = conn;
  int calls = 0;
  if (c->in_txn || c->npend) return 0;
  if (c->reconnected) {
    c->reconnected = 0;
    fn(ctx, NULL, NULL);
    calls++;
  }
  if (!c->pc) return calls;
  if (!PQconsumeInput(c->pc)) {
    mark_broken(c, "connection lost while idle");
    return calls;
  }
  for (PGnotify *n; (n = PQnotifies(c->pc)) != NULL; PQfreemem(n)) {
    fn(ctx, n->relname, n->extra);
    calls++;
  }
  return calls;
}

static void pg_stats(void *conn, fg_store_stats *out) { *out = ((pg_conn *)conn)->stats; }

/* ---- batches of reads ------------------------------------------------------------ */

static void pg_batch_begin(void *conn) { ((pg_conn *)conn)->batching = 1; }

static int pg_batch_run(void *conn, fg_error *err) {
  pg_conn *c = conn;
  c->batching = 0;
  int rc = txn_failed(c, err);
  if (rc != FG_OK || !c->pc || c->npend == 0) return rc;
  if (c->in_txn && !PQsendFlushRequest(c->pc)) {
    char line[256];
    mark_broken(c, first_line(PQerrorMessage(c->pc), line, sizeof line));
    return txn_failed(c, err);
  }
  return drain(c, c->timeout_ms, NULL, err);
}

/* nextval of the identity column's sequence: taken whatever becomes of the
 * transaction (a rolled-back one leaves a gap, as a failed INSERT would). */
#define NEXT_ID(table)                                                                     \
  {"next_id_" table, "SELECT nextval(pg_get_serial_sequence('" table "', 'id'))", 1}
static const fg_query NEXT_IDS[] = {NEXT_ID("encounters"), NEXT_ID("crossings"),
                                    NEXT_ID("referrals"), {NULL, NULL, 0}};
/* n consecutive ids: the sequence moved from its next value v to v + n - 1 in
 * one statement; writers hold the advisory lock, so nobody else's nextval on
 * this table comes between (their inserts are writers too). Returns the last. */
#define RESERVE_IDS(table)                                                                     \
  {"reserve_ids_" table,                                                                       \
   "SELECT setval(pg_get_serial_sequence('" table "', 'id'),"                                  \
   " nextval(pg_get_serial_sequence('" table "', 'id')) + CAST(? AS BIGINT) - 1)", 1}
static const fg_query RESERVE_IDS[] = {RESERVE_IDS("watchlist"), RESERVE_IDS("watchlist_templates"),
                                       {NULL, NULL, 0}};

/* The connection's URI without its password, and the password, for the
 * pg_dump / pg_restore child (postgres_dump.c). */
const char *fg__pg_uri(void *conn) { return ((pg_conn *)conn)->uri; }

const fg__store_backend fg__store_postgres = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .exec_script = pg_exec_script,
    .exec = pg_exec,
    .changes = pg_changes,
    .batch_begin = pg_batch_begin,
    .batch_run = pg_batch_run,
    .next_ids = NEXT_IDS,
    .reserve_ids = RESERVE_IDS,
    .migrations = fg__postgres_migrations,
    .count_tables = pg_count_tables,
    .backup = fg__pg_backup,
    .restore = fg__pg_restore,
    .discard = fg__pg_discard,
    .notify = pg_notify,
    .listen = pg_listen,
    .poll = pg_poll,
    .stats = pg_stats,
};
