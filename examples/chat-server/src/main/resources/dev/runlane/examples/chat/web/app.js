// Runlane chat example: a plain-JS client of the JSON protocol (docs/reference/protocol.md).
//
// Resume strategy: this tab keeps its transcript AND, per run, the last seq it applied, in
// sessionStorage, written together after every event. After a reload it restores the transcript
// and subscribes with that lastSeq + epoch, so the server replays exactly the events it has not
// applied: the text continues with nothing doubled and nothing missing. Events are also
// de-duplicated by (runId, seq), so overlapping subscribes can never double the text.
(() => {
  'use strict';

  const STORE_KEY = 'runlane-chat-v2';
  const PING_MS = 20000;
  const $ = (id) => document.getElementById(id);

  /** @type {{name:string|null, sessionId:string|null, serverEpoch:string|null, turns:Array<any>}} */
  let state = load() || { name: null, sessionId: null, serverEpoch: null, turns: [] };
  let ws = null;
  let pingTimer = null;
  let reconnectTimer = null;
  let reconnectDelay = 250;
  let loggedOut = false;
  let renderQueued = false;
  let phase = '';
  let refCounter = 0;
  const approvals = new Map(); // approvalId -> approval (unsequenced: re-sent in every subscribe ack)

  // ------------------------------------------------------------------ storage

  function load() {
    try {
      const s = JSON.parse(sessionStorage.getItem(STORE_KEY) || 'null');
      return s && Array.isArray(s.turns) ? s : null;
    } catch (e) {
      return null;
    }
  }

  function save() {
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify(state));
    } catch (e) {
      // storage full or disabled: the page still works, a reload just starts over
    }
  }

  // ------------------------------------------------------------------ connection

  async function connect() {
    clearTimeout(reconnectTimer);
    if (loggedOut || !state.name) return;
    setConnection('connecting');
    let ticket;
    try {
      const res = await fetch('/api/ticket', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'name=' + encodeURIComponent(state.name),
      });
      const body = await res.json();
      if (!res.ok) throw new Error(body.error || ('HTTP ' + res.status));
      ticket = body.ticket;
      state.sessionId = body.sessionId;
    } catch (e) {
      showError('LOGIN', 'could not get a stream ticket: ' + e.message);
      scheduleReconnect();
      return;
    }
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const socket = new WebSocket(scheme + location.host + '/ws?ticket=' + encodeURIComponent(ticket));
    ws = socket;
    socket.onmessage = (e) => {
      if (ws !== socket) return;
      let m;
      try {
        m = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      handle(m);
    };
    socket.onclose = (e) => {
      if (ws !== socket) return;
      ws = null;
      clearInterval(pingTimer);
      setConnection('offline');
      if (e.code === 4401) {
        showError('UNAUTHORIZED', 'the server refused this connection');
      }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (loggedOut) return;
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 5000);
  }

  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify(msg));
      return true;
    }
    showError('OFFLINE', 'not connected; retrying');
    return false;
  }

  // ------------------------------------------------------------------ protocol

  function handle(m) {
    switch (m.kind) {
      case 'welcome': return onWelcome(m);
      case 'subscribed': return onSubscribed(m);
      case 'run_event': return onRunEvent(m);
      case 'status': return onStatus(m);
      case 'approval_requested': approvals.set(m.approvalId, m); return queueRender();
      case 'approval_resolved': return onApprovalResolved(m);
      case 'protocol_error': return showError(m.code, m.message);
      case 'notice': return showError('NOTICE', m.type);
      case 'heartbeat': return undefined;
      default: return undefined; // newer servers may send kinds this page does not know
    }
  }

  function onWelcome(m) {
    setConnection('online');
    reconnectDelay = 250;
    clearInterval(pingTimer);
    pingTimer = setInterval(() => send({ type: 'ping' }), PING_MS);
    if (state.serverEpoch && state.serverEpoch !== m.serverEpoch) {
      // The server restarted: every stored seq belongs to runs it no longer knows.
      for (const t of state.turns) {
        if (t.state === 'running') {
          t.state = 'lost';
          t.note = 'The server restarted during this answer; it cannot be resumed.';
        }
      }
    }
    state.serverEpoch = m.serverEpoch;
    approvals.clear();
    save();
    resume();
    queueRender();
  }

  /** Follow our session, resuming after the last applied seq of the newest run we know. */
  function resume() {
    const last = latestTurn();
    const sessions = [];
    if (last && last.state === 'running') {
      // Finish exactly this run even if another tab has started a newer one meanwhile.
      sessions.push({ sessionId: state.sessionId, runId: last.runId, lastSeq: last.lastSeq, epoch: last.epoch });
    }
    sessions.push(last && last.state !== 'lost'
      ? { sessionId: state.sessionId, lastSeq: last.lastSeq, epoch: last.epoch }
      : { sessionId: state.sessionId, lastSeq: 0 });
    send({ type: 'chat.subscribe', ref: 'resume-' + (++refCounter), sessions });
  }

  function onSubscribed(m) {
    for (const a of m.pendingApprovals || []) approvals.set(a.approvalId, a);
    if (!m.runId) {
      // NO_RUN_YET (nothing yet, the next run will come) or UNKNOWN_RUN (the position held is gone)
      const last = latestTurn();
      if (m.requestedLastSeq > 0 && last && last.state === 'running') {
        last.state = 'lost';
        last.note = 'The server no longer holds this run; its end is unknown.';
      }
    } else {
      let t = findTurn(m.runId);
      if (!t) {
        t = addTurn(m.runId, m.epoch);
        if (m.replayFrom > 1) {
          t.note = 'This answer began before this tab could see it; its first '
            + (m.replayFrom - 1) + ' events are no longer held by the server.';
        }
      } else if (m.status === 'EPOCH_CHANGED' || m.status === 'AHEAD_OF_HEAD') {
        // Our lastSeq does not belong to this run instance: rebuild it from the replay.
        Object.assign(t, { epoch: m.epoch, lastSeq: 0, text: '', parts: [], state: 'running', note: '' });
      } else if (m.truncated && m.replayFrom > t.lastSeq + 1) {
        t.note = (m.replayFrom - t.lastSeq - 1) + ' events were evicted before this page resumed; the answer has a gap.';
        t.lastSeq = m.replayFrom - 1;
      }
    }
    save();
    queueRender();
  }

  function onRunEvent(m) {
    let t = findTurn(m.runId);
    if (!t) t = addTurn(m.runId, m.epoch);
    if (m.seq <= t.lastSeq) return; // already applied: never doubles the text
    if (t.lastSeq > 0 && m.seq !== t.lastSeq + 1) {
      t.note = 'Missed events ' + (t.lastSeq + 1) + '…' + (m.seq - 1) + '.';
    }
    t.lastSeq = m.seq;
    t.epoch = m.epoch;
    const d = m.data;
    switch (m.type) {
      case 'run.started':
        t.prompt = typeof d === 'string' ? d : '';
        break;
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
      case 'run.completed':
      case 'run.aborted':
      case 'run.failed':
        t.state = m.type.substring(4);
        t.outcome = d ? (d.message || '') : '';
        for (const [id, a] of approvals) if (a.runId === m.runId) approvals.delete(id);
        phase = '';
        break;
      default:
        break; // other event kinds: ignored by this page, still counted in lastSeq
    }
    save();
    queueRender();
  }

  function onStatus(m) {
    const last = latestTurn();
    if (last && last.runId === m.runId && last.state === 'running') {
      phase = typeof m.data === 'string' ? m.data : '';
      queueRender();
    }
  }

  function onApprovalResolved(m) {
    approvals.delete(m.approvalId);
    const t = findTurn(m.runId);
    if (t) {
      const who = m.by ? ' by ' + m.by : '';
      t.approval = m.resolution === 'ANSWERED'
        ? (m.decision && m.decision.allow ? 'Tool approved' + who : 'Tool denied' + who)
        : (m.resolution === 'EXPIRED' ? 'Approval expired' : 'Approval closed: the run ended');
      save();
    }
    queueRender();
  }

  // ------------------------------------------------------------------ model helpers

  function latestTurn() {
    return state.turns.length ? state.turns[state.turns.length - 1] : null;
  }

  function findTurn(runId) {
    return state.turns.find((t) => t.runId === runId) || null;
  }

  function addTurn(runId, epoch) {
    // text: the whole answer so far; parts: the same text split around tool calls, for display
    const t = { runId, epoch, lastSeq: 0, prompt: null, text: '', parts: [], state: 'running', note: '', approval: '' };
    state.turns.push(t);
    return t;
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
    const loggedIn = !!state.name && !loggedOut;
    $('login').hidden = loggedIn;
    $('chat').hidden = !loggedIn;
    $('logout').hidden = !loggedIn;
    $('who').textContent = loggedIn ? 'signed in as ' + state.name : '';
    if (!loggedIn) return;

    const box = $('transcript');
    const nearBottom = window.innerHeight + window.scrollY >= document.body.offsetHeight - 40;
    box.replaceChildren(...state.turns.map(renderTurn));

    const ap = $('approvals');
    ap.replaceChildren(...[...approvals.values()].map(renderApproval));

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
    const yes = document.createElement('button');
    yes.className = 'approve';
    yes.textContent = 'Approve';
    yes.onclick = () => send({ type: 'chat.approval', approvalId: a.approvalId, allow: true });
    const no = document.createElement('button');
    no.className = 'deny';
    no.textContent = 'Deny';
    no.onclick = () => send({ type: 'chat.approval', approvalId: a.approvalId, allow: false, message: 'denied in the page' });
    el.append(q, yes, no);
    return el;
  }

  // ------------------------------------------------------------------ wiring

  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('name').value.trim();
    if (!name) return;
    loggedOut = false;
    state = { name, sessionId: null, serverEpoch: null, turns: [] };
    save();
    queueRender();
    connect();
  });

  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const content = $('prompt').value;
    if (!content.trim()) return;
    if (send({ type: 'chat.send', sessionId: state.sessionId, content, ref: 'send-' + (++refCounter) })) {
      $('prompt').value = '';
      phase = '';
    }
  });

  $('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      $('composer').requestSubmit();
    }
  });

  $('abort').addEventListener('click', () => {
    const last = latestTurn();
    if (last && last.state === 'running') {
      send({ type: 'chat.abort', sessionId: state.sessionId, runId: last.runId });
    }
  });

  $('logout').addEventListener('click', () => {
    loggedOut = true;
    clearTimeout(reconnectTimer);
    clearInterval(pingTimer);
    const s = ws;
    ws = null;
    if (s) s.close(1000, 'switch user');
    sessionStorage.removeItem(STORE_KEY);
    state = { name: null, sessionId: null, serverEpoch: null, turns: [] };
    approvals.clear();
    setConnection('offline');
    render();
  });

  render();
  if (state.name) connect();
})();
