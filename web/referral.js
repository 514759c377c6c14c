// facegate officer console: one referral (officer) — the capture beside the document or
// watchlist photo, and the decisions (confirm with the document check, secondary, close, note).

import { $, DASH, OUTCOMES, REASONS, STATUSES, api, append, badge, docText, facts, fmtAge, fmtNum, fmtTime, fold, go, h, hasCrossed, humanize, imgSrc, isNum, matchedCandidate, passengerStatusText, personName, present, put, s, say, state } from './core.js';
import { pollQueue } from './queue.js';

// ---- one referral ----------------------------------------------------------------------

export async function viewReferral(view, id, gen) {
  state.queueSel = id;
  view.append(h('p.muted', { text: `Loading referral ${id}…` }));
  const r = await api(`/v1/referrals/${encodeURIComponent(id)}?images=1`);
  if (gen !== state.gen) return;
  // The referral names its candidate ({id, name}); the flight's passenger list
  // has the rest (born, nationality, document), and the confirmation dialog
  // chooses among its passengers.
  r._passengers = null;
  if (r.manifest_id !== null) {
    try {
      r._passengers = (await api(`/v1/manifests/${encodeURIComponent(r.manifest_id)}`)).passengers;
    } catch { /* shown without the details */ }
    if (gen !== state.gen) return;
  }
  // the candidate's passenger record (born, nationality, document, status)
  r._candidatePassenger = (r._passengers || []).find((p) => p.traveller_id === r.candidate?.id) || null;
  state.referral = r;
  renderReferral(view, r);
}


const byDocument = (r) => ['opt_out', 'failure_to_acquire'].includes(r.reason);

// A photo shown at its own resolution (never enlarged), with its size said.
function photoImg(src, alt, id) {
  const img = h('img.natural', { src, alt, id });
  const size = h('div.muted.size');
  img.addEventListener('load', () => { size.textContent = `${img.naturalWidth}×${img.naturalHeight} px, shown at its own resolution`; });
  return [img, size];
}

function captureFigure(r, { compact = false } = {}) {
  const enc = r.encounter || {};
  const faceSrc = r.capture_face ? imgSrc(r.capture_face.image) : null;
  const whole = imgSrc(r.capture);
  const fig = h('figure.photo', { id: compact ? 'confirm-capture' : 'capture' },
    h('figcaption', { text: faceSrc ? 'Live capture — face region' : 'Live capture' }));
  if (faceSrc || whole) {
    const [img, size] = photoImg(faceSrc || whole, `Live capture at gate ${r.gate ?? ''}`);
    fig.append(img, size);
    if (faceSrc && whole && !compact) {
      let showingWhole = false;
      const toggle = h('button.btn-quiet.small', { type: 'button', id: 'capture-toggle' }, 'Show the whole frame');
      toggle.addEventListener('click', () => {
        showingWhole = !showingWhole;
        img.src = showingWhole ? whole : faceSrc;
        fig.classList.toggle('whole', showingWhole);
        toggle.textContent = showingWhole ? 'Show the face region' : 'Show the whole frame';
        put(fig.querySelector('figcaption'), showingWhole ? 'Live capture — whole frame' : 'Live capture — face region');
      });
      fig.append(toggle);
    }
  } else {
    fig.append(h('div.none', { text: r.outcome === 'OPT_OUT' ? 'Opt-out: no photo was taken' : 'No capture kept (purged or not taken)' }));
  }
  fig.append(h('div.muted', { text: `Gate ${r.gate ?? DASH} · ${fmtTime(r.encounter_at)}` }));
  return fig;
}

function documentFigure(photos, who, emptyText, id = 'document-photos') {
  const srcs = (photos || []).map(imgSrc).filter(Boolean);
  const fig = h('figure.photo', { id }, h('figcaption', { text: who ? `Document photo — ${who}` : 'Document photo' }));
  if (srcs.length) {
    fig.append(...photoImg(srcs[0], `Document photo of ${who || 'the passenger'}`));
    if (srcs.length > 1) fig.append(h('div.thumbs', null, srcs.slice(1).map((src, i) => h('img', { src, alt: `Document photo ${i + 2}` }))));
  } else {
    fig.append(h('div.none', { text: emptyText }));
  }
  return fig;
}

