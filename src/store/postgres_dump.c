/*
 * Backup and restore of a PostgreSQL store, through PostgreSQL's own tools:
 * `pg_dump --format=custom` (one consistent snapshot, taken online) and
 * `pg_restore --single-transaction --exit-on-error` into an empty database
 * (all or nothing). They run as child processes: the connection string goes
 * on their command line without its password, which travels in the child's
 * PGPASSWORD only, so that `ps` never shows it; their messages are captured
 * (the library does not print) and the last line is returned as the error.
 *
 * The tools are found on PATH, or in $FACEGATE_PG_BINDIR (a directory) when
 * set. The backup is written to "PATH.partial" (created 0600, exclusively)
 * and linked into place only when complete: an interrupted backup never
 * looks finished, and an existing file is never overwritten.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "common/internal.h"
#include "store/postgres_internal.h"
#include "store/store_internal.h"

extern char **environ;

/* A keyword=value connection string of uri without its password (values
 * quoted), and the password (empty when none). */
static int split_uri(const char *uri, char *conninfo, size_t cap, char *password, size_t pcap,
                     fg_error *err) {
  char *msg = NULL;
  PQconninfoOption *opts = PQconninfoParse(uri, &msg);
  if (!opts) {
    int rc = fg__seterr(err, FG_EINVAL, "store: bad connection URI (%s)", msg ? msg : "out of memory");
    PQfreemem(msg);
    return rc;
  }
  size_t used = 0;
  conninfo[0] = password[0] = 0;
  for (PQconninfoOption *o = opts; o->keyword; o++) {
    if (!o->val || !*o->val) continue;
    if (!strcmp(o->keyword, "password")) {
      snprintf(password, pcap, "%s", o->val);
      continue;
    }
    int n = snprintf(conninfo + used, cap - used, "%s%s='", used ? " " : "", o->keyword);
    if (n < 0 || (size_t)n >= cap - used) break;
    used += (size_t)n;
    for (const char *p = o->val; *p && used + 3 < cap; p++) {
      if (*p == '\'' || *p == '\\') conninfo[used++] = '\\';
      conninfo[used++] = *p;
    }
    if (used + 2 >= cap) break;
    conninfo[used++] = '\'';
    conninfo[used] = 0;
  }
  PQconninfoFree(opts);
  return FG_OK;
}

/* The child's environment: ours, with PGPASSWORD set to password (or removed). */
static char **child_env(const char *password) {
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 2, sizeof *env);
  if (!env) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "PGPASSWORD=", 11) != 0) env[k++] = environ[i];
  if (*password) {
    size_t len = strlen(password) + 12;
    if (!(env[k] = malloc(len))) {
      free(env);
      return NULL;
    }
    snprintf(env[k++], len, "PGPASSWORD=%s", password);
  }
  env[k] = NULL;
  return env;
}

static void free_env(char **env, const char *password) {
  if (!env) return;
  if (*password) {
    for (char **e = env; *e; e++) {
      if (!strncmp(*e, "PGPASSWORD=", 11)) {
        memset(*e, 0, strlen(*e));
        free(*e);
      }
    }
  }
  free(env);
}

/* Run tool with argv (argv[0] is its name); FG_OK if it exits 0, else its
 * last line of messages. */
