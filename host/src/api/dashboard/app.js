// aiopt dashboard: calls /api/v1 and renders what it returns. No business
// logic here: improvements, feasibility, best-so-far and Pareto fronts all
// come from the API; this file only formats and draws.
'use strict';

// ===================================================================
// DOM and formatting helpers
// ===================================================================

const $ = (id) => document.getElementById(id);
const SVG_NS = 'http://www.w3.org/2000/svg';

/** Appends children (strings, nodes, arrays; null/false skipped). */
function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** An HTML element: attrs `class`, `text`, `data-*`, anything else as attribute. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  return append(node, children);
}

/** An SVG element with attributes. */
function svgEl(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (key === 'text') node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  return append(node, children);
}

function clear(node) {
  node.replaceChildren();
  return node;
}

const enc = encodeURIComponent;

/** Four significant digits, whole numbers without a fraction (the CLI's format). */
function fmt(x) {
  if (x === null || x === undefined) return '—';
  if (typeof x !== 'number') return String(x);
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  const magnitude = Math.floor(Math.log10(Math.abs(x)));
  const decimals = Math.min(12, Math.max(0, 3 - magnitude));
  return x.toFixed(decimals);
}

/** A percentage the API computed, with its sign. */
function fmtPct(p) {
  if (p === null || p === undefined || !Number.isFinite(p)) return '—';
  const abs = Math.abs(p);
  let text;
  if (abs === 0) return '0%';
  if (abs >= 1000) text = abs.toFixed(0);
  else if (abs >= 0.05) text = abs.toFixed(1);
  else text = String(Number(abs.toPrecision(2)));
  return `${p > 0 ? '+' : '−'}${text}%`;
}

function fmtInt(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return Math.round(x).toLocaleString('en-US');
}

/** Microseconds as ms or s. */
function fmtDuration(us) {
  if (us === null || us === undefined || !Number.isFinite(us)) return '—';
  if (us < 1000) return `${fmt(us)} µs`;
  if (us < 1e6) return `${fmt(us / 1000)} ms`;
  return `${fmt(us / 1e6)} s`;
}

function fmtBytes(b) {
  if (b === null || b === undefined || !Number.isFinite(b)) return '—';
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${fmt(b / 1024)} KiB`;
  if (b < 1024 ** 3) return `${fmt(b / 1024 ** 2)} MiB`;
  return `${fmt(b / 1024 ** 3)} GiB`;
}

/** An interval as "low – high". */
function fmtInterval(low, high) {
  if (low === null || low === undefined || high === null || high === undefined) return '—';
  return `${fmt(low)} – ${fmt(high)}`;
}

/** An ISO timestamp as a local "YYYY-MM-DD HH:MM:SS" inside <time>. */
function timeEl(iso) {
  if (!iso) return el('span', { class: 'subtle', text: '—' });
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return el('span', { text: iso });
  const p = (n) => String(n).padStart(2, '0');
  const text = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return el('time', { datetime: iso, title: iso, text });
}

/** A knob value (number, string, bool) as text. */
function fmtValue(v) {
  if (v === null || v === undefined) return '(unset)';
  if (typeof v === 'number') return fmt(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A configuration as "k=v, k=v". */
function fmtConfig(config) {
  if (!config || typeof config !== 'object') return String(config ?? '—');
  return Object.entries(config).map(([k, v]) => `${k}=${fmtValue(v)}`).join(', ');
}

/** A short label: the value alone for one knob, else "k=v k=v". */
function compactConfig(config) {
  if (!config || typeof config !== 'object') return String(config ?? '—');
  const entries = Object.entries(config);
  if (entries.length === 1) return fmtValue(entries[0][1]);
  return entries.map(([k, v]) => `${k}=${fmtValue(v)}`).join(' ');
}

function directionWords(direction) {
  if (direction === 'maximize') return '↑ better';
  if (direction === 'minimize') return '↓ better';
  return '';
}

function capitalize(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

// ===================================================================
// API: one helper for tokens, 401 retry and problem+json
// ===================================================================

const TOKEN_KEY = 'aiopt-token';

class ApiError extends Error {
  constructor({ status = 0, title = 'Error', detail = '', problems = null, type = null }) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.problems = problems;
    this.type = type;
  }
}

function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage unavailable: the token then lasts for this call only.
  }
}

/** One request; resolves to [response, the token it sent or null]. */
async function send(method, path, body) {
  const headers = { Accept: 'application/json, application/problem+json' };
  const token = storedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  try {
    return [await fetch(path, init), token];
  } catch (err) {
    throw new ApiError({
      title: 'Network error',
      detail: `could not reach the server for ${method} ${path} (${err && err.message ? err.message : err})`,
    });
  }
}

/** The error a failed response describes: problem+json, else status and text. */
async function readProblem(res) {
  let text = '';
  try {
    text = await res.text();
  } catch {
    text = '';
  }
  const type = res.headers.get('content-type') || '';
  if (type.includes('json') && text) {
    try {
      const p = JSON.parse(text);
      if (p && typeof p === 'object' && (p.title || p.detail)) {
        return new ApiError({
          status: p.status || res.status,
          title: p.title || `HTTP ${res.status}`,
          detail: p.detail || '',
          problems: Array.isArray(p.problems) ? p.problems : null,
          type: p.type || null,
        });
      }
    } catch {
      // Not JSON after all: fall through to the text.
    }
  }
  const status = `${res.status} ${res.statusText || ''}`.trim();
  return new ApiError({
    status: res.status,
    title: `HTTP ${status}`,
    detail: text.trim().slice(0, 600) || '(no body)',
  });
}

/**
 * Calls the API and returns the parsed JSON. On a 401 it asks for a token
 * (one dialog for all calls waiting) and retries with it; a rejected token
 * is asked for again, until the dialog is cancelled. Failures throw an
 * ApiError whose message is "Title: detail".
 */
async function api(method, path, body) {
  const started = performance.now();
  // Ask before the first call that needs a token rather than after its
  // 401 (which the browser would log as a failed request).
  if (!storedToken() && (await needsToken(method))) {
    const token = await askToken({ detail: 'this server needs one to ' + (method === 'GET' ? 'read' : 'change anything') }, false);
    if (!token) throw new ApiError({ status: 401, title: 'Unauthorized', detail: 'no token was given' });
  }
  let [res, sent] = await send(method, path, body);
  while (res.status === 401) {
    const problem = await readProblem(res);
    // The dialog was cancelled since this call started: do not ask again.
    if (tokenCancelledAt > started) throw problem;
    const stored = storedToken();
    // Another call got a new token meanwhile: try that one first.
    if (!stored || stored === sent) {
      const token = await askToken(problem, sent !== null);
      if (!token) throw problem;
    }
    [res, sent] = await send(method, path, body);
  }
  if (!res.ok) throw await readProblem(res);
  if (res.status === 204) return null;
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError({ status: res.status, title: 'Unexpected response', detail: `${method} ${path} did not return JSON` });
  }
}

// Whether the server wants a token for reads and for writes, from its
// health probe (which needs none), asked once.
let authPromise = null;

/** Whether a `method` call needs a token (false when unknown). */
async function needsToken(method) {
  if (!authPromise) {
    authPromise = fetch('/api/v1/health', { cache: 'no-store' })
      .then((res) => (res.ok ? res.json() : null))
      .then((health) => (health && health.auth ? health.auth : null))
      .catch(() => null);
  }
  const auth = await authPromise;
  if (!auth) return false;
  return method === 'GET' ? Boolean(auth.reads) : Boolean(auth.writes);
}

// Which routes the server documents (its OpenAPI document), so the page
// does not call a route an older server lacks (a 404 in the browser log).
let routesPromise = null;

const routeShape = (path) => path.replace(/\{[^}]*\}/g, '{}');

/** Whether the server has `path` (a template like /api/v1/studies/{study}/analysis); true if unknown. */
async function serverHasRoute(path) {
  if (!routesPromise) {
    routesPromise = api('GET', '/api/v1/openapi.json')
      .then((doc) => (doc && doc.paths ? new Set(Object.keys(doc.paths).map(routeShape)) : null))
      .catch(() => null);
  }
  const routes = await routesPromise;
  return routes === null || routes.has(routeShape(path));
}

// The token dialog: one at a time; calls that get a 401 meanwhile wait for it.
let pendingToken = null;
let tokenCancelledAt = -1;

function askToken(problem, rejected) {
  if (pendingToken) return pendingToken;
  // The token we sent (if any) was rejected: forget it.
  storeToken(null);
  const dialog = $('token-dialog');
  const input = $('token-input');
  const detail = problem && problem.detail ? `: ${problem.detail}` : '.';
  $('token-reason').textContent = rejected
    ? `The server rejected the token${detail}`
    : `The server asks for a bearer token${detail}`;
  input.value = '';
  pendingToken = new Promise((resolve) => {
    let settled = false;
    const finish = (token) => {
      if (settled) return;
      settled = true;
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      pendingToken = null;
      if (token) storeToken(token);
      else tokenCancelledAt = performance.now();
      resolve(token || null);
    };
    const form = $('token-form');
    const cancel = $('token-cancel');
    const onSubmit = (e) => {
      e.preventDefault();
      finish(input.value.trim());
    };
    const onCancel = () => finish(null);
    // A late close event of an earlier dialog must not cancel this one.
    const onClose = () => {
      if (!dialog.open) finish(null);
    };
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    input.focus();
  });
  return pendingToken;
}

// ===================================================================
// Status line, error boxes, panel states
// ===================================================================

function setStatus(text) {
  $('status').textContent = text;
}

/** Shows a progress message; the returned function clears it unless replaced. */
function progress(text) {
  setStatus(text);
  return () => {
    if ($('status').textContent === text) setStatus('');
  };
}

/** An error box ("Title: detail") in `slot`. */
function showError(slot, err) {
  const box = el('div', { class: 'error', role: 'alert' });
  if (err instanceof ApiError) {
    box.append(err.message);
    if (err.problems && err.problems.length) {
      const list = el('ul');
      for (const p of err.problems) list.append(el('li', { text: describeProblem(p) }));
      box.append(list);
    }
  } else {
    box.append(`Error: ${err && err.message ? err.message : String(err)}`);
  }
  slot.append(box);
}

/** One entry of a problem's `problems` list, in words. */
function describeProblem(p) {
  if (typeof p === 'string') return p;
  if (!p || typeof p !== 'object') return String(p);
  const where = [p.file, p.line, p.column].filter((x) => x !== undefined && x !== null && x !== '').join(':');
  const field = p.field ? ` ${p.field}` : '';
  const message = p.message || p.detail || p.problem || JSON.stringify(p);
  return `${where}${where ? ':' : ''}${field}${where || field ? ' — ' : ''}${message}`;
}

const TABS = ['optimize', 'benchmark', 'config', 'recommendations', 'plugins'];

const panels = {}; // name → { seqs, active, loadedKey, key(), load() }

function panelEl(name) {
  return $(`panel-${name}`);
}

function mainSlot(name) {
  return panelEl(name).querySelector('.error-slot');
}

/**
 * Runs `task` with the panel in data-state "loading", then "ready" once no
 * task of the panel is running, or "error" when an error box shows in it.
 * Tasks run on channels ("main" for a panel's load, others for actions);
 * a newer task on a channel supersedes the older one, whose results are
 * dropped (a model picked meanwhile wins).
 * `task(ctx)`: ctx.current() says whether the task is still the newest on
 * its channel; ctx.fail(err, slot) shows an error without stopping it.
 */
async function withPanel(name, task, { slot = null, channel = 'main' } = {}) {
  const panel = panels[name];
  const node = panelEl(name);
  const seq = (panel.seqs[channel] || 0) + 1;
  panel.seqs[channel] = seq;
  panel.active.set(channel, seq);
  node.dataset.state = 'loading';
  node.setAttribute('aria-busy', 'true');
  if (slot) clear(slot);
  else node.querySelectorAll('.error-slot').forEach((s) => clear(s));
  const current = () => panel.seqs[channel] === seq;
  const ctx = {
    current,
    fail: (err, where) => {
      if (current()) showError(where || slot || mainSlot(name), err);
    },
  };
  try {
    await task(ctx);
  } catch (err) {
    ctx.fail(err);
  }
  if (panel.active.get(channel) !== seq) return;
  panel.active.delete(channel);
  if (panel.active.size > 0) return;
  node.removeAttribute('aria-busy');
  node.dataset.state = node.querySelector('.error[role="alert"]') ? 'error' : 'ready';
}

/** Loads a panel when what it shows (its key) changed since its last load. */
function ensureLoaded(name) {
  const panel = panels[name];
  const key = panel.key();
  if (panel.loadedKey === key) return;
  panel.loadedKey = key;
  panel.load();
}

function definePanel(name, { key, load }) {
  const panel = {
    seqs: {},
    active: new Map(),
    loadedKey: undefined,
    key,
    load: () =>
      withPanel(name, async (ctx) => {
        await load(ctx);
        // The key as it is now (the model may have been chosen by the load).
        if (ctx.current()) panel.loadedKey = key();
      }).then(() => {
        // A failed load is retried when the tab is shown again.
        if (panelEl(name).dataset.state === 'error') panel.loadedKey = undefined;
      }),
  };
  panels[name] = panel;
}

// ===================================================================
// Tabs: an ARIA tablist driven by the URL hash
// ===================================================================

function tabFromHash() {
  const name = location.hash.replace(/^#/, '');
  return TABS.includes(name) ? name : 'optimize';
}

function showTab(name, focus = false) {
  for (const t of TABS) {
    const on = t === name;
    const tab = $(`tab-${t}`);
    tab.setAttribute('aria-selected', on ? 'true' : 'false');
    tab.tabIndex = on ? 0 : -1;
    panelEl(t).hidden = !on;
  }
  if (focus) $(`tab-${name}`).focus();
  ensureLoaded(name);
}

function selectTab(name, focus = false) {
  if (location.hash !== `#${name}`) location.hash = name;
  showTab(name, focus);
}

