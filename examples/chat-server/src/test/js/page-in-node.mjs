// The example's page script (web/app.js) in Node against the real server, with a small DOM stand-in,
// for machines without Chromium (ChatPageBrowserTest covers the same in a real browser). A "page" is
// a fresh instance of app.js with its own document; a reload unloads one (its sockets close, it can
// open no more) and loads another on the same sessionStorage. Env: RUNLANE_URL, PROMPT, ANSWER,
// APPROVAL_PROMPT, APPROVAL_ANSWER (the demo agent's full answers, from DemoAgent.answer).
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const APP = join(here, '../../main/resources/dev/runlane/examples/chat/web/app.js');
const CLIENT = join(here, '../../../../../clients/js/src/runlane-client.js');
const BASE = process.env.RUNLANE_URL;
const USER = process.env.PAGE_USER || 'alice';
const tmp = mkdtempSync(join(tmpdir(), 'runlane-page-'));

class El {
  constructor(tag, id = null) {
    Object.assign(this, { tagName: tag, id, children: [], parent: null, hidden: false, _text: '', dataset: {},
      className: '', disabled: false, value: '', listeners: {}, onclick: null });
  }
  get textContent() { return this.children.length ? this.children.map((c) => c.textContent).join('') : this._text; }
  set textContent(v) { this.children = []; this._text = String(v); }
  appendChild(c) { c.remove(); c.parent = this; this.children.push(c); return c; }
  append(...cs) { cs.forEach((c) => this.appendChild(c)); }
  replaceChildren(...cs) { for (const c of this.children) c.parent = null; this.children = []; this._text = ''; this.append(...cs); }
  remove() { if (this.parent) { this.parent.children = this.parent.children.filter((x) => x !== this); this.parent = null; } }
  addEventListener(t, fn) { (this.listeners[t] ||= []).push(fn); }
  dispatch(t, extra = {}) { for (const f of this.listeners[t] || []) f({ preventDefault() {}, ...extra }); }
  requestSubmit() { this.dispatch('submit'); }
  all(cls) { const out = []; for (const c of this.children) { if (c.className === cls) out.push(c); out.push(...c.all(cls)); } return out; }
}

const IDS = ['connection', 'transport', 'switch-transport', 'who', 'logout', 'login', 'name', 'join', 'chat', 'transcript', 'approvals', 'errors',
  'run-state', 'run-phase', 'composer', 'prompt', 'send', 'abort', 'rooms', 'room-list', 'create-room', 'room-name',
  'create', 'room-tools', 'presence', 'invite-form', 'invite-user', 'invite'];

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
}

let pages = 0;
async function openPage(storage) {
  const n = ++pages;
  const byId = Object.fromEntries(IDS.map((id) => [id, new El('div', id)]));
  const body = new El('body');
  const page = { alive: true, sockets: [], byId };
  const document = { getElementById: (id) => byId[id] || null, createElement: (t) => new El(t), body: Object.assign(body, { offsetHeight: 0, scrollHeight: 0 }) };
  const window = { innerHeight: 1000, scrollY: 0, scrollTo() {} };
  const fetchForPage = (url, init) => {
    if (!page.alive) return Promise.reject(new Error('page unloaded'));
    return fetch(new URL(url, BASE), init);
  };
  class PageWebSocket extends RealWebSocket {
    constructor(url) {
      if (!page.alive) throw new Error('page unloaded');
      super(url);
      page.sockets.push(this);
    }
  }
  globalThis.__pages = globalThis.__pages || {};
  globalThis.__pages[n] = { document, window, sessionStorage: storage };
  // what a browser gives every page; the client reads these when it is created
  globalThis.fetch = fetchForPage;
  globalThis.WebSocket = PageWebSocket;
  globalThis.sessionStorage = storage;
  const src = readFileSync(APP, 'utf8').replace("from '/runlane-client.js'", 'from ' + JSON.stringify(pathToFileURL(CLIENT).href));
  const file = join(tmp, 'app-' + n + '.mjs');
  writeFileSync(file, 'const { document, window, sessionStorage } = globalThis.__pages[' + n + '];\n' + src);
  await import(pathToFileURL(file).href);
  page.unload = () => {
    page.alive = false;
    for (const s of page.sockets) s.close(3001, 'page unloaded');
  };
  page.answer = () => { const t = byId.transcript.children; return t.length ? t[t.length - 1].all('seg').map((s) => s.textContent).join('') : ''; };
  page.state = () => { const t = byId.transcript.children; return t.length ? t[t.length - 1].dataset.state : 'none'; };
  page.turns = () => byId.transcript.children.length;
  page.online = () => byId.connection.dataset.state === 'online';
  page.ask = (text) => { byId.prompt.value = text; byId.composer.dispatch('submit'); };
  return page;
}

