// Runlane chat example: the page, built on the Runlane JavaScript client (clients/js, served from its
// WebJar as /runlane-client.js). The client owns the protocol: tickets, reconnects, the resume
// position of every run (stored in sessionStorage), de-duplication, typed resume outcomes, exactly
// one end per run and approvals. This script keeps one transcript per conversation (the user's own
// chat and each room) and renders the one shown.
//
// Each transcript lives in its subscription's `data`, which the client writes to sessionStorage in
// the same write as the resume positions: after a reload the page shows exactly the text that
// matches the position the client resumes from, so an answer continues with nothing doubled or
// missing. Ended turns the page never saw (a new tab) come from the server's history database.
//
// Two flavours of the same page: over a WebSocket (the default) or, with `?transport=sse`, over
// Server-Sent Events where the server serves them at /runlane/sse (the Spring Boot example does;
// the header then offers a switch). The demo authenticates the stream with `?user=<name>`, which
// the browser's own reconnect repeats; a real application uses its session cookie.
import { RunlaneClient, httpTicketProvider } from '/runlane-client.js';

const NAME_KEY = 'runlane-chat-name';
const SESSION_KEY = 'runlane-chat-session';
const CURRENT_KEY = 'runlane-chat-current';
const ROOMS_POLL_MS = 5000;
const SSE_PATH = '/runlane/sse';
const $ = (id) => document.getElementById(id);
const transport = new URLSearchParams(location.search).get('transport') === 'sse' ? 'sse' : 'websocket';

let name = sessionStorage.getItem(NAME_KEY);
let client = null;
let own = null; // the user's own session id, e.g. alice/chat
let current = null; // the session shown
let rooms = []; // [{room, sessionId, owner, members, online}]
let roomsTimer = null;
let roomsOffered = true; // false when the server has no rooms (the Spring Boot example)
let renderQueued = false;
/** sessionId -> {sub, model: {turns}, approvals: Map, phase, presence} */
const convs = new Map();

// ------------------------------------------------------------------ connection

async function start() {
  const getTicket = httpTicketProvider('/api/ticket', { body: { name } });
  let first = null;
  own = sessionStorage.getItem(SESSION_KEY);
  if (!own) {
    // the first login: the ticket's answer names the user's session
    try {
      first = await getTicket(); // {ticket, principal, sessionId, expiresAt}
    } catch (e) {
      showError(e.code || 'LOGIN', 'could not get a stream ticket: ' + e.message);
      setTimeout(start, 2000);
      return;
    }
    own = first.sessionId;
    sessionStorage.setItem(SESSION_KEY, own);
  }
  // after a reload the stored transcripts show at once; the client fetches its own tickets
  const options = { getTicket, storageKey: 'runlane-chat:' + name };
  if (first) options.ticket = first.ticket;
  if (transport === 'sse') {
    // no tickets over SSE: the browser repeats the stream's URL when it reconnects by itself
    client = new RunlaneClient({ transport: 'sse', url: SSE_PATH + '?user=' + encodeURIComponent(name), storageKey: options.storageKey });
  } else {
    client = new RunlaneClient(options);
  }
  client.on('state', (s) => setConnection(s === 'open' ? 'online' : s === 'connecting' ? 'connecting' : 'offline'));
  client.on('disconnected', (d) => {
    if (d.code === 4401) showError('UNAUTHORIZED', 'the server refused this connection');
  });
  client.on('error', (e) => showError(e.code, e.message));
  client.on('notice', (n) => showError('NOTICE', n.type));

  current = sessionStorage.getItem(CURRENT_KEY) || own;
  follow(own);
  if (current !== own) follow(current);
  render();
  loadRooms();
}