function setupTabs() {
  for (const t of TABS) {
    $(`tab-${t}`).addEventListener('click', () => selectTab(t));
  }
  document.querySelector('[role="tablist"]').addEventListener('keydown', (e) => {
    const current = TABS.indexOf(tabFromHash());
    let next = null;
    if (e.key === 'ArrowRight') next = (current + 1) % TABS.length;
    else if (e.key === 'ArrowLeft') next = (current - 1 + TABS.length) % TABS.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = TABS.length - 1;
    if (next === null) return;
    e.preventDefault();
    selectTab(TABS[next], true);
  });
  window.addEventListener('hashchange', () => showTab(tabFromHash()));
}

// ===================================================================
// Models: one picker per panel, one chosen model across tabs
// ===================================================================

const state = {
  model: null, // the chosen model's name
  models: null, // names, once loaded
};

// Counts runs and applies, so the Plugins tab reloads its activity after them.
const activity = { changes: 0 };

let modelsPromise = null;

/** The stored models' names (profiles de-duplicated by name, latest version). */
function loadModels() {
  if (!modelsPromise) {
    modelsPromise = api('GET', '/api/v1/profiles')
      .then((list) => {
        const latest = new Map();
        for (const p of Array.isArray(list) ? list : []) {
          const have = latest.get(p.name);
          if (!have || (p.version ?? 0) > (have.version ?? 0)) latest.set(p.name, p);
        }
        const names = [...latest.keys()].sort((a, b) => a.localeCompare(b));
        state.models = names;
        if (!state.model || !names.includes(state.model)) state.model = names[0] ?? null;
        fillModelSelects();
        return names;
      })
      .catch((err) => {
        modelsPromise = null;
        throw err;
      });
  }
  return modelsPromise;
}

function fillModelSelects() {
  for (const select of document.querySelectorAll('select.model-select')) {
    const names = state.models || [];
    if (names.length === 0) {
      clear(select).append(el('option', { value: '', text: 'No models' }));
    } else if (select.options.length !== names.length || [...select.options].some((o, i) => o.value !== names[i])) {
      clear(select);
      for (const name of names) select.append(el('option', { value: name, text: name }));
    }
    select.disabled = names.length === 0;
    if (state.model) select.value = state.model;
  }
}

function noModelsMessage() {
  return el('p', { class: 'empty' },
    'No models stored yet. Upload a profile (',
    el('code', { text: 'POST /api/v1/profiles' }),
    ' or ', el('code', { text: 'aiopt profile import' }), ') and reload this page.');
}

function setupModelSelects() {
  for (const select of document.querySelectorAll('select.model-select')) {
    select.addEventListener('change', () => {
      state.model = select.value;
      fillModelSelects();
      const name = select.closest('[role="tabpanel"]').id.replace('panel-', '');
      ensureLoaded(name);
    });
  }
}

// ===================================================================
// Charts: scales, ticks, axes
// ===================================================================

function linear(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** Round tick values covering [lo, hi]. */
function niceTicks(lo, hi, count = 5, integer = false) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { lo: 0, hi: 1, step: 0.2, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] };
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  let step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  if (integer) step = Math.max(1, Math.round(step));
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  const start = Math.floor(lo / step + 1e-9) * step;
  const end = Math.ceil(hi / step - 1e-9) * step;
  const ticks = [];
  for (let v = start; v <= end + step / 2; v += step) ticks.push(Number(v.toFixed(Math.min(decimals + 2, 20))));
  return { lo: ticks[0], hi: ticks[ticks.length - 1], step, ticks, decimals };
}

function tickLabel(v, scaleInfo) {
  return v.toLocaleString('en-US', {
    minimumFractionDigits: scaleInfo.decimals,
    maximumFractionDigits: scaleInfo.decimals,
  });
}