function renderReferral(view, r) {
  const enc = r.encounter || {};
  const cand = matchedCandidate(r);
  const pax = cand ? r._candidatePassenger : null;
  const wl = r.watchlist;
  const { status, reason, outcome, score, threshold: thr } = r;
  const decidable = status === 'open' || status === 'secondary';

  const figures = [captureFigure(r)];
  figures.push(documentFigure(cand ? r.document_photos : [], cand ? cand.name : '',
    cand ? 'No staged document photo'
      : 'No match: nobody is proposed. Confirm (c) to find the passenger whose document you hold; their document photo is shown there beside this capture.'));
  const wlPhotos = (wl?.photos || []).map(imgSrc).filter(Boolean);
  if (wl) {
    const fig = h('figure.photo.alert', { id: 'watchlist-photo' }, h('figcaption', { text: `Watchlist photo — ${wl.name ?? `entry #${wl.id}`}` }));
    if (wlPhotos.length) {
      fig.append(...photoImg(wlPhotos[0], 'Watchlist photo'));
      if (wlPhotos.length > 1) fig.append(h('div.thumbs', null, wlPhotos.slice(1).map((src) => h('img', { src, alt: 'Watchlist photo' }))));
    } else fig.append(h('div.none', { text: 'The entry keeps no photo (removed, or added from templates only)' }));
    figures.push(fig);
  }

  // score vs threshold
  const passes = isNum(score) && isNum(thr) ? score >= thr : null;
  const scorePanel = h('div.panel', { id: 'score' },
    h('h2', { text: 'Face match (1:N, flight gallery)' }),
    h('div.meter', null,
      h('span.val', { text: fmtNum(score) }), ' ',
      passes === null ? h('span.muted', { text: 'not searched' })
        : passes ? h('span.badge.ok', { text: '✓ at or above threshold' }) : h('span.badge.bad', { text: '✗ below threshold: not a match' }),
      h('div.muted', { text: `threshold ${fmtNum(thr)}` })),
    isNum(score) ? scoreBar(score, thr) : null,
    facts([
      ['Quality', isNum(enc.quality) ? `${fmtNum(enc.quality, 1)} / 100` : DASH],
      ['Quality reasons', reasonsList(r.reasons)],
      ['Liveness', livenessText(enc.liveness)],
    ]));

  const wlScore = wl?.score ?? enc.watchlist_score;
  const wlThr = wl?.threshold;
  const wlPanel = wl || isNum(enc.watchlist_id) ? h('div.panel.alert', { id: 'watchlist' },
    h('h2', { text: '⚑ Watchlist hit — for review, never acted on automatically' }),
    facts([
      ['Entry', wl ? `${wl.name ?? DASH} (#${wl.id})` : `#${enc.watchlist_id}`],
      ['Reason', wl?.reason],
      ['Score', isNum(wlThr) ? `${fmtNum(wlScore)} (threshold ${fmtNum(wlThr)}: ${wlScore >= wlThr ? 'at or above' : 'below'})` : fmtNum(wlScore)],
    ])) : null;

  const doc = pax?.document;
  const historyRef = doc?.number || cand?.id;
  const candPanel = h('div.panel', { id: 'candidate' },
    h('h2', { text: !cand ? 'No passenger proposed' : byDocument(r) ? 'Document holder (the document presented at the gate)' : 'Matched passenger (from the manifest)' }),
    cand ? facts([
      ['Name', cand.name],
      ['Born', pax?.date_of_birth],
      ['Nationality', pax?.nationality],
      ['Sex', pax?.sex],
      ['Category', pax?.category],
      ['Document', docText(doc) || DASH],
      ['Expiry', doc?.expiry],
      ['Passenger status', passengerStatusText(pax?.status)],
      ['History', present(historyRef) ? h('a', {
        href: '#/traveller', onclick: () => { state.travellerRef = String(historyRef); },
        text: 'crossing history',
      }) : DASH],
    ]) : h('p', { text: isNum(score) && isNum(thr)
      ? `Nobody on the flight reached the threshold (best score ${fmtNum(score)} < ${fmtNum(thr)}). Check the document by hand; to record a crossing, confirm and find the passenger whose document you hold.`
      : 'Nobody was matched. Check the document by hand; to record a crossing, confirm and find the passenger whose document you hold.' }));

  const notes = r.notes;
  const decisionBar = h('div.decisions', { role: 'group', 'aria-label': 'Decision' },
    decisionButton('confirm', 'Confirm identity', 'c', decidable),
    decisionButton('secondary', 'Secondary', 's', decidable && status !== 'secondary'),
    decisionButton('close', 'Close', 'x', decidable),
    decisionButton('note', 'Add note', 'n', true),
    h('button.btn', { type: 'button', onclick: () => go('queue') }, 'Back to queue', h('kbd', { text: 'Esc' })));

  put(view,
    h('div.ref-head', null,
      h('h1', { tabindex: '-1', id: 'referral-title', text: `Referral #${r.id}` }),
      badge(REASONS, reason, true),
      outcome && OUTCOMES[outcome]?.[0] !== REASONS[reason]?.[0] ? h('span', null, 'gate outcome ', badge(OUTCOMES, outcome)) : null,
      badge(STATUSES, status),
      h('span.muted', { text: `waiting ${fmtAge(r.created_at)}` })),
    decisionBar,
    !decidable ? h('p.decided', { id: 'decided' },
      `Decided: ${STATUSES[status]?.[0] ?? status} by ${r.officer ?? DASH} at ${fmtTime(r.decided_at)}`,
      r.resolution ? ` — ${r.resolution}` : '') : null,
    h('div.photos', null, figures),
    h('div.panels', null, wlPanel, scorePanel, candPanel,
      h('div.panel', { id: 'notes' }, h('h2', { text: 'Notes' }),
        notes.length ? h('ul.notes', null, notes.map((n) => h('li', null,
          h('b', { text: n.officer }), ` · ${fmtTime(n.at)}: `, n.note ?? '')))
          : h('p.muted', { text: 'No notes yet.' }))));
  $('#referral-title').focus();
}


function scoreBar(score, thr) {
  const W = 320, H = 34, x = (v) => 10 + Math.min(Math.max(v, 0), 1) * (W - 20);
  const ok = isNum(thr) && score >= thr;
  return s('svg', { viewBox: `0 0 ${W} ${H + 14}`, class: 'scorebar', role: 'img', 'aria-label': `score ${fmtNum(score)} against threshold ${fmtNum(thr)}` },
    s('rect', { x: 10, y: 6, width: W - 20, height: H - 12, fill: '#fff', stroke: '#111' }),
    s('rect', { x: 10, y: 6, width: x(score) - 10, height: H - 12, fill: ok ? '#0b6b2e' : '#a3000b' }),
    isNum(thr) ? [s('line', { x1: x(thr), x2: x(thr), y1: 0, y2: H, stroke: '#111', 'stroke-width': 3, 'stroke-dasharray': '4 2' }),
      s('text', { x: x(thr), y: H + 12, 'text-anchor': 'middle' }, `threshold ${fmtNum(thr, 2)}`)] : null,
    s('text', { x: 10, y: H + 12 }, '0'), s('text', { x: W - 10, y: H + 12, 'text-anchor': 'end' }, '1'));
}

function reasonsList(list) {
  if (!list || !list.length) return 'none';
  return h('ul.reasons', null, list.map((x) => h('li', { text: humanize(x) })));
}

function livenessText(v) {
  if (!isNum(v)) return 'not measured';
  const min = state.policy?.liveness_min;
  return isNum(min) ? `${fmtNum(v)} (${v >= min ? 'live' : 'suspect'}, min ${fmtNum(min)})` : fmtNum(v);
}

function decisionButton(kind, label, key, enabled) {
  return h(`button.${kind}`, {
    type: 'button', id: `decide-${kind}`, disabled: !enabled, 'aria-keyshortcuts': key,
    onclick: () => startDecision(kind),
  }, label, h('kbd', { text: key }));
}

// A decision always goes through a small dialog (Enter sends, Esc cancels), so a
// stray key press at a busy desk never decides anything on its own. Confirming
// asks more: the officer picks the passenger, sees their document photo beside
// the live capture, and types the last characters of the document number.
export async function startDecision(kind) {
  const r = state.referral;
  if (!r || state.screen !== 'referral') return;
  const btn = $(`#decide-${kind}`);
  if (btn && btn.disabled) return;
  const dlg = $('#dialog');
  if (dlg.open) return;
  const titles = {
    confirm: 'Confirm identity — record a manual crossing',
    secondary: 'Send to secondary inspection',
    close: 'Close the referral (no crossing)',
    note: 'Add a note',
  };
  const form = h('form', { method: 'dialog', id: `decision-${kind}` });
  const noteInput = kind === 'note'
    ? h('textarea', { id: 'decision-note', rows: 3, required: true })
    : h('input', { type: 'text', id: 'decision-note', autocomplete: 'off' });
  const err = h('p.error', { role: 'alert', id: 'decision-error' });
  const chooser = kind === 'confirm' ? await confirmChooser(r) : null;
  if (state.referral !== r || state.screen !== 'referral') return;
  const sendBtn = h('button.btn-primary', { type: 'submit', id: 'decision-send' },
    { confirm: 'Record crossing ', note: 'Add note ' }[kind] || 'Record decision ', h('kbd', { text: 'Enter' }));
  append(form, [
    h('h2', { id: 'dialog-title', text: titles[kind] }),
    chooser ? chooser.el : null,
    h('label.field', { for: 'decision-note' }, kind === 'note' ? 'Note' : 'Note (optional)'),
    noteInput, err,
    h('div.actions', null,
      h('button.btn', { type: 'button', value: 'cancel', onclick: () => dlg.close() }, 'Cancel ', h('kbd', { text: 'Esc' })),
      sendBtn)]);
  if (chooser) chooser.onChange = (ready) => { sendBtn.disabled = !ready; if (ready) err.textContent = ''; };
  if (chooser) sendBtn.disabled = !chooser.ready();
  let sending = false;
  const send = async () => {
    if (sending) return;
    const body = { decision: kind };
    const note = noteInput.value.trim();
    if (note) body.note = note;
    if (kind === 'note' && !note) { err.textContent = 'Write the note first.'; return; }
    if (chooser) {
      const problem = chooser.problem();
      if (problem) { err.textContent = problem; chooser.focusProblem(); return; }
      body.traveller_id = chooser.travellerId();
    }
    sending = true;
    sendBtn.disabled = true;
    try {
      const out = await api(`/v1/referrals/${encodeURIComponent(r.id)}/decision`, { method: 'POST', body });
      dlg.close();
      const who = out.officer || state.me.name;
      const msgs = {
        confirm: `Referral #${r.id}: identity confirmed by ${who} (${chooser?.chosenName() ?? 'traveller'}); manual crossing recorded.`,
        secondary: `Referral #${r.id}: sent to secondary inspection by ${who}.`,
        close: `Referral #${r.id}: closed by ${who}.`,
        note: `Note added to referral #${r.id} by ${who}.`,
      };
      say(msgs[kind]);
      pollQueue(); // the summary changed: the list follows (the queue screen also forces it)
      if (kind === 'note') go('referral', r.id);
      else go('queue');
    } catch (e) {
      err.textContent = e.message;
      sending = false;
      sendBtn.disabled = chooser ? !chooser.ready() : false;
    }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); send(); });
  form.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || e.defaultPrevented) return;
    const t = e.target;
    if (t.tagName === 'TEXTAREA') { if (e.ctrlKey || e.metaKey) { e.preventDefault(); send(); } return; }
    if (t.id === 'traveller-filter' && chooser) { e.preventDefault(); if (chooser.chosen()) $('#confirm-digits').focus(); else send(); return; }
    // Enter in a one-line field sends (and, while something is missing, says what)
    if (t.tagName === 'INPUT') { e.preventDefault(); send(); }
  });
  put(dlg, form);
  dlg.showModal();
  (chooser ? chooser.focusEl : noteInput).focus();
}