static int run_tool(const char *tool, char *const argv[], const char *password, fg_error *err) {
  char prog[4096];
  const char *dir = getenv("FACEGATE_PG_BINDIR");
  if (dir && *dir) snprintf(prog, sizeof prog, "%s/%s", dir, tool);
  else snprintf(prog, sizeof prog, "%s", tool);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return fg__seterr(err, FG_EIO, "%s: %s", tool, strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  char **env = child_env(password);
  pid_t pid = 0;
  int sp = env ? posix_spawnp(&pid, prog, &fa, NULL, argv, env) : ENOMEM;
  posix_spawn_file_actions_destroy(&fa);
  free_env(env, password);
  close(pipefd[1]);
  if (sp != 0) {
    close(pipefd[0]);
    return fg__seterr(err, FG_EUNSUPPORTED, "cannot run %s: %s (install postgresql-client, or set "
                      "FACEGATE_PG_BINDIR)", tool, strerror(sp));
  }
  char msgs[4096];
  size_t used = 0;
  for (;;) {
    char buf[1024];
    ssize_t r = read(pipefd[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (ssize_t i = 0; i < r; i++) { /* keep the tail */
      if (used == sizeof msgs - 1) {
        memmove(msgs, msgs + 1024, used - 1024);
        used -= 1024;
      }
      msgs[used++] = buf[i];
    }
  }
  close(pipefd[0]);
  msgs[used] = 0;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return FG_OK;
  while (used > 0 && (msgs[used - 1] == '\n' || msgs[used - 1] == ' ')) msgs[--used] = 0;
  const char *last = strrchr(msgs, '\n');
  return fg__seterr(err, FG_EIO, "%s failed: %s", tool, last ? last + 1 : used ? msgs : "no message");
}

int fg__pg_backup(void *conn, const char *path, fg_error *err) {
  char conninfo[2048], password[512], tmp[4096], fileopt[4200], dbopt[2100];
  if (snprintf(tmp, sizeof tmp, "%s.partial", path) >= (int)sizeof tmp)
    return fg__seterr(err, FG_EINVAL, "backup: path too long");
  if (access(path, F_OK) == 0)
    return fg__seterr(err, FG_ECONFLICT, "%s: exists already (backups never overwrite)", path);
  int rc = split_uri(fg__pg_uri(conn), conninfo, sizeof conninfo, password, sizeof password, err);
  if (rc != FG_OK) return rc;
  unlink(tmp);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) rc = fg__seterr(err, FG_EIO, "%s: %s", tmp, strerror(errno));
  else {
    fchmod(fd, 0600);
    close(fd);
    snprintf(fileopt, sizeof fileopt, "--file=%s", tmp);
    snprintf(dbopt, sizeof dbopt, "--dbname=%s", conninfo);
    char *argv[] = {"pg_dump", "--format=custom", "--no-owner", "--no-privileges", fileopt, dbopt, NULL};
    rc = run_tool("pg_dump", argv, password, err);
    if (rc == FG_OK && link(tmp, path) != 0)
      rc = fg__seterr(err, errno == EEXIST ? FG_ECONFLICT : FG_EIO, "%s: %s", path, strerror(errno));
    unlink(tmp);
  }
  memset(password, 0, sizeof password);
  return rc;
}

static int count_tables(const char *conninfo, const char *password, int64_t *n, fg_error *err) {
  const char *kw[] = {"dbname", "password", "connect_timeout", NULL};
  const char *vals[] = {conninfo, *password ? password : NULL, "5", NULL};
  PGconn *pc = PQconnectdbParams(kw, vals, 1);
  int rc = FG_OK;
  if (!pc || PQstatus(pc) != CONNECTION_OK) {
    char line[300];
    snprintf(line, sizeof line, "%s", pc ? PQerrorMessage(pc) : "out of memory");
    line[strcspn(line, "\n")] = 0;
    rc = fg__seterr(err, FG_EUNAVAILABLE, "restore: cannot connect: %s", line);
  } else {
    PGresult *r = PQexec(pc, "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) *n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else rc = fg__seterr(err, FG_EIO, "restore: %s", PQerrorMessage(pc));
    PQclear(r);
  }
  PQfinish(pc);
  return rc;
}

int fg__pg_restore(const char *uri, const char *path, fg_error *err) {
  int dump = 0;
  int rc = fg__store_file_starts_with(path, "PGDMP", 5, &dump, err);
  if (rc != FG_OK) return rc;
  if (!dump)
    return fg__seterr(err, FG_EFORMAT, "%s: not a PostgreSQL dump (a SQLite backup restores into a "
                      "SQLite path)", path);
  char conninfo[2048], password[512], dbopt[2100];
  rc = split_uri(uri, conninfo, sizeof conninfo, password, sizeof password, err);
  int64_t tables = 0;
  if (rc == FG_OK) rc = count_tables(conninfo, password, &tables, err);
  if (rc == FG_OK && tables > 0)
    rc = fg__seterr(err, FG_ECONFLICT, "restore: the target database is not empty (%lld tables); "
                    "restore into a new database", (long long)tables);
  if (rc == FG_OK) {
    snprintf(dbopt, sizeof dbopt, "--dbname=%s", conninfo);
    char *argv[] = {"pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
                    "--exit-on-error", dbopt, (char *)path, NULL};
    rc = run_tool("pg_restore", argv, password, err);
  }
  memset(password, 0, sizeof password);
  return rc;
}

int fg__pg_discard(const char *uri, fg_error *err) {
  char conninfo[2048], password[512];
  int rc = split_uri(uri, conninfo, sizeof conninfo, password, sizeof password, err);
  if (rc != FG_OK) return rc;
  const char *kw[] = {"dbname", "password", "connect_timeout", NULL};
  const char *vals[] = {conninfo, *password ? password : NULL, "5", NULL};
  PGconn *pc = PQconnectdbParams(kw, vals, 1);
  memset(password, 0, sizeof password);
  if (!pc || PQstatus(pc) != CONNECTION_OK) {
    rc = fg__seterr(err, FG_EUNAVAILABLE, "discard: cannot connect: %s", pc ? PQerrorMessage(pc) : "out of memory");
  } else {
    PGresult *r = PQexec(pc, "DO $$ DECLARE s text := current_schema(); BEGIN"
                             " EXECUTE format('DROP SCHEMA %I CASCADE', s);"
                             " EXECUTE format('CREATE SCHEMA %I', s); END $$");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
      rc = fg__seterr(err, FG_EIO, "discard: %s", PQerrorMessage(pc));
    PQclear(r);
  }
  PQfinish(pc);
  return rc;
}