/** Sizes an SVG to its viewBox; CSS scales it to the container's width. */
function sizeSvg(svg, width, height) {
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  svg.setAttribute('preserveAspectRatio', 'xMinYMin meet');
}

/** Axes with grid lines for a scatter chart. */
function drawAxes(svg, box, xs, ys, xScale, yScale, xLabel, yLabel) {
  const g = svgEl('g', { class: 'axes' });
  for (const t of ys.ticks) {
    const y = yScale(t);
    g.append(svgEl('line', { class: 'grid', x1: box.left, x2: box.right, y1: y, y2: y }));
    g.append(svgEl('text', { class: 'tick', x: box.left - 6, y: y + 4, 'text-anchor': 'end', text: tickLabel(t, ys) }));
  }
  for (const t of xs.ticks) {
    const x = xScale(t);
    g.append(svgEl('line', { class: 'grid', x1: x, x2: x, y1: box.top, y2: box.bottom }));
    g.append(svgEl('text', { class: 'tick', x, y: box.bottom + 16, 'text-anchor': 'middle', text: tickLabel(t, xs) }));
  }
  g.append(svgEl('line', { class: 'axis-line', x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom }));
  g.append(svgEl('line', { class: 'axis-line', x1: box.left, x2: box.left, y1: box.top, y2: box.bottom }));
  g.append(svgEl('text', {
    class: 'axis-label', x: (box.left + box.right) / 2, y: box.bottom + 36, 'text-anchor': 'middle', text: xLabel,
  }));
  const cy = (box.top + box.bottom) / 2;
  g.append(svgEl('text', {
    class: 'axis-label', x: 16, y: cy, 'text-anchor': 'middle', transform: `rotate(-90 16 ${cy})`, text: yLabel,
  }));
  svg.append(g);
}

function emptyChart(svg, width, height, message) {
  clear(svg);
  sizeSvg(svg, width, height);
  svg.append(svgEl('text', { class: 'empty-text', x: width / 2, y: height / 2, 'text-anchor': 'middle', text: message }));
  svg.setAttribute('aria-label', message);
}

/** Two small bars, before and after, with the after interval as an error line. */
function beforeAfterBars(m) {
  const width = 170;
  const height = 34;
  const values = [m.before, m.after, m.low, m.high].filter((v) => typeof v === 'number' && Number.isFinite(v));
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const x = linear(lo, hi === lo ? lo + 1 : hi, 2, width - 6);
  const x0 = x(0);
  const bar = (v, y, cls) => {
    const a = Math.min(x0, x(v));
    const w = Math.max(1, Math.abs(x(v) - x0));
    return svgEl('rect', { class: cls, x: a, y, width: w, height: 11, rx: 1.5 });
  };
  const svg = svgEl('svg', {
    class: 'mini', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': `${m.metric}: before ${fmt(m.before)}, after ${fmt(m.after)} (95% interval ${fmtInterval(m.low, m.high)})`,
  });
  svg.append(svgEl('title', { text: `before ${fmt(m.before)} → after ${fmt(m.after)} [${fmtInterval(m.low, m.high)}]` }));
  svg.append(bar(m.before, 4, 'bar-before'));
  svg.append(bar(m.after, 19, 'bar-after'));
  if (typeof m.low === 'number' && typeof m.high === 'number') {
    const y = 24.5;
    svg.append(svgEl('line', { class: 'whisker', x1: x(m.low), x2: x(m.high), y1: y, y2: y }));
    svg.append(svgEl('line', { class: 'whisker', x1: x(m.low), x2: x(m.low), y1: y - 4, y2: y + 4 }));
    svg.append(svgEl('line', { class: 'whisker', x1: x(m.high), x2: x(m.high), y1: y - 4, y2: y + 4 }));
  }
  svg.append(svgEl('line', { class: 'zero', x1: x0, x2: x0, y1: 1, y2: height - 1 }));
  return svg;
}

// ===================================================================
// Proposals: shared by Optimize and Recommendations
// ===================================================================

/** The comparison the API gives for proposal n (1-based), if any. */
function comparisonFor(comparisons, n) {
  if (!Array.isArray(comparisons)) return null;
  return comparisons.find((c) => c && c.proposal === n) || comparisons[n - 1] || null;
}

function changesList(proposal, comparison) {
  const wrap = el('div', { class: 'changes' });
  if (comparison && Array.isArray(comparison.changes)) {
    if (comparison.changes.length === 0) {
      wrap.append(el('p', { class: 'subtle', text: 'No knob changes.' }));
    } else {
      const list = el('ul', { class: 'change-list', 'aria-label': 'Configuration changes' });
      for (const c of comparison.changes) {
        list.append(el('li', {},
          el('span', { class: 'knob', text: c.knob }), ': ',
          el('span', { class: 'from', text: fmtValue(c.from) }), ' → ',
          el('strong', { class: 'to', text: fmtValue(c.to) })));
      }
      wrap.append(list);
    }
  }
  if (proposal.config && Object.keys(proposal.config).length) {
    wrap.append(el('p', { class: 'config-line' },
      el('span', { class: 'subtle', text: 'Configuration: ' }), el('code', { text: fmtConfig(proposal.config) })));
  }
  return wrap;
}

function metricTable(proposal, comparison, titleId) {
  const table = el('table', { class: 'data metrics', 'aria-describedby': titleId });
  const thead = el('thead');
  const tbody = el('tbody');
  if (comparison && Array.isArray(comparison.metrics)) {
    thead.append(el('tr', {},
      el('th', { scope: 'col', text: 'Metric' }),
      el('th', { scope: 'col', class: 'num', text: 'Before' }),
      el('th', { scope: 'col', class: 'num', text: 'After' }),
      el('th', { scope: 'col', class: 'num', text: '95% interval' }),
      el('th', { scope: 'col', class: 'num', text: '% change' }),
      el('th', { scope: 'col', class: 'chart-col' },
        el('span', { class: 'swatch before', 'aria-hidden': 'true' }), ' before ',
        el('span', { class: 'swatch after', 'aria-hidden': 'true' }), ' after')));
    for (const m of comparison.metrics) {
      const known = typeof m.before === 'number' && typeof m.after === 'number';
      tbody.append(el('tr', {},
        el('th', { scope: 'row', text: m.metric }),
        el('td', { class: 'num', text: fmt(m.before) }),
        el('td', { class: 'num', text: fmt(m.after) }),
        el('td', { class: 'num interval', text: fmtInterval(m.low, m.high) }),
        el('td', { class: 'num', text: fmtPct(m.change_percent) }),
        el('td', { class: 'chart-col' }, known ? beforeAfterBars(m) : el('span', { class: 'subtle', text: 'no baseline value' }))));
    }
  } else {
    thead.append(el('tr', {},
      el('th', { scope: 'col', text: 'Metric' }),
      el('th', { scope: 'col', class: 'num', text: 'Predicted' }),
      el('th', { scope: 'col', class: 'num', text: '95% interval' })));
    for (const m of proposal.predicted || []) {
      tbody.append(el('tr', {},
        el('th', { scope: 'row', text: m.metric }),
        el('td', { class: 'num', text: fmt(m.value) }),
        el('td', { class: 'num interval', text: fmtInterval(m.low, m.high) })));
    }
  }
  table.append(thead, tbody);
  return el('div', { class: 'table-scroll' }, table);
}

/**
 * Renders proposals as articles in `container`.
 * opts: { model, reportId, comparisons, ranked, panel, prefix }
 */
function renderProposals(container, proposals, opts) {
  if (!proposals || proposals.length === 0) {
    container.append(el('p', { class: 'empty', text: 'No proposals: see the notes for why.' }));
    return;
  }
  proposals.forEach((proposal, i) => {
    const n = i + 1;
    const comparison = comparisonFor(opts.comparisons, n);
    const titleId = `${opts.prefix}-p${n}-title`;
    const article = el('article', { class: 'proposal', 'data-proposal': n, 'aria-labelledby': titleId });
    const slot = el('div', { class: 'error-slot' });
    const button = el('button', { type: 'button', class: 'apply', 'aria-describedby': titleId, text: 'Apply' });
    button.addEventListener('click', () => applyProposal(opts.panel, article, button, slot, opts.model, opts.reportId, n));
    article.append(
      el('header', { class: 'proposal-head' },
        el('h4', { id: titleId },
          el('span', { class: 'rank', text: opts.ranked ? `#${n}` : `${n}.` }), ' ',
          proposal.title || `Proposal ${n}`)),
      changesList(proposal, comparison),
      metricTable(proposal, comparison, titleId),
      proposal.rationale ? el('p', { class: 'rationale', text: proposal.rationale }) : null,
      el('div', { class: 'actions' }, button,
        el('span', { class: 'subtle', text: ` proposal ${opts.reportId}.${n} → ${opts.model}` })),
      slot);
    container.append(article);
  });
}

