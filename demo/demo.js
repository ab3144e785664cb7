// The demo page: a landing page at "/" and a call at "/r/<room>". Served as-is (no build step)
// under a strict CSP, so: no inline scripts or styles, and every piece of data reaches the page
// through textContent, never innerHTML. It uses only the element's public surface.

const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const ROOM_ROUTE = /^\/r\/([A-Za-z0-9_-]{1,64})\/?$/;
const EVENTS = [
  'p2p-state-change',
  'p2p-peer-join',
  'p2p-peer-leave',
  'p2p-media-change',
  'p2p-remote-media-change',
  'p2p-message',
  'p2p-stats',
  'p2p-error',
];
const LOG_LIMIT = 200;
const LANGS = ['en', 'de', 'es', 'fr', 'ja', 'pt-BR', 'zh-CN'];
const LANG_KEY = 'p2p-call-demo:lang';
const WIDE = '(min-width: 1100px)';

const ADJECTIVES = [
  'brave', 'calm', 'clever', 'cosy', 'curious', 'daring', 'eager', 'fancy', 'gentle', 'glad',
  'happy', 'jolly', 'kind', 'lively', 'lucky', 'merry', 'mighty', 'neat', 'nimble', 'polite',
  'proud', 'quick', 'quiet', 'rapid', 'sunny', 'swift', 'tidy', 'witty', 'zesty', 'bright',
];
const ANIMALS = [
  'otter', 'panda', 'koala', 'lynx', 'heron', 'badger', 'beaver', 'falcon', 'gecko', 'ibis',
  'lemur', 'marten', 'moose', 'newt', 'orca', 'owl', 'puffin', 'quokka', 'raven', 'robin',
  'seal', 'sloth', 'swan', 'tapir', 'tiger', 'toucan', 'walrus', 'wombat', 'yak', 'zebra',
];

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const announcer = $('announcer');

// ---------------------------------------------------------------------------------------------
// Routing

const match = ROOM_ROUTE.exec(location.pathname);
const room = match ? match[1] : undefined;

for (const el of document.querySelectorAll('[data-view]')) {
  el.hidden = el.getAttribute('data-view') !== (room ? 'call' : 'landing');
}
renderEmbed(room ?? 'your-room');
if (room) startCallView(room);
else startLanding();

// ---------------------------------------------------------------------------------------------
// Landing

function startLanding() {
  $('create-room').addEventListener('click', () => goToRoom(randomRoomName()));

  const form = /** @type {HTMLFormElement} */ ($('join-form'));
  const input = /** @type {HTMLInputElement} */ ($('join-input'));
  const error = $('join-error');

  const showError = (message) => {
    error.textContent = message;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', 'join-error join-hint');
    input.focus();
  };
  const clearError = () => {
    if (error.hidden) return;
    error.hidden = true;
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    input.setAttribute('aria-describedby', 'join-hint');
  };

  input.addEventListener('input', clearError);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const result = parseRoomInput(input.value);
    if ('error' in result) showError(result.error);
    else goToRoom(result.room);
  });
}

/** A readable, unguessable-enough name such as `brave-otter-42`. */
function randomRoomName() {
  const [a, b, n] = crypto.getRandomValues(new Uint32Array(3));
  return `${ADJECTIVES[a % ADJECTIVES.length]}-${ANIMALS[b % ANIMALS.length]}-${10 + (n % 90)}`;
}

