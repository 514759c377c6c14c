/*
 * The database schema in SQLite's dialect, as an ordered list of migrations.
 * Migration i takes the store from version i to i + 1; fg_store_open applies
 * the ones a file lacks, each in its own transaction, and records the version
 * in `meta`. Never edit a released migration: add a new one, here and in
 * schema_postgres.c (the same schema in PostgreSQL's dialect; a test checks
 * that both have the same tables and columns).
 *
 * Conventions (kept portable between SQLite and PostgreSQL):
 *   - times are integer seconds since the Unix epoch, UTC (`*_at`);
 *     calendar dates (date of birth, expiry) are ISO text 'YYYY-MM-DD';
 *   - biometric data (images, templates) is only ever stored sealed
 *     (src/secure/seal.c) in columns named `*_sealed`, bound to its row by
 *     the associated data "facegate:<table>.<column>:<id>";
 *   - enumerations are text with a CHECK, so a row reads well in an audit.
 */
#include "store/store_internal.h"

static const char MIGRATION_1[] =
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);"

    /* People and their travel documents. */
    "CREATE TABLE travellers ("
    "  id INTEGER PRIMARY KEY,"
    "  surname TEXT NOT NULL,"
    "  given_names TEXT NOT NULL DEFAULT '',"
    "  date_of_birth TEXT,"
    "  nationality TEXT,"
    "  sex TEXT CHECK (sex IN ('F','M','X')),"
    "  category TEXT NOT NULL CHECK (category IN"
    "    ('citizen','resident','foreign','exempt')),"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE documents ("
    "  id INTEGER PRIMARY KEY,"
    "  traveller_id INTEGER NOT NULL REFERENCES travellers(id) ON DELETE CASCADE,"
    "  doc_type TEXT NOT NULL DEFAULT 'P',"
    "  doc_number TEXT NOT NULL,"
    "  issuing_state TEXT NOT NULL,"
    "  expiry TEXT,"
    "  UNIQUE (issuing_state, doc_number));"
    "CREATE INDEX documents_traveller ON documents(traveller_id);"

    /* Flights: the carrier's manifest and who is on it. */
    "CREATE TABLE manifests ("
    "  id INTEGER PRIMARY KEY,"
    "  carrier TEXT NOT NULL,"
    "  flight TEXT NOT NULL,"
    "  port TEXT NOT NULL,"
    "  scheduled_at INTEGER NOT NULL,"
    "  direction TEXT NOT NULL CHECK (direction IN ('entry','exit')),"
    "  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed','purged')),"
    "  revision INTEGER NOT NULL DEFAULT 0,"   /* bumped on every gallery change */
    "  created_at INTEGER NOT NULL,"
    "  closed_at INTEGER,"
    "  purged_at INTEGER,"
    "  UNIQUE (carrier, flight, scheduled_at));"
    "CREATE TABLE passengers ("
    "  manifest_id INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,"
    "  traveller_id INTEGER NOT NULL REFERENCES travellers(id),"
    "  document_id INTEGER NOT NULL REFERENCES documents(id),"
    "  status TEXT NOT NULL DEFAULT 'expected' CHECK (status IN"
    "    ('expected','crossed','referred','manual')),"
    "  enrolled INTEGER NOT NULL DEFAULT 0,"   /* templates in the staged gallery */
    "  problems TEXT,"                         /* JSON array of problem codes */
    "  admitted_until INTEGER,"                /* from the manifest (visa), if given */
    "  added_at INTEGER NOT NULL,"
    "  PRIMARY KEY (manifest_id, traveller_id));"
    "CREATE INDEX passengers_document ON passengers(document_id);"
    /* Document photos staged for a flight's gallery: the photo (sealed) and
     * its template (sealed). Deleted with the staged gallery. */
    "CREATE TABLE photos ("
    "  id INTEGER PRIMARY KEY,"
    "  manifest_id INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,"
    "  traveller_id INTEGER NOT NULL REFERENCES travellers(id),"
    "  source TEXT NOT NULL,"                  /* 'path:<name>', 'dg2', 'base64' */
    "  quality REAL,"
    "  image_sealed BLOB,"
    "  template_sealed BLOB,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX photos_manifest ON photos(manifest_id, traveller_id);"

    /* Every gate transaction, whatever its outcome. */
    "CREATE TABLE encounters ("
    "  id INTEGER PRIMARY KEY,"
    "  manifest_id INTEGER REFERENCES manifests(id) ON DELETE SET NULL,"
    "  port TEXT NOT NULL,"
    "  gate TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  outcome TEXT NOT NULL CHECK (outcome IN ('MATCHED','NO_MATCH',"
    "    'FAILURE_TO_ACQUIRE','LIVENESS_SUSPECT','OPT_OUT')),"
    "  traveller_id INTEGER REFERENCES travellers(id),"   /* matched or declared */
    "  category TEXT,"                         /* the traveller's, when known */
    "  score REAL, threshold REAL,"
    "  quality REAL, quality_reasons TEXT,"    /* JSON array of reason names */
    "  liveness REAL,"
    "  watchlist_id INTEGER,"                  /* a hit (no FK: entries expire) */
    "  watchlist_score REAL,"
    "  actor TEXT NOT NULL,"
    "  ms REAL,"                               /* transaction time */
    "  capture_sealed BLOB,"
    "  template_sealed BLOB,"
    "  capture_purged_at INTEGER,"
    "  template_purged_at INTEGER);"
    "CREATE INDEX encounters_at ON encounters(at);"
    "CREATE INDEX encounters_gate ON encounters(gate, id);"
    "CREATE INDEX encounters_manifest ON encounters(manifest_id);"

    /* Entries and exits. An exit links to the entry it closes. */
    "CREATE TABLE crossings ("
    "  id INTEGER PRIMARY KEY,"
    "  traveller_id INTEGER NOT NULL REFERENCES travellers(id),"
    "  direction TEXT NOT NULL CHECK (direction IN ('entry','exit')),"
    "  at INTEGER NOT NULL,"
    "  port TEXT NOT NULL,"
    "  manifest_id INTEGER REFERENCES manifests(id) ON DELETE SET NULL,"
    "  encounter_id INTEGER REFERENCES encounters(id) ON DELETE SET NULL,"
    "  method TEXT NOT NULL CHECK (method IN ('biometric','manual')),"
    "  officer TEXT,"                          /* manual: who decided */
    "  admitted_until INTEGER,"                /* foreign nationals on entry */
    "  entry_id INTEGER REFERENCES crossings(id) ON DELETE SET NULL,"
    "  category TEXT NOT NULL);"
    "CREATE INDEX crossings_traveller ON crossings(traveller_id, at);"
    "CREATE UNIQUE INDEX crossings_entry ON crossings(entry_id);"

    /* Watchlist: people to refer to an officer, never to act on automatically. */
    "CREATE TABLE watchlist ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  added_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER,"
    "  removed_at INTEGER);"
    "CREATE TABLE watchlist_templates ("
    "  id INTEGER PRIMARY KEY,"
    "  entry_id INTEGER NOT NULL REFERENCES watchlist(id) ON DELETE CASCADE,"
    "  image_sealed BLOB,"
    "  template_sealed BLOB NOT NULL);"
    "CREATE INDEX watchlist_templates_entry ON watchlist_templates(entry_id);"

    /* The officer's queue. */
    "CREATE TABLE referrals ("
    "  id INTEGER PRIMARY KEY,"
    "  encounter_id INTEGER NOT NULL REFERENCES encounters(id),"
    "  reason TEXT NOT NULL CHECK (reason IN ('no_match','failure_to_acquire',"
    "    'liveness','opt_out','watchlist','already_crossed')),"
    "  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN"
    "    ('open','secondary','confirmed','closed')),"
    "  created_at INTEGER NOT NULL,"
    "  candidate_id INTEGER REFERENCES travellers(id),"  /* matched / declared / nearest */
    "  officer TEXT,"
    "  decided_at INTEGER,"
    "  resolution TEXT,"
    "  traveller_id INTEGER REFERENCES travellers(id),"   /* confirmed identity */
    "  crossing_id INTEGER REFERENCES crossings(id) ON DELETE SET NULL);"
    "CREATE INDEX referrals_status ON referrals(status, id);"
    "CREATE TABLE referral_notes ("
    "  id INTEGER PRIMARY KEY,"
    "  referral_id INTEGER NOT NULL REFERENCES referrals(id) ON DELETE CASCADE,"
    "  officer TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  note TEXT NOT NULL);"

    /* The tamper-evident audit chain (src/secure/audit.c). Append-only. */
    "CREATE TABLE audit ("
    "  seq INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  role TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  object TEXT NOT NULL,"
    "  purpose TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  hash BLOB NOT NULL);"

    /* API tokens of the service: only a hash is kept. */
    "CREATE TABLE tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK (role IN ('gate','officer','supervisor','auditor','admin')),"
    "  hash BLOB NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  created_by TEXT NOT NULL,"
    "  revoked_at INTEGER);";

/* Idempotent gates: the first outcome of each (gate token, key) pair, sealed
 * (it names the traveller), kept as long as its encounter. */
static const char MIGRATION_2[] =
    "CREATE TABLE encounter_keys ("
    "  actor TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  encounter_id INTEGER NOT NULL REFERENCES encounters(id) ON DELETE CASCADE,"
    "  created_at INTEGER NOT NULL,"
    "  result_sealed BLOB NOT NULL,"
    "  PRIMARY KEY (actor, key));"
    "CREATE INDEX encounter_keys_encounter ON encounter_keys(encounter_id);"
    "CREATE INDEX encounters_port ON encounters(port, at);";

/* Personal data sealed like biometrics (issue 12): names, dates of birth,
 * nationality and sex (travellers.person_sealed), document numbers, issuing
 * states and expiries (documents.document_sealed), watchlist names and
 * reasons (watchlist.entry_sealed) and officers' notes
 * (referral_notes.note_sealed), each bound to its row. Searches go through
 * keyed blind indexes (src/border/personal.c): a document number's
 * (documents.number_index), a document's with its issuing state, unique
 * (documents.document_index), and a 16-bit bucket of the normalised surname
 * (travellers.surname_index; a bucket holds many names, the match is made
 * after unsealing). Migration 1's plaintext columns stay, emptied by
 * facegate when it opens the store with its key file (SQLite cannot drop a
 * column that a UNIQUE constraint names without rebuilding tables others
 * refer to): '' or NULL, documents.doc_number the document index in hex so
 * that the old UNIQUE (issuing_state, doc_number) still holds. */
static const char MIGRATION_3[] =
    "ALTER TABLE travellers ADD COLUMN person_sealed BLOB;"
    "ALTER TABLE travellers ADD COLUMN surname_index INTEGER;"
    "CREATE INDEX travellers_surname_index ON travellers(surname_index);"
    "ALTER TABLE documents ADD COLUMN document_sealed BLOB;"
    "ALTER TABLE documents ADD COLUMN number_index BLOB;"
    "ALTER TABLE documents ADD COLUMN document_index BLOB;"
    "CREATE INDEX documents_number_index ON documents(number_index);"
    "CREATE UNIQUE INDEX documents_document_index ON documents(document_index);"
    "ALTER TABLE watchlist ADD COLUMN entry_sealed BLOB;"
    "ALTER TABLE referral_notes ADD COLUMN note_sealed BLOB;";

/* The watchlist threshold each encounter was screened at (issue 16): an
 * officer reviewing a hit sees the score beside the threshold it passed. NULL
 * where the watchlist was not searched, and in encounters older than this. */
static const char MIGRATION_4[] = "ALTER TABLE encounters ADD COLUMN watchlist_threshold REAL;";

const char *const fg__sqlite_migrations[] = {MIGRATION_1, MIGRATION_2, MIGRATION_3, MIGRATION_4,
                                             NULL};