function notesSection(notes, heading = 'Notes') {
  if (!Array.isArray(notes) || notes.length === 0) return null;
  return el('section', { class: 'notes-section' },
    el('h4', { text: heading }),
    el('ul', { class: 'notes' }, notes.map((n) => el('li', { text: typeof n === 'string' ? n : JSON.stringify(n) }))));
}

/** PUT the proposal as the model's configuration. */
function applyProposal(panelName, article, button, slot, model, reportId, n) {
  return withPanel(panelName, async () => {
    button.disabled = true;
    setStatus(`Applying proposal ${reportId}.${n} to ${model}…`);
    try {
      const version = await api('PUT', `/api/v1/config/${enc(model)}`, { proposal: `${reportId}.${n}` });
      article.dataset.applied = 'true';
      button.textContent = 'Applied';
      setStatus(`Applied: config version ${version && version.version !== undefined ? version.version : '?'}`);
      panels.config.loadedKey = undefined;
      activity.changes += 1;
    } catch (err) {
      button.disabled = false;
      setStatus(`Applying proposal ${reportId}.${n} failed.`);
      throw err;
    }
  }, { slot, channel: 'apply' });
}

// ===================================================================
// Optimize tab
// ===================================================================

let pluginsPromise = null;

function loadPluginsOnce() {
  if (!pluginsPromise) {
    pluginsPromise = api('GET', '/api/v1/plugins').catch((err) => {
      pluginsPromise = null;
      throw err;
    });
  }
  return pluginsPromise;
}

function fillStrategies(plugins) {
  const select = $('optimize-strategy');
  const type = $('optimize-type').value;
  const previous = select.value;
  clear(select);
  select.append(el('option', { value: '', text: 'default' }));
  for (const p of plugins || []) {
    if (p.error || !Array.isArray(p.kinds) || !p.kinds.includes(type)) continue;
    select.append(el('option', { value: p.name, text: p.version ? `${p.name} ${p.version}` : p.name }));
  }
  select.value = [...select.options].some((o) => o.value === previous) ? previous : '';
}

definePanel('optimize', {
  key: () => 'form',
  load: async (ctx) => {
    const [models, plugins] = await Promise.allSettled([loadModels(), loadPluginsOnce()]);
    if (!ctx.current()) return;
    if (models.status === 'rejected') ctx.fail(models.reason);
    if (plugins.status === 'rejected') ctx.fail(plugins.reason);
    optimizeState.plugins = plugins.status === 'fulfilled' ? plugins.value : [];
    fillStrategies(optimizeState.plugins);
    const results = $('optimize-results');
    if (models.status === 'fulfilled' && models.value.length === 0) {
      clear(results).append(noModelsMessage());
    }
    $('optimize-run').disabled = !state.model;
  },
});

const optimizeState = { plugins: [] };

function runOptimize() {
  const model = state.model;
  const type = $('optimize-type').value;
  const strategy = $('optimize-strategy').value;
  const button = $('optimize-run');
  return withPanel('optimize', async (ctx) => {
    if (!model) throw new ApiError({ title: 'No model', detail: 'no stored model to optimize: upload a profile first' });
    button.disabled = true;
    setStatus(`Running ${type} optimization…`);
    const body = { model, type };
    if (strategy) body.strategy = strategy;
    try {
      const result = await api('POST', '/api/v1/optimize', body);
      if (!ctx.current()) return;
      renderOptimize(result, model, type);
      const count = (result.report && result.report.proposals || []).length;
      setStatus(`${capitalize(type)} optimization of ${model} done: ${count} proposal${count === 1 ? '' : 's'} (report ${result.report_id}).`);
    } catch (err) {
      setStatus(`${capitalize(type)} optimization of ${model} failed.`);
      throw err;
    } finally {
      button.disabled = false;
      activity.changes += 1;
    }
  }, { channel: 'run' });
}

function renderOptimize(result, model, type) {
  const out = clear($('optimize-results'));
  const usage = result.usage || {};
  out.append(
    el('h3', {}, `Results: ${result.kind || type} for `, el('code', { text: model })),
    el('p', { class: 'meta run-line' },
      `Strategy ${result.strategy || '—'} · report ${result.report_id ?? '—'} · fuel ${fmtInt(usage.fuel)}`
      + ` · wall time ${fmtDuration(usage.wall_time_us)}`
      + (usage.peak_memory_bytes !== undefined ? ` · peak memory ${fmtBytes(usage.peak_memory_bytes)}` : '')));
  const report = result.report || {};
  const list = el('div', { class: 'proposals' });
  renderProposals(list, report.proposals, {
    model, reportId: result.report_id, comparisons: result.comparisons, ranked: false, panel: 'optimize', prefix: 'opt',
  });
  out.append(list, notesSection(report.notes));
}

function setupOptimize() {
  $('optimize-form').addEventListener('submit', (e) => {
    e.preventDefault();
    runOptimize();
  });
  $('optimize-type').addEventListener('change', () => fillStrategies(optimizeState.plugins));
}

// ===================================================================
// Benchmark tab
// ===================================================================

const benchmarkState = { data: null, metric: null };

definePanel('benchmark', {
  key: () => `model:${state.model}`,
  load: async (ctx) => {
    const names = await loadModels();
    if (!ctx.current()) return;
    if (names.length === 0) {
      resetBenchmark();
      $('benchmark-empty').append(noModelsMessage());
      return;
    }
    const model = state.model;
    clear($('benchmark-empty'));
    const done = progress(`Loading benchmark of ${model}…`);
    try {
      const data = await api('GET', `/api/v1/benchmark?profile=${enc(model)}`);
      if (!ctx.current()) return;
      benchmarkState.data = data;
      $('benchmark-body').hidden = false;
      renderBenchmark(data);
    } catch (err) {
      resetBenchmark();
      throw err;
    } finally {
      done();
    }
  },
});

function resetBenchmark() {
  benchmarkState.data = null;
  $('benchmark-body').hidden = true;
  clear($('benchmark-empty'));
  $('benchmark-meta').textContent = '';
  clear($('benchmark-comparisons'));
  clear($('benchmark-metric'));
  clear($('benchmark-chart'));
  $('benchmark-chart-note').textContent = '';
  clear($('benchmark-table'));
  clear($('benchmark-served'));
  $('benchmark-served-section').hidden = true;
}

/** Metric names in order of first appearance. */
function benchmarkMetrics(data) {
  const names = [];
  for (const c of data.configurations || []) {
    for (const m of c.metrics || []) if (!names.includes(m.metric)) names.push(m.metric);
  }
  return names;
}

function renderBenchmark(data) {
  const configs = data.configurations || [];
  $('benchmark-meta').textContent =
    `Profile ${data.profile ?? state.model} · run ${data.run_id ?? '—'} · seed ${data.seed ?? '—'} · ${configs.length} configuration${configs.length === 1 ? '' : 's'}`;
  renderBenchmarkComparisons(data.comparisons || []);
  const metrics = benchmarkMetrics(data);
  const select = clear($('benchmark-metric'));
  for (const m of metrics) select.append(el('option', { value: m, text: m }));
  const first = (data.comparisons || []).map((c) => c.metric).find((m) => metrics.includes(m));
  const metric = metrics.includes(benchmarkState.metric) ? benchmarkState.metric : first || metrics[0] || null;
  benchmarkState.metric = metric;
  if (metric) select.value = metric;
  select.disabled = metrics.length === 0;
  drawBenchmarkChart(data, metric);
  renderServedBy(data.served_by || []);
  renderBenchmarkTable(data, metrics);
}

function renderBenchmarkComparisons(comparisons) {
  const list = clear($('benchmark-comparisons'));
  if (comparisons.length === 0) {
    list.append(el('li', { class: 'subtle', text: 'No objectives to compare.' }));
    return;
  }
  for (const c of comparisons) {
    const base = c.baseline_value ? fmt(c.baseline_value.value) : '—';
    const best = c.best_value ? fmt(c.best_value.value) : '—';
    const significance = c.significant === true ? 'significant' : c.significant === false ? 'not significant' : null;
    list.append(el('li', {},
      el('strong', { text: c.metric }),
      c.direction ? el('span', { class: 'subtle', text: ` (${c.direction})` }) : null,
      `: baseline ${base} → best ${best} `,
      el('span', { class: 'pct', text: `(${fmtPct(c.improvement_percent)} improvement)` }),
      c.best ? [' with ', el('code', { text: fmtConfig(c.best) })] : ' — no configuration qualifies',
      significance || c.feasible_only
        ? el('span', { class: 'subtle', text: ` · ${[significance, c.feasible_only ? 'best among feasible configurations' : null].filter(Boolean).join(' · ')}` })
        : null));
  }
}