/** Follows a conversation (once): its transcript, approvals and presence. */
function follow(sessionId) {
  let c = convs.get(sessionId);
  if (c) return c;
  c = { sessionId, sub: null, model: { turns: [] }, approvals: new Map(), phase: '', presence: null };
  convs.set(sessionId, c);
  const save = () => { c.sub.data = c.model; queueRender(); }; // one write with the resume positions
  c.sub = client.subscribe(sessionId, {
    started(e) {
      const t = turn(c, e.runId);
      if (!t.fromHistory) t.prompt = typeof e.data === 'string' ? e.data : '';
    },
    event(e) {
      const t = turn(c, e.runId);
      if (!t.fromHistory) apply(t, e); // a turn loaded whole from the history is not applied twice
      queueRender();
    },
    end(e) {
      const t = turn(c, e.runId);
      if (t.fromHistory) return;
      t.state = e.state;
      t.owner = e.outcome && e.outcome.owner ? e.outcome.owner : t.owner;
      t.outcome = e.outcome && e.outcome.message ? e.outcome.message : '';
      c.phase = '';
      queueRender();
    },
    status(s) {
      const last = latestTurn(c);
      if (last && last.runId === s.runId && last.state === 'running') {
        c.phase = typeof s.data === 'string' ? s.data : '';
        queueRender();
      }
    },
    truncated(t) {
      turn(c, t.runId).note = 'Events ' + t.fromSeq + '…' + t.toSeq
        + ' were no longer held by the server when this page resumed; the answer has a gap.';
      save();
    },
    epochChanged(x) {
      if (x.reset) Object.assign(turn(c, x.runId), { text: '', parts: [], state: 'running', note: '' });
      save();
    },
    unknownRun(u) {
      const t = c.model.turns.find((x) => x.runId === u.runId);
      if (t && t.state === 'running') {
        t.state = 'lost';
        t.note = 'The server no longer holds this run (it may have restarted); its end is unknown.';
        save();
      }
    },
    approvalRequested(a) {
      c.approvals.set(a.approvalId, a);
      queueRender();
    },
    approvalResolved(r) {
      c.approvals.delete(r.approvalId);
      const t = c.model.turns.find((x) => x.runId === r.runId);
      if (t) {
        const who = r.by ? ' by ' + r.by : '';
        t.approval = r.resolution === 'ANSWERED'
          ? (r.decision && r.decision.allow ? 'Tool approved' + who : 'Tool denied' + who)
          : r.resolution === 'EXPIRED' ? 'Approval expired'
            : r.resolution === 'RUN_ENDED' ? 'Approval closed: the run ended' : 'Approval answered elsewhere';
        save();
      }
      queueRender();
    },
    notice(n) {
      if (n.type === 'presence') {
        c.presence = n.data;
        queueRender();
      }
    },
    error(e) {
      showError(e.code, e.message);
    },
  });
  if (c.sub.data && Array.isArray(c.sub.data.turns)) c.model = c.sub.data; // a reload: the stored transcript
  c.sub.data = c.model;
  loadHistory(c);
  return c;
}

/** The conversation's earlier turns from the server's database: a new tab shows all of it. */
async function loadHistory(c) {
  let turns;
  try {
    const res = await fetch('/api/history?name=' + encodeURIComponent(name) + '&session=' + encodeURIComponent(c.sessionId));
    if (res.status === 404) return; // this server keeps no history (the Spring Boot example)
    if (!res.ok) throw new Error('HTTP ' + res.status);
    turns = (await res.json()).turns || [];
  } catch (e) {
    showError('HISTORY', 'could not load the conversation: ' + e.message);
    return;
  }
  const known = new Map(c.model.turns.map((t) => [t.runId, t]));
  const merged = turns.map((h) => known.get(h.runId) || {
    runId: h.runId, owner: h.owner, prompt: h.prompt, text: h.answer,
    parts: h.answer ? [{ type: 'text', text: h.answer }] : [],
    state: h.state, note: '', approval: '', outcome: '', fromHistory: true,
  });
  const inHistory = new Set(turns.map((h) => h.runId));
  c.model.turns = merged.concat(c.model.turns.filter((t) => !inHistory.has(t.runId)));
  c.sub.data = c.model;
  queueRender();
}

/** The user's rooms (polled, so an invitation shows up by itself). */
async function loadRooms() {
  clearTimeout(roomsTimer);
  if (!name || !roomsOffered) return;
  try {
    const res = await fetch('/api/rooms?name=' + encodeURIComponent(name));
    if (res.status === 404) {
      roomsOffered = false; // this server has no rooms (the Spring Boot example): no room tools
      queueRender();
      return;
    }
    const body = res.ok ? await res.json() : null;
    if (body && client && name) { // not after a logout that happened meanwhile
      rooms = body.rooms || [];
      for (const r of rooms) follow(r.sessionId).presence ||= { members: r.members, online: r.online };
      queueRender();
    }
  } catch (e) {
    // offline: the next poll retries
  }
  roomsTimer = setTimeout(loadRooms, ROOMS_POLL_MS);
}

async function roomAction(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ name, ...body }).toString(),
  });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(answer.error || 'HTTP ' + res.status);
  return answer;
}

function show(sessionId) {
  current = sessionId;
  sessionStorage.setItem(CURRENT_KEY, sessionId);
  follow(sessionId);
  render();
}

// ------------------------------------------------------------------ model

