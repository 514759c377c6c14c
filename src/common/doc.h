/*
 * Inside view of fg_doc (facegate/doc.h): a document is a jansson value.
 * For the library's own layers (border, service, CLI, tests) only — a
 * program outside the project sees fg_doc as opaque.
 */
#ifndef FG_COMMON_DOC_H
#define FG_COMMON_DOC_H

#include <stdint.h>

#include <jansson.h>

#include "facegate/doc.h"

/* The jansson value behind a document (borrowed: the document still owns it). */
static inline json_t *fg__json(const fg_doc *d) { return (json_t *)(uintptr_t)d; }
/* A jansson value as a document (the reference moves to the document). */
static inline fg_doc *fg__doc(json_t *j) { return (fg_doc *)j; }

#endif