function drawBenchmarkChart(data, metric) {
  const svg = $('benchmark-chart');
  const note = $('benchmark-chart-note');
  const width = 960;
  if (!metric) {
    note.textContent = '';
    emptyChart(svg, width, 80, 'No metrics measured.');
    return;
  }
  const comparison = (data.comparisons || []).find((c) => c.metric === metric);
  const direction = comparison ? comparison.direction : null;
  const rows = [];
  let missing = 0;
  for (const c of data.configurations || []) {
    const m = (c.metrics || []).find((x) => x.metric === metric);
    if (!m || typeof m.value !== 'number') {
      missing += 1;
      continue;
    }
    rows.push({ label: compactConfig(c.config), full: fmtConfig(c.config), baseline: !!c.is_baseline, m });
  }
  // Sorted for reading only: the best end on top when the direction is known.
  rows.sort((a, b) => (direction === 'minimize' ? a.m.value - b.m.value : b.m.value - a.m.value));
  note.textContent = [
    direction ? `${metric}: ${direction === 'maximize' ? 'higher' : 'lower'} is better; best on top.` : `${metric}: sorted by value.`,
    'Whiskers: 95% intervals.',
    missing ? `${missing} configuration${missing === 1 ? '' : 's'} without this metric.` : '',
    rows.length > 12 && rows.some((r) => r.baseline)
      ? `Baseline: row ${rows.findIndex((r) => r.baseline) + 1} of ${rows.length}.`
      : '',
  ].filter(Boolean).join(' ');
  if (rows.length === 0) {
    emptyChart(svg, width, 80, `No configuration has ${metric}.`);
    return;
  }
  clear(svg);
  const longest = Math.max(...rows.map((r) => r.label.length));
  const labelW = Math.min(400, Math.max(90, longest * 6.8 + 16));
  const valueW = 150;
  const rowH = 22;
  const top = 40;
  const bottom = 30;
  const height = top + rows.length * rowH + bottom;
  const box = { left: labelW, right: width - valueW, top, bottom: top + rows.length * rowH };
  const lows = rows.map((r) => (typeof r.m.low === 'number' ? r.m.low : r.m.value));
  const highs = rows.map((r) => (typeof r.m.high === 'number' ? r.m.high : r.m.value));
  const xs = niceTicks(Math.min(0, ...lows), Math.max(0, ...highs), 6);
  const x = linear(xs.lo, xs.hi, box.left, box.right);
  sizeSvg(svg, width, height);
  svg.setAttribute('aria-label', `${metric} for ${rows.length} configurations, ${direction ? directionWords(direction) : 'sorted by value'}`);

  const axes = svgEl('g', { class: 'axes' });
  for (const t of xs.ticks) {
    const tx = x(t);
    axes.append(svgEl('line', { class: t === 0 ? 'axis-line' : 'grid', x1: tx, x2: tx, y1: box.top - 4, y2: box.bottom + 4 }));
    axes.append(svgEl('text', { class: 'tick', x: tx, y: box.top - 8, 'text-anchor': 'middle', text: tickLabel(t, xs) }));
    axes.append(svgEl('text', { class: 'tick', x: tx, y: box.bottom + 18, 'text-anchor': 'middle', text: tickLabel(t, xs) }));
  }
  axes.append(svgEl('text', {
    class: 'axis-label', x: box.left, y: 14,
    text: `${metric}${direction ? ` (${direction === 'maximize' ? 'higher' : 'lower'} is better)` : ''}`,
  }));
  svg.append(axes);

  const x0 = x(Math.max(xs.lo, Math.min(0, xs.hi)));
  rows.forEach((r, i) => {
    const y = box.top + i * rowH;
    const cy = y + rowH / 2;
    const g = svgEl('g', { class: r.baseline ? 'row baseline' : 'row' });
    const interval = typeof r.m.low === 'number' && typeof r.m.high === 'number';
    g.append(svgEl('title', {
      text: `${r.full}${r.baseline ? ' (baseline)' : ''}: ${fmt(r.m.value)}${interval ? ` [${fmtInterval(r.m.low, r.m.high)}]` : ''}${r.m.n ? `, n=${r.m.n}` : ''}`,
    }));
    if (r.baseline) g.append(svgEl('rect', { class: 'row-highlight', x: 0, y: y + 1, width, height: rowH - 2, rx: 3 }));
    const maxChars = Math.floor((labelW - 14) / 6.8);
    const label = r.label.length > maxChars ? `${r.label.slice(0, maxChars - 1)}…` : r.label;
    g.append(svgEl('text', { class: 'label', x: labelW - 8, y: cy + 4, 'text-anchor': 'end', text: label }));
    const xv = x(r.m.value);
    g.append(svgEl('rect', {
      class: r.baseline ? 'bar baseline' : 'bar', x: Math.min(x0, xv), y: cy - 6, width: Math.max(1, Math.abs(xv - x0)), height: 12, rx: 2,
    }));
    let end = xv;
    if (interval && r.m.high !== r.m.low) {
      const a = x(r.m.low);
      const b = x(r.m.high);
      g.append(svgEl('line', { class: 'whisker', x1: a, x2: b, y1: cy, y2: cy }));
      g.append(svgEl('line', { class: 'whisker', x1: a, x2: a, y1: cy - 4, y2: cy + 4 }));
      g.append(svgEl('line', { class: 'whisker', x1: b, x2: b, y1: cy - 4, y2: cy + 4 }));
      end = Math.max(end, b);
    }
    const value = svgEl('text', { class: 'value', x: Math.max(end, x0) + 6, y: cy + 4, text: fmt(r.m.value) });
    if (r.baseline) value.append(svgEl('tspan', { class: 'baseline-tag', text: '  baseline' }));
    g.append(value);
    svg.append(g);
  });
}

/** One cell for a value that is a number, null, or {value, low, high, n}. */
function statCell(v, scale = 1) {
  if (v === null || v === undefined) return el('td', { class: 'num subtle', text: '—' });
  if (typeof v === 'number') return el('td', { class: 'num', text: fmt(v * scale) });
  if (typeof v === 'object' && typeof v.value === 'number') {
    const interval = typeof v.low === 'number' && typeof v.high === 'number' && v.low !== v.high;
    return el('td', { class: 'num' },
      el('span', { text: fmt(v.value * scale) }),
      interval ? el('span', { class: 'interval block', text: `[${fmtInterval(v.low * scale, v.high * scale)}]` }) : null);
  }
  return el('td', { text: typeof v === 'object' ? JSON.stringify(v) : String(v) });
}

const SERVED_LABELS = {
  requests: 'Requests',
  score: 'Score',
  quality_score: 'Quality score',
  cost_per_request_usd: 'Cost per request (USD)',
  cost_per_1000_requests_usd: 'Cost per 1,000 requests (USD)',
  latency_p50_ms: 'Latency p50 (ms)',
  latency_p95_ms: 'Latency p95 (ms)',
  latency_p99_ms: 'Latency p99 (ms)',
  throughput_rps: 'Throughput (req/s)',
};

function renderServedBy(served) {
  const section = $('benchmark-served-section');
  const table = clear($('benchmark-served'));
  if (!Array.isArray(served) || served.length === 0) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  // Columns: every field some row has a value for, in the API's order.
  const columns = [];
  for (const row of served) {
    for (const k of Object.keys(row)) {
      if (k === 'served_by' || columns.some((c) => c.key === k)) continue;
      if (served.some((r) => r[k] !== null && r[k] !== undefined)) columns.push({ key: k, label: SERVED_LABELS[k] || k, scale: 1 });
    }
  }
  const has = (k) => columns.some((c) => c.key === k);
  if (!has('cost_per_1000_requests_usd') && has('cost_per_request_usd')) {
    const at = columns.findIndex((c) => c.key === 'cost_per_request_usd');
    // A unit conversion for reading: USD per request × 1,000.
    columns.splice(at + 1, 0, { key: 'cost_per_request_usd', label: SERVED_LABELS.cost_per_1000_requests_usd, scale: 1000 });
  }
  const order = ['requests', 'score', 'quality_score', 'cost_per_request_usd', 'cost_per_1000_requests_usd'];
  columns.sort((a, b) => {
    const ia = order.indexOf(a.key);
    const ib = order.indexOf(b.key);
    return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib);
  });
  const absent = Object.keys(served[0]).filter((k) => k !== 'served_by' && !has(k));
  table.append(
    el('caption', { class: 'subtle' },
      `Per served configuration, from the request logs; 95% intervals in brackets.${absent.length ? ` Not in the logs: ${absent.map((k) => SERVED_LABELS[k] || k).join(', ')}.` : ''}`),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col', text: 'Served by' }),
      columns.map((c) => el('th', { scope: 'col', class: 'num', text: c.label })))),
    el('tbody', {}, served.map((row) => el('tr', {},
      el('th', { scope: 'row' }, el('code', { text: String(row.served_by) })),
      columns.map((c) => statCell(row[c.key], c.scale))))));
}