function conv() {
  return convs.get(current) || { model: { turns: [] }, approvals: new Map(), phase: '', presence: null };
}

function latestTurn(c) {
  return c.model.turns.length ? c.model.turns[c.model.turns.length - 1] : null;
}

function turn(c, runId) {
  let t = c.model.turns.find((x) => x.runId === runId);
  if (!t) {
    // text: the whole answer so far; parts: the same text split around tool calls, for display
    t = { runId, owner: null, prompt: null, text: '', parts: [], state: 'running', note: '', approval: '', outcome: '' };
    c.model.turns.push(t);
  }
  return t;
}

function apply(t, e) {
  const d = e.data;
  switch (e.type) {
    case 'delta': {
      const piece = d && typeof d.text === 'string' ? d.text : '';
      const lastPart = t.parts[t.parts.length - 1];
      if (lastPart && lastPart.type === 'text') lastPart.text += piece;
      else t.parts.push({ type: 'text', text: piece });
      t.text += piece;
      break;
    }
    case 'tool_call':
      t.parts.push({ type: 'tool', id: d.id, name: d.name, result: null, denied: false });
      break;
    case 'tool_result': {
      const tool = t.parts.find((x) => x.type === 'tool' && x.id === d.id);
      if (tool) {
        tool.result = d.output;
        tool.denied = !!d.denied;
      }
      break;
    }
    default:
      break; // run.* kinds are handled by started/end; other kinds are ignored by this page
  }
}

// ------------------------------------------------------------------ view

function setConnection(s) {
  const el = $('connection');
  el.dataset.state = s;
  el.textContent = s;
}

function showError(code, message) {
  const el = document.createElement('div');
  el.className = 'error';
  el.dataset.code = code;
  el.textContent = code + ': ' + message;
  $('errors').appendChild(el);
  setTimeout(() => el.remove(), 8000);
}

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(render, 16);
}

function render() {
  renderQueued = false;
  const loggedIn = !!name;
  $('login').hidden = loggedIn;
  $('chat').hidden = !loggedIn;
  $('logout').hidden = !loggedIn;
  $('who').textContent = loggedIn ? 'signed in as ' + name : '';
  if (!loggedIn) return;

  const c = conv();
  renderRooms(c);
  const box = $('transcript');
  const nearBottom = window.innerHeight + window.scrollY >= document.body.offsetHeight - 40;
  box.replaceChildren(...c.model.turns.map(renderTurn));
  $('approvals').replaceChildren(...[...c.approvals.values()].map(renderApproval));

  const last = latestTurn(c);
  const running = !!last && last.state === 'running';
  $('run-state').textContent = last ? last.state : 'idle';
  $('run-phase').textContent = running && c.phase ? '· ' + c.phase : '';
  $('abort').disabled = !running;
  $('send').disabled = running;
  if (nearBottom) window.scrollTo(0, document.body.scrollHeight);
}

function renderRooms(c) {
  $('rooms').hidden = !roomsOffered;
  const list = $('room-list');
  const entries = [{ sessionId: own, label: 'My chat' }].concat(rooms.map((r) => ({ sessionId: r.sessionId, label: '# ' + r.room })));
  list.replaceChildren(...entries.map((e) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'room' + (e.sessionId === current ? ' current' : '');
    b.dataset.sessionId = e.sessionId;
    b.textContent = e.label;
    b.onclick = () => show(e.sessionId);
    return b;
  }));
  const room = rooms.find((r) => r.sessionId === current);
  $('room-tools').hidden = !room;
  const p = c.presence;
  $('presence').textContent = room && p
    ? 'Members: ' + p.members.map((m) => m + (p.online.includes(m) ? ' ●' : '')).join(', ') : '';
  $('invite').disabled = !room || room.owner !== name;
}

function renderTurn(t) {
  const el = document.createElement('article');
  el.className = 'turn';
  el.dataset.runId = t.runId;
  el.dataset.state = t.state;
  const p = document.createElement('div');
  p.className = 'prompt';
  p.dataset.label = current === own ? 'You: ' : (t.owner ? t.owner + ': ' : 'Prompt: ');
  p.textContent = t.prompt === null ? '(earlier message)' : t.prompt;
  el.appendChild(p);
  const a = document.createElement('div');
  a.className = 'answer';
  for (const part of t.parts) {
    if (part.type === 'text') {
      const seg = document.createElement('span');
      seg.className = 'seg';
      seg.textContent = part.text;
      a.appendChild(seg);
    } else {
      const tl = document.createElement('div');
      tl.className = 'tool';
      tl.textContent = 'tool ' + part.name + (part.denied ? ' → denied'
        : part.result ? ' → ' + JSON.stringify(part.result) : ' → running…');
      a.appendChild(tl);
    }
  }
  el.appendChild(a);
  const meta = document.createElement('div');
  meta.className = 'meta';
  const s = document.createElement('span');
  s.className = 'state';
  s.dataset.state = t.state;
  s.textContent = t.state;
  meta.appendChild(s);
  for (const text of [t.approval, t.outcome && t.state !== 'completed' ? t.outcome : '', t.note]) {
    if (text) {
      const n = document.createElement('span');
      n.className = 'note';
      n.textContent = text;
      meta.appendChild(n);
    }
  }
  el.appendChild(meta);
  return el;
}