/** Accepts a bare room name, or any link or path that ends in `/r/<room>`. */
function parseRoomInput(raw) {
  const value = raw.trim();
  if (value === '') return { error: 'Enter a room name, or paste a room link.' };
  if (ROOM_PATTERN.test(value)) return { room: value };
  const link = /(?:^|\/)r\/([^/?#\s]+)\/?(?:[?#]\S*)?$/.exec(value);
  if (link) {
    let candidate = link[1];
    try {
      candidate = decodeURIComponent(candidate);
    } catch {
      // keep it as typed; the check below rejects it
    }
    if (ROOM_PATTERN.test(candidate)) return { room: candidate };
  }
  if (/^(?:https?:\/\/|\/)/.test(value)) {
    return { error: 'That link does not point to a room. Room links look like …/r/brave-otter-42.' };
  }
  return { error: 'Room names are 1 to 64 characters: letters, digits, “-” and “_” only.' };
}

function goToRoom(name) {
  location.assign(`/r/${encodeURIComponent(name)}`);
}

// ---------------------------------------------------------------------------------------------
// Call view

function startCallView(name) {
  const link = `${location.origin}/r/${name}`;
  document.title = `${name} · p2p-call`;
  $('room-name').textContent = name;
  const shareInput = /** @type {HTMLInputElement} */ ($('share-url'));
  shareInput.value = link;
  shareInput.addEventListener('focus', () => shareInput.select());
  $('copy-link').addEventListener('click', (event) =>
    copy(link, /** @type {HTMLButtonElement} */ (event.currentTarget), shareInput, 'Link copied to the clipboard.'));

  const call = document.createElement('p2p-call');
  call.setAttribute('room', name);
  call.setAttribute('invite-url', link);
  const lang = storedLang();
  if (lang) call.setAttribute('lang', lang);

  const log = createLog();
  for (const type of EVENTS) call.addEventListener(type, (event) => log.add(type, /** @type {CustomEvent} */ (event).detail));
  call.addEventListener('p2p-state-change', (event) => showState(/** @type {CustomEvent} */ (event).detail.state));

  $('call-slot').prepend(call);
  // "Leave" is a hangup, not just a navigation: the other side is told at once ("left"), rather
  // than seeing a page that went away (a short hold of the seat, in case it was a reload).
  document.querySelector('.header-tools .leave')?.addEventListener('click', () => {
    if (typeof call.hangup === 'function') call.hangup();
  });
  setUpLangSwitch(call, lang ?? 'en');
  watchBundle();
}

function showState(state) {
  const pill = $('state-pill');
  pill.dataset.state = state;
  $('state-text').textContent = state;
}

/** Tells the visitor why the call area is empty if the script-tag bundle never defines the element. */
function watchBundle() {
  const timer = setTimeout(() => ($('bundle-missing').hidden = false), 4000);
  customElements.whenDefined('p2p-call').then(() => clearTimeout(timer));
}

function setUpLangSwitch(call, current) {
  const select = /** @type {HTMLSelectElement} */ ($('lang-select'));
  select.value = current;
  select.addEventListener('change', () => {
    call.setAttribute('lang', select.value);
    saveLang(select.value);
  });
}

function storedLang() {
  try {
    const lang = localStorage.getItem(LANG_KEY);
    return lang && LANGS.includes(lang) ? lang : undefined;
  } catch {
    return undefined; // storage blocked (privacy mode, sandboxed frame)
  }
}

function saveLang(lang) {
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // not remembered; the switch still works for this page
  }
}

// ---------------------------------------------------------------------------------------------
// Event log

function createLog() {
  const details = /** @type {HTMLDetailsElement} */ ($('log-details'));
  const list = $('log-list');
  const empty = $('log-empty');
  const count = $('log-count');
  const stats = {
    row: $('log-stats'),
    time: $('log-stats-time'),
    count: $('log-stats-count'),
    detail: $('log-stats-detail'),
    seen: 0,
  };
  let total = 0;

  details.open = matchMedia(WIDE).matches;

  const setTotal = (n) => {
    total = n;
    count.textContent = String(n);
    empty.hidden = n > 0;
  };

  $('log-clear').addEventListener('click', () => {
    list.replaceChildren();
    stats.row.hidden = true;
    stats.seen = 0;
    setTotal(0);
  });

  return {
    add(type, detail) {
      const now = new Date();
      const json = toJson(detail);
      setTotal(total + 1);
      if (type === 'p2p-stats') {
        // One line that updates in place: stats arrive every few seconds for the whole call.
        stats.seen++;
        stats.row.hidden = false;
        setTime(stats.time, now);
        stats.count.textContent = `×${stats.seen}`;
        stats.detail.textContent = json;
        return;
      }
      const item = document.createElement('li');
      item.className = 'log-entry';
      item.dataset.type = type;
      if (type === 'p2p-error' && detail && detail.fatal) item.dataset.fatal = 'true';
      const time = document.createElement('time');
      time.className = 'log-time';
      setTime(time, now);
      const name = document.createElement('span');
      name.className = 'log-name';
      name.textContent = type;
      const code = document.createElement('code');
      code.className = 'log-detail';
      code.textContent = json;
      item.append(time, name, code);
      list.prepend(item);
      while (list.childElementCount > LOG_LIMIT) list.lastElementChild?.remove();
    },
  };
}

function setTime(el, date) {
  const pad = (n, width = 2) => String(n).padStart(width, '0');
  el.textContent = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
  el.setAttribute('datetime', date.toISOString());
}

function toJson(value) {
  try {
    // Indented then folded onto one line: spaces after ":" and "," let long lines wrap between values.
    return JSON.stringify(value, null, 1)?.replace(/\n\s*/g, ' ') ?? 'undefined';
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------------------------
// Embed snippet

function renderEmbed(roomName) {
  const origin = location.origin;
  const snippet = `<script type="module" src="${origin}/p2p-call.js"></script>\n<p2p-call room="${roomName}"></p2p-call>`;
  $('embed-code').textContent = snippet;
  $('embed-iife').textContent = `<script src="${origin}/p2p-call.iife.js"></script>`;
  $('copy-embed').addEventListener('click', (event) =>
    copy(snippet, /** @type {HTMLButtonElement} */ (event.currentTarget), $('embed-code'), 'Snippet copied to the clipboard.'));
}

// ---------------------------------------------------------------------------------------------
// Clipboard

const resetTimers = new WeakMap();

/**
 * Copies `text` and says so on the button and to screen readers. Where the Clipboard API is
 * missing or refused (plain http on a LAN address), selects `source` so Ctrl+C/⌘C works.
 */
async function copy(text, button, source, done) {
  const label = /** @type {HTMLElement} */ (button.querySelector('.btn-text'));
  let ok = false;
  try {
    if (!navigator.clipboard) throw new Error('no clipboard');
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    selectContents(source);
  }
  const shortcut = /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘C' : 'Ctrl+C';
  label.textContent = ok ? 'Copied!' : `Press ${shortcut}`;
  button.classList.toggle('is-copied', ok);
  announcer.textContent = ok ? done : `Selected. Press ${shortcut} to copy.`;
  clearTimeout(resetTimers.get(button));
  resetTimers.set(button, setTimeout(() => {
    label.textContent = 'Copy';
    button.classList.remove('is-copied');
    announcer.textContent = '';
  }, 2200));
}

function selectContents(el) {
  if (el instanceof HTMLInputElement) {
    el.focus();
    el.select();
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(el);
  const selection = getSelection();
  selection?.removeAllRanges();
  selection?.addRange(range);
}