function renderBenchmarkTable(data, metrics) {
  const table = clear($('benchmark-table'));
  const configs = data.configurations || [];
  table.append(
    el('caption', { class: 'subtle', text: 'Mean per configuration, 95% interval in brackets (one measurement: no interval).' }),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col', text: 'Configuration' }),
      el('th', { scope: 'col', class: 'num', text: 'Replicates' }),
      metrics.map((m) => el('th', { scope: 'col', class: 'num', text: m })))));
  const body = el('tbody');
  for (const c of configs) {
    const byName = new Map((c.metrics || []).map((m) => [m.metric, m]));
    body.append(el('tr', { class: c.is_baseline ? 'baseline' : null },
      el('th', { scope: 'row' },
        el('code', { text: fmtConfig(c.config) }),
        c.is_baseline ? [' ', el('span', { class: 'badge', text: 'baseline' })] : null),
      el('td', { class: 'num', text: c.replicates ?? '—' }),
      metrics.map((name) => statCell(byName.get(name) ?? null))));
  }
  table.append(body);
}

function setupBenchmark() {
  $('benchmark-metric').addEventListener('change', (e) => {
    benchmarkState.metric = e.target.value;
    if (benchmarkState.data) drawBenchmarkChart(benchmarkState.data, benchmarkState.metric);
  });
}

// ===================================================================
// Configuration tab
// ===================================================================

definePanel('config', {
  key: () => `model:${state.model}`,
  load: async (ctx) => {
    const names = await loadModels();
    if (!ctx.current()) return;
    $('config-reset').disabled = names.length === 0;
    if (names.length === 0) {
      clear($('config-current')).append(el('dd', {}, noModelsMessage()));
      clear($('config-history'));
      return;
    }
    await loadConfigData(ctx, state.model);
  },
});

async function loadConfigData(ctx, model) {
  const done = progress(`Loading configuration of ${model}…`);
  try {
    const [current, history] = await Promise.allSettled([
      api('GET', `/api/v1/config/${enc(model)}`),
      api('GET', `/api/v1/config/${enc(model)}/history`),
    ]);
    if (!ctx.current()) return;
    if (current.status === 'fulfilled') renderConfigCurrent(current.value);
    else {
      clear($('config-current'));
      ctx.fail(current.reason);
    }
    if (history.status === 'fulfilled') renderConfigHistory(history.value);
    else {
      clear($('config-history'));
      ctx.fail(history.reason);
    }
  } finally {
    done();
  }
}

/** The reason a version exists, in words. */
function describeChange(v) {
  switch (v.change) {
    case 'baseline':
      return 'baseline (the profile’s configuration)';
    case 'apply':
      // `proposal` is 0-based in the store; REPORT.N references count from 1.
      return v.report_id !== undefined && typeof v.proposal === 'number'
        ? `applied proposal ${v.report_id}.${v.proposal + 1}`
        : 'applied a proposal';
    case 'set':
      return 'knobs set by hand';
    case 'reset':
      return 'reset to baseline';
    default:
      return v.change ? String(v.change) : '—';
  }
}

function configList(config) {
  const entries = Object.entries(config || {});
  if (entries.length === 0) return el('span', { class: 'subtle', text: '(empty)' });
  return el('ul', { class: 'kv' }, entries.map(([k, v]) => el('li', {},
    el('span', { class: 'knob', text: k }), ' = ', el('code', { text: fmtValue(v) }))));
}

function renderConfigCurrent(v) {
  const dl = clear($('config-current'));
  const row = (term, ...def) => [el('dt', { text: term }), el('dd', {}, ...def)];
  append(dl, [
    row('Version', el('strong', { text: String(v.version ?? '—') })),
    row('Configuration', configList(v.config)),
    row('Change', describeChange(v)),
    row('Actor', v.actor ? v.actor : el('span', { class: 'subtle', text: '—' })),
    row('At', timeEl(v.at)),
    row('Profile', v.profile_id !== undefined ? `#${v.profile_id}` : '—'),
  ]);
}

function diffItem(d) {
  if (typeof d === 'string') return el('li', { text: d });
  if (d && typeof d === 'object' && 'knob' in d) {
    return el('li', {}, el('span', { class: 'knob', text: d.knob }), `: ${fmtValue(d.from)} → `, el('strong', { text: fmtValue(d.to) }));
  }
  return el('li', {}, el('code', { text: JSON.stringify(d) }));
}

function renderConfigHistory(history) {
  const list = clear($('config-history'));
  const items = Array.isArray(history) ? history.slice() : [];
  // Newest first, whichever order the API used.
  items.sort((a, b) => ((b.version || {}).version ?? 0) - ((a.version || {}).version ?? 0));
  if (items.length === 0) {
    list.append(el('li', { class: 'subtle', text: 'No versions.' }));
    return;
  }
  for (const item of items) {
    const v = item.version || {};
    const diff = Array.isArray(item.diff) ? item.diff : item.diff ? [item.diff] : [];
    list.append(el('li', { class: 'version', 'data-version': v.version },
      el('div', { class: 'version-head' },
        el('strong', { text: `Version ${v.version ?? '?'}` }), ' · ', timeEl(v.at), ' · ',
        el('span', { text: describeChange(v) }),
        v.actor ? el('span', { class: 'subtle', text: ` · by ${v.actor}` }) : null),
      diff.length
        ? el('ul', { class: 'diff', 'aria-label': 'Changes from the version before' }, diff.map(diffItem))
        : el('p', { class: 'config-line' }, el('span', { class: 'subtle', text: v.version === 0 ? 'Configuration: ' : 'No knob changed. Configuration: ' }), el('code', { text: fmtConfig(v.config) }))));
  }
}

function resetConfig() {
  const model = state.model;
  return withPanel('config', async (ctx) => {
    if (!model) throw new ApiError({ title: 'No model', detail: 'no stored model to reset' });
    const button = $('config-reset');
    button.disabled = true;
    setStatus(`Resetting ${model} to its baseline…`);
    try {
      const v = await api('POST', `/api/v1/config/${enc(model)}/reset`);
      setStatus(`Reset to baseline: config version ${v && v.version !== undefined ? v.version : '?'}`);
    } catch (err) {
      setStatus(`Resetting ${model} failed.`);
      throw err;
    } finally {
      button.disabled = false;
    }
    const status = $('status').textContent;
    await loadConfigData(ctx, model);
    setStatus(status);
  }, { channel: 'reset' });
}

function setupConfig() {
  $('config-reset').addEventListener('click', resetConfig);
}

// ===================================================================
// Recommendations tab (with studies)
// ===================================================================

const studyState = { selected: null };

definePanel('recommendations', {
  key: () => `model:${state.model}`,
  load: async (ctx) => {
    const names = await loadModels();
    if (!ctx.current()) return;
    const recommendations = names.length === 0
      ? Promise.resolve(clear($('recommendations-list')).append(noModelsMessage()))
      : loadRecommendations(ctx, state.model).catch((err) => ctx.fail(err));
    const studies = loadStudies(ctx).catch((err) => ctx.fail(err, $('study-errors')));
    await Promise.all([recommendations, studies]);
  },
});

async function loadRecommendations(ctx, model) {
  const list = clear($('recommendations-list'));
  list.append(el('p', { class: 'subtle', text: `Computing recommendations for ${model}…` }));
  const done = progress(`Computing recommendations for ${model}…`);
  try {
    const data = await api('GET', `/api/v1/recommendations?profile=${enc(model)}`);
    activity.changes += 1;
    if (!ctx.current()) return;
    renderRecommendations(data, model);
  } catch (err) {
    if (ctx.current()) clear(list);
    throw err;
  } finally {
    done();
  }
}

function renderRecommendations(data, model) {
  const out = clear($('recommendations-list'));
  const report = data.report || {};
  out.append(el('p', { class: 'meta run-line' },
    `Strategies ${(data.strategies || []).join(', ') || '—'} · report ${data.report_id ?? '—'}`
    + ` · fuel ${fmtInt(data.fuel)} · wall time ${fmtDuration(data.wall_time_us)}`));
  const list = el('div', { class: 'proposals' });
  renderProposals(list, report.proposals, {
    model, reportId: data.report_id, comparisons: data.comparisons, ranked: true, panel: 'recommendations', prefix: 'rec',
  });
  out.append(list, notesSection(report.notes));
}

async function loadStudies(ctx) {
  const select = $('study-select');
  const studies = await api('GET', '/api/v1/studies');
  if (!ctx.current()) return;
  clear(select);
  const list = Array.isArray(studies) ? studies : [];
  if (list.length === 0) {
    select.append(el('option', { value: '', text: 'No studies' }));
    select.disabled = true;
    $('study-summary').textContent = 'No studies yet. Create one with POST /api/v1/studies (or aiopt study create).';
    $('study-body').hidden = true;
    return;
  }
  select.disabled = false;
  for (const s of list) {
    select.append(el('option', { value: s.name, text: `${s.name} (${s.model}, ${s.strategy}, ${s.trials} trial${s.trials === 1 ? '' : 's'})` }));
  }
  // By name (unique, and what the API takes in place of an id).
  const ids = list.map((s) => s.name);
  const forModel = list.find((s) => s.model === state.model);
  const chosen = ids.includes(studyState.selected) ? studyState.selected : forModel ? forModel.name : ids[0];
  select.value = chosen;
  studyState.selected = chosen;
  await loadStudyAnalysis(ctx, chosen);
}

