// Runlane chat example: the page, built on the Runlane JavaScript client (clients/js, served from its
// WebJar as /runlane-client.js). The client owns the protocol: tickets, reconnects, the resume
// position of every run (stored in sessionStorage), de-duplication, typed resume outcomes, exactly
// one end per run and approvals. This script only keeps the transcript and renders it.
//
// The transcript lives in the subscription's `data`, which the client writes to sessionStorage in the
// same write as the resume positions: after a reload the page shows exactly the text that matches
// the position the client resumes from, so the answer continues with nothing doubled or missing.
import { RunlaneClient, httpTicketProvider } from '/runlane-client.js';

const NAME_KEY = 'runlane-chat-name';
const SESSION_KEY = 'runlane-chat-session';
const $ = (id) => document.getElementById(id);

let name = sessionStorage.getItem(NAME_KEY);
let client = null;
let sub = null;
let sessionId = null;
let model = { turns: [] }; // what the page renders; persisted as sub.data
let phase = '';
let renderQueued = false;
const approvals = new Map(); // approvalId -> approval; unsequenced, re-listed in every subscribe ack

// ------------------------------------------------------------------ connection

async function start() {
  const getTicket = httpTicketProvider('/api/ticket', { body: { name } });
  let first = null;
  sessionId = sessionStorage.getItem(SESSION_KEY);
  if (!sessionId) {
    // the first login: the ticket's answer names the user's session
    try {
      first = await getTicket(); // {ticket, principal, sessionId, expiresAt}
    } catch (e) {
      showError(e.code || 'LOGIN', 'could not get a stream ticket: ' + e.message);
      setTimeout(start, 2000);
      return;
    }
    sessionId = first.sessionId;
    sessionStorage.setItem(SESSION_KEY, sessionId);
  }
  // after a reload the stored transcript shows at once; the client fetches its own ticket
  const options = { getTicket, storageKey: 'runlane-chat:' + name };
  if (first) options.ticket = first.ticket;
  client = new RunlaneClient(options);
  client.on('state', (s) => setConnection(s === 'open' ? 'online' : s === 'connecting' ? 'connecting' : 'offline'));
  client.on('disconnected', (d) => {
    if (d.code === 4401) showError('UNAUTHORIZED', 'the server refused this connection');
  });
  client.on('error', (e) => showError(e.code, e.message));
  client.on('notice', (n) => showError('NOTICE', n.type));

  sub = client.subscribe(sessionId, {
    started(e) {
      const t = turn(e.runId);
      if (!t.fromHistory) t.prompt = typeof e.data === 'string' ? e.data : '';
    },
    event(e) {
      const t = turn(e.runId);
      if (!t.fromHistory) apply(t, e); // a turn loaded whole from the history is not applied twice
      queueRender();
    },
    end(e) {
      const t = turn(e.runId);
      if (t.fromHistory) return;
      t.state = e.state;
      t.outcome = e.outcome && e.outcome.message ? e.outcome.message : '';
      phase = '';
      queueRender();
    },
    status(s) {
      const last = latestTurn();
      if (last && last.runId === s.runId && last.state === 'running') {
        phase = typeof s.data === 'string' ? s.data : '';
        queueRender();
      }
    },
    truncated(t) {
      turn(t.runId).note = 'Events ' + t.fromSeq + '…' + t.toSeq
        + ' were no longer held by the server when this page resumed; the answer has a gap.';
      save();
    },
    epochChanged(c) {
      if (c.reset) Object.assign(turn(c.runId), { text: '', parts: [], state: 'running', note: '' });
      save();
    },
    unknownRun(u) {
      const t = model.turns.find((x) => x.runId === u.runId);
      if (t && t.state === 'running') {
        t.state = 'lost';
        t.note = 'The server no longer holds this run (it may have restarted); its end is unknown.';
        save();
      }
    },
    approvalRequested(a) {
      approvals.set(a.approvalId, a);
      queueRender();
    },
    approvalResolved(r) {
      approvals.delete(r.approvalId);
      const t = model.turns.find((x) => x.runId === r.runId);
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
    error(e) {
      showError(e.code, e.message);
    },
  });
  if (sub.data && Array.isArray(sub.data.turns)) model = sub.data; // a reload: the stored transcript
  sub.data = model;
  render();
  loadHistory();
}

/** The session's earlier turns from the server's database: a new tab shows the whole conversation. */
async function loadHistory() {
  let turns;
  try {
    const res = await fetch('/api/history?name=' + encodeURIComponent(name));
    if (!res.ok) throw new Error('HTTP ' + res.status);
    turns = (await res.json()).turns || [];
  } catch (e) {
    showError('HISTORY', 'could not load the conversation: ' + e.message);
    return;
  }
  const known = new Map(model.turns.map((t) => [t.runId, t]));
  const merged = turns.map((h) => known.get(h.runId) || {
    runId: h.runId, prompt: h.prompt, text: h.answer, parts: h.answer ? [{ type: 'text', text: h.answer }] : [],
    state: h.state, note: '', approval: '', outcome: '', fromHistory: true,
  });
  const inHistory = new Set(turns.map((h) => h.runId));
  model.turns = merged.concat(model.turns.filter((t) => !inHistory.has(t.runId)));
  save();
}

function save() {
  if (sub) sub.data = model; // one write with the resume positions
  queueRender();
}

// ------------------------------------------------------------------ model

function latestTurn() {
  return model.turns.length ? model.turns[model.turns.length - 1] : null;
}

function turn(runId) {
  let t = model.turns.find((x) => x.runId === runId);
  if (!t) {
    // text: the whole answer so far; parts: the same text split around tool calls, for display
    t = { runId, prompt: null, text: '', parts: [], state: 'running', note: '', approval: '', outcome: '' };
    model.turns.push(t);
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

  const box = $('transcript');
  const nearBottom = window.innerHeight + window.scrollY >= document.body.offsetHeight - 40;
  box.replaceChildren(...model.turns.map(renderTurn));
  $('approvals').replaceChildren(...[...approvals.values()].map(renderApproval));

  const last = latestTurn();
  const running = !!last && last.state === 'running';
  $('run-state').textContent = last ? last.state : 'idle';
  $('run-phase').textContent = running && phase ? '· ' + phase : '';
  $('abort').disabled = !running;
  $('send').disabled = running;
  if (nearBottom) window.scrollTo(0, document.body.scrollHeight);
}

function renderTurn(t) {
  const el = document.createElement('article');
  el.className = 'turn';
  el.dataset.runId = t.runId;
  el.dataset.state = t.state;
  const p = document.createElement('div');
  p.className = 'prompt';
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
  phase = '';
  client.send(sessionId, content).catch((err) => showError(err.code, err.message));
});

$('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    $('composer').requestSubmit();
  }
});

$('abort').addEventListener('click', () => {
  const last = latestTurn();
  if (client && last && last.state === 'running') {
    client.abort(sessionId, last.runId).catch((err) => showError(err.code, err.message));
  }
});

$('logout').addEventListener('click', () => {
  if (sub) sub.unsubscribe({ forget: true });
  if (client) client.close();
  try {
    sessionStorage.removeItem('runlane-chat:' + name + ':server');
  } catch (e) {
    // ignore
  }
  sessionStorage.removeItem(NAME_KEY);
  sessionStorage.removeItem(SESSION_KEY);
  client = null;
  sub = null;
  name = null;
  model = { turns: [] };
  approvals.clear();
  setConnection('offline');
  render();
});

render();
if (name) start();