const realFetch = globalThis.fetch;
const RealWebSocket = globalThis.WebSocket;
function fetch(url, init) { return realFetch(url, init); }
globalThis.location = { protocol: 'http:', host: new URL(BASE).host };
if (typeof RealWebSocket !== 'function') { console.error('no global WebSocket'); process.exit(2); }

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond, what, ms = 40000) {
  const end = Date.now() + ms;
  while (!cond()) { if (Date.now() > end) throw new Error('timed out: ' + what); await sleep(10); }
}
function check(c, m) { if (!c) throw new Error('check failed: ' + m); }

async function main() {
  const aliceTab = memoryStorage();
  let alice = await openPage(aliceTab);
  alice.byId.name.value = USER;
  alice.byId.login.dispatch('submit');
  await waitFor(alice.online, 'alice online');
  const tab2 = await openPage(memoryStorage());
  tab2.byId.name.value = USER;
  tab2.byId.login.dispatch('submit');
  await waitFor(tab2.online, 'second tab online');

  // a reload mid-answer resumes exactly
  alice.ask(process.env.PROMPT);
  await waitFor(() => alice.answer().length >= 60 && alice.state() === 'running', 'mid-answer');
  const before = alice.answer();
  alice.unload();
  alice = await openPage(aliceTab);
  await waitFor(alice.online, 'online after the reload');
  check(alice.answer().startsWith(before), 'the reloaded page keeps its text');
  await waitFor(() => alice.state() === 'completed', 'completed after the reload');
  check(alice.answer() === process.env.ANSWER, 'no duplicated and no missing text: ' + JSON.stringify(alice.answer()));
  check(alice.turns() === 1, 'one turn');
  await waitFor(() => tab2.state() === 'completed', 'the second tab completed');
  check(tab2.answer() === process.env.ANSWER, 'the second tab has the same text');

  // a reload after the end restores the transcript and replays nothing twice
  alice.unload();
  alice = await openPage(aliceTab);
  await waitFor(alice.online, 'online again');
  await sleep(300);
  check(alice.answer() === process.env.ANSWER && alice.turns() === 1, 'same transcript after the end');

  // an approval survives a reload and is answered from the page
  alice.ask(process.env.APPROVAL_PROMPT);
  await waitFor(() => alice.byId.approvals.children.length === 1, 'the approval prompt');
  alice.unload();
  alice = await openPage(aliceTab);
  await waitFor(() => alice.byId.approvals.children.length === 1, 'the approval prompt after a reload');
  alice.byId.approvals.children[0].all('approve')[0].onclick();
  await waitFor(() => alice.state() === 'completed', 'the approved run completed');
  check(alice.answer() === process.env.APPROVAL_ANSWER, 'approved answer: ' + JSON.stringify(alice.answer()));
  check(alice.byId.approvals.children.length === 0, 'no approval left');
  await waitFor(() => tab2.byId.approvals.children.length === 0 && tab2.state() === 'completed', 'the other tab closed it too');
  const meta = alice.byId.transcript.children[1].all('meta')[0].textContent;
  check(meta.includes('Tool approved by ' + USER), 'meta: ' + meta);

  // abort ends the run once
  alice.ask('Stream something long so I can abort it');
  await waitFor(() => alice.turns() === 3 && alice.answer().length >= 20, 'some text');
  alice.byId.abort.dispatch('click');
  await waitFor(() => alice.state() === 'aborted', 'aborted');
  check(alice.byId.send.disabled === false && alice.byId.abort.disabled === true, 'buttons after the abort');
  check(alice.byId.errors.textContent === '', 'no errors shown: ' + alice.byId.errors.textContent);

  // a new tab shows the whole conversation: the ended turns come from the history database
  const fresh = await openPage(memoryStorage());
  fresh.byId.name.value = USER;
  fresh.byId.login.dispatch('submit');
  await waitFor(() => fresh.online() && fresh.turns() === 3, 'the new tab shows three turns');
  await sleep(300); // a replay of the latest run must not double its text
  const answers = fresh.byId.transcript.children.map((t) => t.all('seg').map((x) => x.textContent).join(''));
  check(answers[0] === process.env.ANSWER && answers[1] === process.env.APPROVAL_ANSWER, 'history answers: ' + JSON.stringify(answers));
  check(fresh.byId.transcript.children.map((t) => t.dataset.state).join() === 'completed,completed,aborted', 'history states');
  check(answers[2] === alice.answer(), 'the aborted turn as the author saw it');

  // a room: alice creates it and invites bob; bob prompts; both see the same stream and approval
  const bob = await openPage(memoryStorage());
  bob.byId.name.value = USER + '-bob';
  bob.byId.login.dispatch('submit');
  await waitFor(bob.online, 'bob online');
  alice.byId['room-name'].value = USER + '-room';
  alice.byId['create-room'].dispatch('submit');
  await waitFor(() => alice.byId['room-tools'].hidden === false && alice.turns() === 0, 'alice shows the new room');
  alice.byId['invite-user'].value = USER + '-bob';
  alice.byId['invite-form'].dispatch('submit');
  const roomButton = () => bob.byId['room-list'].children.find((b) => b.textContent === '# ' + USER + '-room');
  await waitFor(() => roomButton(), 'bob sees the invitation (rooms are polled)', 20000);
  roomButton().onclick();
  await waitFor(() => bob.byId.presence.textContent.includes(USER + ' ●') && bob.byId.presence.textContent.includes(USER + '-bob ●'), 'presence: both online');
  bob.ask(process.env.APPROVAL_PROMPT);
  await waitFor(() => alice.byId.approvals.children.length === 1 && bob.byId.approvals.children.length === 1, 'both members asked');
  bob.byId.approvals.children[0].all('approve')[0].onclick();
  await waitFor(() => alice.byId.approvals.children.length === 0, 'the approval disappears for the other member');
  await waitFor(() => alice.state() === 'completed' && bob.state() === 'completed', 'the room run completed for both');
  check(alice.answer() === process.env.APPROVAL_ANSWER && bob.answer() === process.env.APPROVAL_ANSWER, 'both members saw the whole answer');
  check(alice.byId.transcript.children[0].all('meta')[0].textContent.includes('Tool approved by ' + USER + '-bob'), 'approved by bob');
  check(fresh.byId.transcript.children.length === 3, 'the personal chat is untouched by the room');
  return 'turns=' + alice.turns() + ' newTabTurns=' + fresh.turns() + ' room=ok';
}

const timer = setTimeout(() => { console.error('FAIL page-in-node: not finished in 120 s'); process.exit(1); }, 120000);
main().then(
  (s) => { console.log('OK page-in-node ' + s); clearTimeout(timer); setTimeout(() => process.exit(0), 100); },
  (e) => { console.error('FAIL page-in-node: ' + (e && e.stack || e)); process.exit(1); },
);