async function loadStudyAnalysis(ctx, id) {
  const body = $('study-body');
  if (!(await serverHasRoute('/api/v1/studies/{study}/analysis'))) {
    body.hidden = true;
    $('study-summary').textContent = 'This server does not offer study analysis (GET /api/v1/studies/{id}/analysis): a newer aiopt serve does.';
    return;
  }
  try {
    const analysis = await api('GET', `/api/v1/studies/${enc(id)}/analysis`);
    // Another study picked meanwhile: its own load renders it.
    if (!ctx.current() || studyState.selected !== id) return;
    body.hidden = false;
    renderStudy(analysis);
  } catch (err) {
    if (ctx.current()) {
      body.hidden = true;
      $('study-summary').textContent = '';
    }
    throw err;
  }
}

function renderStudy(a) {
  const s = a.study || {};
  const objectives = a.objectives || [];
  $('study-summary').textContent =
    `${s.name ?? 'Study'}: ${s.trials ?? 0} trial${s.trials === 1 ? '' : 's'} — ${s.complete ?? 0} complete, ${s.running ?? 0} running, ${s.failed ?? 0} failed`
    + ` · model ${s.model ?? '—'} · strategy ${s.strategy ?? '—'}`
    + (objectives.length ? ` · objective${objectives.length === 1 ? '' : 's'}: ${objectives.map((o) => `${o.metric} (${o.direction})`).join(', ')}` : '');
  drawStudyHistory($('study-history'), a.history || [], objectives[0] || null);
  const pareto = $('study-pareto');
  const note = $('study-pareto-note');
  if (a.pareto) {
    pareto.classList.remove('is-hidden');
    note.hidden = true;
    drawPareto(pareto, a.pareto);
  } else {
    clear(pareto);
    pareto.classList.add('is-hidden');
    note.hidden = false;
    note.textContent = objectives.length <= 1
      ? 'One objective: no Pareto front.'
      : 'No Pareto front for these trials (see the notes).';
  }
  renderImportance(Array.isArray(a.importance) ? a.importance : []);
  const notes = clear($('study-notes'));
  for (const n of a.notes || []) notes.append(el('li', { text: String(n) }));
  if (!(a.notes || []).length) notes.append(el('li', { class: 'subtle', text: 'None.' }));
}

/**
 * The frame both study charts share: a 560×300 drawing with room for the
 * axis labels, or, with no points, an empty chart saying `message`.
 * Returns the plot area, or null when there is nothing to draw.
 */
function studyChartFrame(svg, count, message) {
  const width = 560;
  const height = 300;
  if (count === 0) {
    emptyChart(svg, width, 120, message);
    return null;
  }
  clear(svg);
  sizeSvg(svg, width, height);
  return { left: 70, right: width - 16, top: 28, bottom: height - 46 };
}

function drawStudyHistory(svg, history, objective) {
  const metric = objective ? objective.metric : 'value';
  const points = history.filter((h) => typeof h.value === 'number');
  const box = studyChartFrame(svg, points.length, 'No complete trials yet.');
  if (!box) return;
  const trials = points.map((p) => p.trial);
  const values = points.map((p) => p.value).concat(points.map((p) => p.best).filter((b) => typeof b === 'number'));
  const xs = niceTicks(Math.min(...trials), Math.max(...trials), 8, true);
  const ys = niceTicks(Math.min(...values), Math.max(...values), 5);
  const x = linear(xs.lo, xs.hi, box.left, box.right);
  const y = linear(ys.lo, ys.hi, box.bottom, box.top);
  const dir = objective ? directionWords(objective.direction) : '';
  drawAxes(svg, box, xs, ys, x, y, 'trial', `${metric}${dir ? ` (${dir})` : ''}`);
  // Best so far (from the API) as a step line.
  let d = '';
  let last = null;
  for (const p of points) {
    if (typeof p.best !== 'number') continue;
    const px = x(p.trial);
    const py = y(p.best);
    d += last === null ? `M${px},${py}` : `H${px}V${py}`;
    last = py;
  }
  if (d) {
    d += `H${x(Math.max(...trials))}`;
    svg.append(svgEl('path', { class: 'best-line', d }));
  }
  for (const p of points) {
    const c = svgEl('circle', { class: p.feasible === false ? 'point infeasible' : 'point', cx: x(p.trial), cy: y(p.value), r: 4 });
    c.append(svgEl('title', {
      text: `trial ${p.trial}: ${fmt(p.value)}${p.feasible === false ? ' (infeasible)' : ''}${typeof p.best === 'number' ? `, best so far ${fmt(p.best)}` : ''}`,
    }));
    svg.append(c);
  }
  chartLegend(svg, box.right, 14, [
    { cls: 'point', text: 'trial' },
    { cls: 'point infeasible', text: 'infeasible' },
    { cls: 'best-line', text: 'best so far', line: true },
  ]);
  const best = points.filter((p) => typeof p.best === 'number').pop();
  svg.setAttribute('aria-label', `${metric} over ${points.length} complete trials${best ? `; best so far ${fmt(best.best)}` : ''}`);
}

/** A right-aligned legend at (xRight, y). */
function chartLegend(svg, xRight, y, items) {
  const g = svgEl('g', { class: 'legend' });
  let x = xRight;
  for (const item of items.slice().reverse()) {
    const w = item.text.length * 6.2 + 22;
    x -= w;
    if (item.line) g.append(svgEl('line', { class: item.cls, x1: x, x2: x + 14, y1: y - 4, y2: y - 4 }));
    else g.append(svgEl('circle', { class: item.cls, cx: x + 7, cy: y - 4, r: 4 }));
    g.append(svgEl('text', { class: 'tick', x: x + 18, y, text: item.text }));
  }
  svg.append(g);
}

function drawPareto(svg, p) {
  const points = (p.points || []).filter((q) => typeof q.x === 'number' && typeof q.y === 'number');
  const box = studyChartFrame(svg, points.length, 'No complete trials to compare.');
  if (!box) return;
  const xs = niceTicks(Math.min(...points.map((q) => q.x)), Math.max(...points.map((q) => q.x)), 6);
  const ys = niceTicks(Math.min(...points.map((q) => q.y)), Math.max(...points.map((q) => q.y)), 5);
  const x = linear(xs.lo, xs.hi, box.left, box.right);
  const y = linear(ys.lo, ys.hi, box.bottom, box.top);
  drawAxes(svg, box, xs, ys, x, y,
    `${p.x} (${directionWords(p.x_direction) || p.x_direction || ''})`,
    `${p.y} (${directionWords(p.y_direction) || p.y_direction || ''})`);
  // The API marks the front; connecting its points in x order is drawing only.
  const front = points.filter((q) => q.front).sort((a, b) => a.x - b.x || a.y - b.y);
  if (front.length > 1) {
    svg.append(svgEl('polyline', { class: 'front-line', points: front.map((q) => `${x(q.x)},${y(q.y)}`).join(' ') }));
  }
  const ordered = points.filter((q) => !q.front).concat(front);
  for (const q of ordered) {
    const cls = ['point', q.front ? 'front' : null, q.feasible === false ? 'infeasible' : null].filter(Boolean).join(' ');
    const c = svgEl('circle', { class: cls, cx: x(q.x), cy: y(q.y), r: q.front ? 5.5 : 4 });
    c.append(svgEl('title', {
      text: `trial ${q.trial}: ${p.x} ${fmt(q.x)}, ${p.y} ${fmt(q.y)}${q.front ? ' (Pareto front)' : ''}${q.feasible === false ? ' (infeasible)' : ''}`,
    }));
    svg.append(c);
  }
  chartLegend(svg, box.right, 14, [
    { cls: 'point front', text: 'Pareto front' },
    { cls: 'point', text: 'other trials' },
    { cls: 'point infeasible', text: 'infeasible' },
  ]);
  svg.setAttribute('aria-label', `${p.x} against ${p.y} for ${points.length} trials; ${front.length} on the Pareto front`);
}

function renderImportance(importance) {
  const box = clear($('study-importance'));
  if (!importance.length) {
    box.append(el('p', { class: 'subtle', text: 'No objectives, so no knob importance.' }));
    return;
  }
  box.append(el('p', { class: 'meta',
    text: 'PED-ANOVA: how differently the best 10% of the feasible trials are spread over each knob than all of them.' }));
  for (const objective of importance) {
    const heading = `${objective.metric}${objective.direction ? ` (${directionWords(objective.direction)})` : ''}`;
    const knobs = Array.isArray(objective.knobs) ? objective.knobs : [];
    if (!knobs.length) {
      box.append(el('p', { class: 'subtle' }, el('strong', { text: heading }), `: no importance, ${objective.reason || 'no figures'}.`));
      continue;
    }
    box.append(importanceTable(`${heading}, ${fmtInt(objective.trials)} trials`, knobs));
  }
}

