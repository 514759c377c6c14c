/*
 * facegate/doc.h — JSON documents the library hands out.
 *
 * Results that are lists or records (a manifest and its passengers, a
 * traveller's crossings, an audit verification, a report) come back as an
 * fg_doc: an opaque, read-only JSON document that the caller owns and frees.
 * Its members are documented in docs/border.md and are what the CLI's --json
 * and the service's API print.
 *
 *     fg_doc *list;
 *     if (fg_border_manifest_list(b, &who, &list, &e)) die(e.msg);
 *     char *text = fg_doc_text(list, FG_DOC_INDENT);
 *     puts(text);
 *     free(text);
 *     fg_doc_free(list);
 *
 * The type is opaque so that a program built on libfacegate never depends on
 * the JSON library the project uses inside (no third-party type crosses the
 * public headers, and its version can change without breaking callers).
 */
#ifndef FACEGATE_DOC_H
#define FACEGATE_DOC_H

#include <stddef.h>

#include "facegate/error.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

typedef struct fg_doc fg_doc;

/* Layout of fg_doc_text's output. */
#define FG_DOC_COMPACT 0 /* one line, no spaces */
#define FG_DOC_INDENT 1  /* two-space indentation, one member per line */

/* The document as UTF-8 JSON text, members in the order the library wrote
 * them; the caller frees it with free(). NULL: out of memory (or d NULL). */
char *fg_doc_text(const fg_doc *d, int flags);
/* Parse a JSON text (an object or an array) into a document, for the calls
 * that take one (fg_border_report_plot, fg_border_audit_event).
 * FG_EFORMAT with the line and column of the first error. */
int fg_doc_parse(const char *text, size_t len, fg_doc **out, fg_error *err);
/* Free a document; NULL is allowed. */
void fg_doc_free(fg_doc *d);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
