/*
 * What a gate is told (fg_encounter_result_gate_json): the action and, for a
 * retake, its reasons; and why an opt-out was refused, for the service's
 * audit (fg_border_opt_out_refusal). border.h has the contract; docs/api.md
 * the member list. A gate is an unattended device that shows its answer to
 * whoever stands in front of it: a traveller on a watchlist must not learn it
 * there, nor anyone holding a gate token whether a given document is on a
 * flight.
 */
#include <string.h>

#include "border/border_internal.h"

static json_t *gate_json(const fg_encounter_result *r, int opt_out) {
  if (!r) return NULL;
  const char *action = r->gate_action ? r->gate_action : "see_officer";
  /* Not even "replayed": a retry of a refused opt-out is never a replay. */
  if (opt_out) return json_pack("{s:s}", "gate_action", "see_officer");
  json_t *o = json_pack("{s:I, s:s, s:b}", "encounter_id", (json_int_t)r->encounter_id,
                        "gate_action", action, "replayed", r->replayed);
  if (!o || strcmp(action, "retry") != 0) return o;
  json_t *reasons = json_array();
  for (unsigned i = 0; reasons && i < FG_QUALITY_REASON_COUNT; i++)
    if (r->quality_reasons & (1u << i))
      json_array_append_new(reasons, json_string(fg_quality_reason_name(1u << i)));
  if (!reasons || json_object_set_new(o, "retry_reasons", reasons) ||
      json_object_set_new(o, "tries", json_integer(r->tries))) {
    json_decref(o);
    return NULL;
  }
  return o;
}

const char *fg_border_opt_out_refusal(const fg_border *b) { return b ? b->opt_out_refusal : NULL; }

fg_doc *fg_encounter_result_gate_json(const fg_encounter_result *r, int opt_out) {
  return fg__doc(gate_json(r, opt_out));
}