function importanceTable(caption, knobs) {
  const width = 240;
  const table = el('table', { class: 'data importance-table' },
    el('caption', { text: caption }),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col', text: 'Knob' }),
      el('th', { scope: 'col', text: 'Importance' }),
      el('th', { scope: 'col', class: 'num', text: 'Share' }))));
  const body = el('tbody');
  for (const item of knobs) {
    const share = typeof item.importance === 'number' ? Math.max(0, Math.min(1, item.importance)) : 0;
    const bar = svgEl('svg', { class: 'mini', viewBox: `0 0 ${width} 14`, width, height: 14, 'aria-hidden': 'true' },
      svgEl('rect', { class: 'track', x: 0, y: 1, width, height: 12, rx: 2 }),
      svgEl('rect', { class: 'bar', x: 0, y: 1, width: Math.max(share > 0 ? 1 : 0, share * width), height: 12, rx: 2 }));
    body.append(el('tr', {},
      el('th', { scope: 'row' }, el('span', { class: 'knob', text: item.knob })),
      el('td', {}, bar),
      el('td', { class: 'num', text: typeof item.importance === 'number' ? `${(item.importance * 100).toFixed(1)}%` : '—' })));
  }
  table.append(body);
  return table;
}

function setupRecommendations() {
  $('study-select').addEventListener('change', (e) => {
    studyState.selected = e.target.value;
    if (!studyState.selected) return;
    const slot = $('study-errors');
    withPanel('recommendations', async (ctx) => {
      const done = progress('Loading study analysis…');
      try {
        await loadStudyAnalysis(ctx, studyState.selected);
      } finally {
        done();
      }
    }, { slot, channel: 'study' });
  });
}

// ===================================================================
// Plugins tab
// ===================================================================

definePanel('plugins', {
  key: () => `changes:${activity.changes}`,
  load: async (ctx) => {
    const done = progress('Loading plugins…');
    try {
      const [plugins, recent] = await Promise.allSettled([
        api('GET', '/api/v1/plugins'),
        serverHasRoute('/api/v1/plugins/activity').then((has) => (has ? api('GET', '/api/v1/plugins/activity') : null)),
      ]);
      if (!ctx.current()) return;
      let calls = null;
      const note = $('plugins-activity-note');
      note.textContent = '';
      if (recent.status === 'fulfilled' && recent.value === null) {
        note.textContent = 'This server does not report plugin activity (no GET /api/v1/plugins/activity; a newer aiopt serve does).';
      } else if (recent.status === 'fulfilled') {
        calls = Array.isArray(recent.value.calls) ? recent.value.calls : [];
      } else if (recent.reason instanceof ApiError && recent.reason.status === 404) {
        note.textContent = `This server does not report plugin activity (GET /api/v1/plugins/activity: ${recent.reason.message}).`;
      } else {
        ctx.fail(recent.reason);
      }
      if (plugins.status === 'fulfilled') renderPlugins(plugins.value, calls);
      else {
        clear($('plugins-table'));
        ctx.fail(plugins.reason);
      }
      renderActivity(calls);
    } finally {
      done();
    }
  },
});

function sourceText(source) {
  if (!source) return '—';
  if (typeof source === 'string') return source;
  if (source.kind === 'builtin') return 'built-in';
  if (source.kind === 'installed') return 'installed';
  if (source.kind === 'file') return source.path || 'file';
  return source.path || source.kind || JSON.stringify(source);
}

/** Whether an activity entry is about plugin `name` ("tpe" or "tpe@0.1.0"). */
function callOf(call, name) {
  const plugin = String(call.plugin || '');
  return plugin === name || plugin.split('@')[0] === name;
}

function renderPlugins(plugins, calls) {
  const table = clear($('plugins-table'));
  table.append(el('thead', {}, el('tr', {},
    ['Name', 'Version', 'Kinds', 'Source', 'Summary'].map((h) => el('th', { scope: 'col', text: h })),
    el('th', { scope: 'col', class: 'num', text: 'Calls' }),
    el('th', { scope: 'col', class: 'num', text: 'Fuel: total / last' }),
    el('th', { scope: 'col', text: 'Recent traps' }))));
  const body = el('tbody');
  for (const p of Array.isArray(plugins) ? plugins : []) {
    const mine = calls ? calls.filter((c) => callOf(c, p.name)) : null;
    body.append(el('tr', { class: p.error ? 'plugin broken' : 'plugin', 'data-plugin': p.name },
      el('th', { scope: 'row' }, el('code', { text: p.name })),
      el('td', { text: p.version ?? '—' }),
      el('td', { text: Array.isArray(p.kinds) ? p.kinds.join(', ') : '—' }),
      el('td', { title: p.source && p.source.path ? p.source.path : null, text: sourceText(p.source) }),
      el('td', { class: 'summary' },
        p.error
          ? el('p', { class: 'error-text' }, el('strong', { text: `Error${p.error.kind ? ` (${p.error.kind})` : ''}: ` }), p.error.message || JSON.stringify(p.error))
          : null,
        p.summary ? el('p', { text: p.summary }) : null,
        optionsDetails(p.options)),
      el('td', { class: 'num', text: mine ? String(mine.length) : '—' }),
      el('td', { class: 'num', text: mine ? fuelText(mine) : '—' }),
      el('td', {}, mine ? trapsDetails(mine) : el('span', { class: 'subtle', text: '—' }))));
  }
  if (!body.children.length) body.append(el('tr', {}, el('td', { colspan: 8, class: 'subtle', text: 'No plugins.' })));
  table.append(body);
}

function fuelText(calls) {
  if (calls.length === 0) return '—';
  const total = calls.reduce((sum, c) => sum + (typeof c.fuel === 'number' ? c.fuel : 0), 0);
  const last = calls[0] && typeof calls[0].fuel === 'number' ? calls[0].fuel : null;
  return `${fmtInt(total)} / ${fmtInt(last)}`;
}

function optionsDetails(options) {
  if (!Array.isArray(options) || options.length === 0) return null;
  return el('details', { class: 'options' },
    el('summary', { text: `${options.length} option${options.length === 1 ? '' : 's'}` }),
    el('ul', {}, options.map((o) => el('li', {},
      el('code', { text: o.name }), ` (default ${fmtValue(o.default)})`, o.summary ? `: ${o.summary}` : ''))));
}

function trapsDetails(calls) {
  const traps = calls.filter((c) => c.outcome !== 'ok');
  if (traps.length === 0) return el('span', { class: 'subtle', text: 'none' });
  return el('details', { class: 'traps' },
    el('summary', { class: 'error-text', text: `${traps.length} trap${traps.length === 1 ? '' : 's'}` }),
    el('ul', {}, traps.map((t) => el('li', {},
      timeEl(t.at), ` ${t.call ?? ''}: `, el('strong', { text: String(t.outcome) }),
      t.error ? ` — ${typeof t.error === 'string' ? t.error : t.error.message || JSON.stringify(t.error)}` : ''))));
}

function renderActivity(calls) {
  const table = clear($('plugins-activity'));
  if (calls === null) return;
  table.append(el('thead', {}, el('tr', {},
    el('th', { scope: 'col', text: 'At' }),
    el('th', { scope: 'col', text: 'Plugin' }),
    el('th', { scope: 'col', text: 'Call' }),
    el('th', { scope: 'col', text: 'Outcome' }),
    el('th', { scope: 'col', class: 'num', text: 'Fuel' }),
    el('th', { scope: 'col', class: 'num', text: 'Duration (ms)' }),
    el('th', { scope: 'col', text: 'Error' }))));
  const body = el('tbody');
  for (const c of calls) {
    const trap = c.outcome !== 'ok';
    body.append(el('tr', { class: trap ? 'trap' : null },
      el('td', {}, timeEl(c.at)),
      el('th', { scope: 'row' }, el('code', { text: String(c.plugin ?? '—') })),
      el('td', { text: c.call ?? '—' }),
      el('td', { class: trap ? 'error-text' : null, text: c.outcome ?? '—' }),
      el('td', { class: 'num', text: fmtInt(c.fuel) }),
      el('td', { class: 'num', text: fmt(c.duration_ms) }),
      el('td', { text: c.error ? (typeof c.error === 'string' ? c.error : c.error.message || JSON.stringify(c.error)) : '' })));
  }
  if (calls.length === 0) body.append(el('tr', {}, el('td', { colspan: 7, class: 'subtle', text: 'No plugin calls yet.' })));
  table.append(body);
}

// ===================================================================
// Start
// ===================================================================

function start() {
  setupTabs();
  setupModelSelects();
  setupOptimize();
  setupBenchmark();
  setupConfig();
  setupRecommendations();
  showTab(tabFromHash());
}

start();