// Comparison text: lower case, no accents, single spaces.
const CHECK_CHARS = 4;
// The part of a document number the officer must type from the document itself
// (its last characters); the screen never shows them.
const docTail = (n) => { const c = String(n || '').replace(/[\s<-]/g, '').toUpperCase(); return c.slice(-Math.min(CHECK_CHARS, c.length)); };
const maskDoc = (n) => { const c = String(n || ''); const k = docTail(c).length; return k ? `${c.slice(0, c.length - k)}${'•'.repeat(k)}` : ''; };
const CHOOSER_LIMIT = 40;

// The confirmation: the flight's passengers who have not crossed yet (crossed
// ones are listed, but cannot be chosen), nobody chosen unless the gate
// matched them; the chosen passenger's document photo beside the live
// capture; and the last characters of their document number typed from the
// document in hand. The decision can be sent only when all of that agrees.
async function confirmChooser(r) {
  let passengers = r._passengers || [];
  if (!r._passengers && r.manifest_id !== null) {
    try {
      passengers = (await api(`/v1/manifests/${encodeURIComponent(r.manifest_id)}`)).passengers;
    } catch { /* no list: nothing can be chosen, and the dialog says so */ }
  }
  const match = matchedCandidate(r);
  const matchId = match ? String(match.id) : null;
  const people = [];
  const seen = new Set();
  for (const p of passengers) {
    const id = String(p.traveller_id);
    if (seen.has(id)) continue;
    seen.add(id);
    const doc = p.document;
    people.push({
      id, name: personName(p), doc: doc.number || '', docType: doc.type || '', issuer: doc.issuing_state || '',
      dob: p.date_of_birth || '', nat: p.nationality || '', status: p.status,
      crossed: hasCrossed(p.status), isMatch: id === matchId,
    });
  }
  // selectable first (the gate's match on top), crossed last
  people.sort((a, b) => (a.crossed - b.crossed) || (b.isMatch - a.isMatch) || a.name.localeCompare(b.name));
  const open = people.filter((p) => !p.crossed).length;
  const filter = h('input', { type: 'search', id: 'traveller-filter', placeholder: 'Name or document number…', autocomplete: 'off', spellcheck: 'false' });
  const box = h('div.choices', { role: 'radiogroup', 'aria-label': 'Passengers', id: 'traveller-choices' });
  const more = h('p.muted', { id: 'traveller-more' });
  const digits = h('input', { type: 'text', id: 'confirm-digits', autocomplete: 'off', spellcheck: 'false', maxlength: 12, inputmode: 'text', disabled: true });
  const digitsHint = h('span.muted', { id: 'confirm-digits-hint' });
  const chosenFacts = h('div', { id: 'confirm-chosen' });
  const docFig = h('div', { id: 'confirm-document' });
  let chosen = null;
  const api_ = { onChange: null };
  const photoCache = new Map();

  const labels = new Map();
  for (const p of people) {
    const radio = h('input', { type: 'radio', name: 'traveller', value: p.id, id: `t-${p.id}`, disabled: p.crossed });
    const label = h(`label${p.crossed ? '.crossed' : ''}`, { for: `t-${p.id}`, dataset: { id: p.id, search: fold(`${p.name} ${p.doc} ${p.id}`) } }, radio,
      h('span', null, h('b', { text: p.name || `traveller ${p.id}` }),
        ` · ${p.doc ? maskDoc(p.doc) : 'no document'}`, p.dob ? ` · born ${p.dob}` : '', p.nat ? ` · ${p.nat}` : '',
        p.crossed ? h('span.badge.ok', { text: `${passengerStatusText(p.status)} — cannot be chosen` })
          : p.isMatch ? h('span.badge.info', { text: byDocument(r) ? 'document presented at the gate' : 'matched at the gate' }) : null));
    radio.addEventListener('change', () => { if (radio.checked) choose(p); });
    radio.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); if (!radio.checked) { radio.checked = true; choose(p); } digits.focus(); } });
    labels.set(p.id, label);
    box.append(label);
  }

  function applyFilter() {
    const q = fold(filter.value);
    let shown = 0, hidden = 0;
    for (const p of people) {
      const l = labels.get(p.id);
      const hit = !q || l.dataset.search.includes(q) || (q.length >= 3 && fold(p.doc.replace(/[\s<-]/g, '')).includes(q.replace(/[\s<-]/g, '')));
      const show = hit && shown < CHOOSER_LIMIT;
      l.hidden = !show;
      if (show) shown++; else if (hit) hidden++;
    }
    if (chosen && labels.get(chosen.id).hidden) { // what was chosen no longer fits what is typed
      $('input', labels.get(chosen.id)).checked = false;
      unchoose();
    }
    more.textContent = hidden ? `${hidden} more match — type more of the name or document number.` : shown ? '' : 'No passenger of this flight matches.';
    // One selectable passenger left for what was typed: that is the choice.
    const selectable = people.filter((p) => !p.crossed && !labels.get(p.id).hidden);
    if (q.length >= 3 && selectable.length === 1 && hidden === 0 && (!chosen || chosen.id !== selectable[0].id)) {
      $('input', labels.get(selectable[0].id)).checked = true;
      choose(selectable[0]);
    }
  }
  filter.addEventListener('input', applyFilter);
  filter.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      const first = (chosen && !labels.get(chosen.id).hidden ? $('input', labels.get(chosen.id)) : null)
        || [...box.querySelectorAll('label:not([hidden]) input:not([disabled])')][0];
      first?.focus();
    }
  });

  async function choose(p) {
    chosen = p;
    digits.disabled = false;
    digits.value = '';
    const tail = docTail(p.doc);
    digitsHint.textContent = p.doc ? `the last ${tail.length} characters of ${p.name}'s ${p.docType === 'P' ? 'passport' : 'document'} number${p.issuer ? ` (${p.issuer})` : ''}, read from the document in hand` : 'this passenger has no document number on the manifest';
    put(chosenFacts, facts([
      ['Passenger', p.name || `traveller ${p.id}`],
      ['Born', p.dob || DASH],
      ['Nationality', p.nat || DASH],
      ['Document', p.doc ? `${p.docType} ${maskDoc(p.doc)} ${p.issuer}`.trim() : DASH],
      ['Status', passengerStatusText(p.status)],
    ]));
    put(docFig, h('p.muted', { text: 'Loading the document photo…' }));
    update();
    let photos = photoCache.get(p.id);
    if (!photos) {
      try {
        const out = await api(`/v1/referrals/${encodeURIComponent(r.id)}/document-photos?traveller_id=${encodeURIComponent(p.id)}`);
        photos = out.photos;
      } catch (e) {
        photos = { error: e.message };
      }
      photoCache.set(p.id, photos);
    }
    if (chosen !== p) return;
    put(docFig, photos.error ? h('p.error', { text: `Document photo not available: ${photos.error}` })
      : documentFigure(photos, p.name, 'No staged document photo for this passenger', 'confirm-document-photo'));
  }

  function unchoose() {
    chosen = null;
    digits.value = '';
    digits.disabled = true;
    digitsHint.textContent = '';
    put(chosenFacts);
    put(docFig, h('div.none', { text: 'Choose a passenger: their document photo is shown here, beside the live capture.' }));
    update();
  }

  function problem() {
    if (!people.length) return 'The flight\'s passenger list is not available: nobody can be chosen. Close the referral or send it to secondary.';
    if (!chosen) return 'Choose the passenger whose document you hold.';
    if (chosen.crossed) return `${chosen.name} has already crossed and cannot be chosen.`;
    if (!chosen.doc) return `${chosen.name} has no document number on the manifest: this cannot be confirmed here.`;
    const typed = digits.value.replace(/[\s<-]/g, '').toUpperCase();
    if (!typed) return `Type the last ${docTail(chosen.doc).length} characters of the document number, from the document in hand.`;
    if (typed !== docTail(chosen.doc)) return `That does not end ${chosen.name}'s document number. Check the document and the passenger chosen.`;
    return null;
  }
  const update = () => api_.onChange && api_.onChange(!problem());
  digits.addEventListener('input', update);

  const el = h('div.confirm', null,
    h('div.compare', null, captureFigure(r, { compact: true }), docFig),
    h('label.field', { for: 'traveller-filter' }, 'Find the passenger whose document you hold'),
    filter,
    h('p.muted', { id: 'traveller-counts', text: `${open} of ${people.length} passengers not yet crossed${people.length > open ? `; ${people.length - open} crossed (listed, cannot be chosen)` : ''}.` }),
    people.length ? box : h('p.error', { text: 'The flight\'s passenger list is not available: nobody can be chosen.' }),
    more,
    chosenFacts,
    h('label.field', { for: 'confirm-digits' }, 'Last characters of the document number ', digitsHint),
    digits);
  unchoose();
  if (matchId) {
    const p = people.find((x) => x.id === matchId && !x.crossed);
    if (p) { $('input', labels.get(p.id)).checked = true; choose(p); }
  }
  applyFilter();
  return Object.assign(api_, {
    el,
    focusEl: filter,
    ready: () => !problem(),
    problem,
    focusProblem: () => (chosen ? digits : filter).focus(),
    travellerId: () => Number(chosen.id),
    chosenName: () => chosen?.name,
    chosen: () => chosen,
  });
}