function renderApproval(a) {
  const el = document.createElement('div');
  el.className = 'approval';
  el.dataset.approvalId = a.approvalId;
  const q = document.createElement('div');
  q.className = 'q';
  const payload = a.payload || {};
  q.textContent = (payload.question || 'Approve this tool call?') + ' (' + (payload.tool || 'tool') + ')';
  const answer = (allow, message) => client.resolveApproval(a.approvalId, { allow, message })
    .catch((e) => showError(e.code, e.message));
  const yes = document.createElement('button');
  yes.className = 'approve';
  yes.textContent = 'Approve';
  yes.onclick = () => answer(true);
  const no = document.createElement('button');
  no.className = 'deny';
  no.textContent = 'Deny';
  no.onclick = () => answer(false, 'denied in the page');
  el.append(q, yes, no);
  return el;
}

/** The transport pill, and a switch to the other flavour when this server also serves SSE. */
async function renderTransport() {
  $('transport').textContent = transport === 'sse' ? 'SSE' : 'WebSocket';
  $('transport').dataset.transport = transport;
  let sse = transport === 'sse';
  if (!sse) {
    try {
      // the SSE endpoint refuses a stream without a user (401); a server without it answers 404
      const res = await fetch(SSE_PATH);
      sse = res.status === 401;
      if (res.body) res.body.cancel().catch(() => {});
    } catch (e) {
      sse = false;
    }
  }
  if (!sse) return;
  const link = $('switch-transport');
  const url = new URL(location.href);
  if (transport === 'sse') url.searchParams.delete('transport');
  else url.searchParams.set('transport', 'sse');
  link.href = url.pathname + url.search;
  link.textContent = transport === 'sse' ? 'use WebSocket' : 'use SSE';
  link.hidden = false;
}

// ------------------------------------------------------------------ wiring

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const n = $('name').value.trim();
  if (!n) return;
  name = n;
  sessionStorage.setItem(NAME_KEY, name);
  queueRender();
  start();
});

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const content = $('prompt').value;
  if (!content.trim() || !client) return;
  if (client.state !== 'open') {
    showError('OFFLINE', 'not connected; retrying');
    return;
  }
  $('prompt').value = '';
  conv().phase = '';
  client.send(current, content).catch((err) => showError(err.code, err.message));
});

$('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    $('composer').requestSubmit();
  }
});

$('abort').addEventListener('click', () => {
  const last = latestTurn(conv());
  if (client && last && last.state === 'running') {
    client.abort(current, last.runId).catch((err) => showError(err.code, err.message));
  }
});

$('create-room').addEventListener('submit', (e) => {
  e.preventDefault();
  const room = $('room-name').value.trim();
  if (!room) return;
  roomAction('/api/rooms', { room })
    .then((r) => { $('room-name').value = ''; rooms = rooms.filter((x) => x.room !== r.room).concat([r]); show(r.sessionId); loadRooms(); })
    .catch((err) => showError('ROOM', err.message));
});

$('invite-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const user = $('invite-user').value.trim();
  const room = rooms.find((r) => r.sessionId === current);
  if (!user || !room) return;
  roomAction('/api/rooms/invite', { room: room.room, user })
    .then(() => { $('invite-user').value = ''; loadRooms(); })
    .catch((err) => showError('INVITE', err.message));
});

$('logout').addEventListener('click', () => {
  for (const c of convs.values()) c.sub.unsubscribe({ forget: true });
  convs.clear();
  clearTimeout(roomsTimer);
  rooms = [];
  if (client) client.close();
  try {
    sessionStorage.removeItem('runlane-chat:' + name + ':server');
  } catch (e) {
    // ignore
  }
  sessionStorage.removeItem(NAME_KEY);
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(CURRENT_KEY);
  client = null;
  name = null;
  own = null;
  current = null;
  setConnection('offline');
  render();
});

render();
renderTransport();
if (name) start();
