// Dashboard logic: plain DOM, text only (never innerHTML with server data).
'use strict';
const headers = { 'X-P2PNet-Admin': '1' };

async function api(path, options = {}) {
  const response = await fetch('/admin/api' + path, { credentials: 'same-origin', ...options, headers: { ...headers, ...(options.headers || {}) } });
  if (response.status === 401) { show(false); throw new Error('signed out'); }
  if (!response.ok) throw new Error(path + ': ' + response.status);
  return response.status === 204 ? null : response.json();
}

function show(signedIn) {
  document.getElementById('signin').hidden = signedIn;
  document.getElementById('dashboard').hidden = !signedIn;
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text;
  row.appendChild(td);
  return td;
}

async function refresh() {
  const overview = await api('/overview');
  document.getElementById('peer-count').textContent = overview.peerCount;
  document.getElementById('registrations').textContent = overview.registrationsPerMinute;
  document.getElementById('mode').textContent = overview.mode;
  document.getElementById('identity').textContent = overview.identity || '(none)';
  document.getElementById('blocked-count').textContent = overview.blockedCount;
  const peers = await api('/peers');
  const body = document.querySelector('#peers tbody');
  body.replaceChildren();
  for (const peer of peers) {
    const row = document.createElement('tr');
    row.dataset.peerId = peer.peerId;
    cell(row, peer.peerId);
    cell(row, peer.network);
    cell(row, peer.addresses.join(' '));
    cell(row, new Date(peer.lastSeen).toISOString());
    cell(row, peer.blocked ? 'blocked' : 'active').className = 'status';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = peer.blocked ? 'unblock' : 'block';
    button.textContent = peer.blocked ? 'Unblock' : 'Block';
    button.addEventListener('click', async () => {
      await api('/peers/' + encodeURIComponent(peer.peerId) + (peer.blocked ? '/unblock' : '/block'), { method: 'POST' });
      await refresh();
    });
    cell(row, '').appendChild(button);
    body.appendChild(row);
  }
  const log = await api('/log');
  const logBody = document.querySelector('#log tbody');
  logBody.replaceChildren();
  for (const entry of log) {
    const row = document.createElement('tr');
    cell(row, new Date(entry.at).toISOString());
    cell(row, entry.action);
    cell(row, entry.target || '');
    cell(row, entry.clientIp || '');
    logBody.appendChild(row);
  }
  document.body.dataset.ready = 'true';
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('signin-form').addEventListener('submit', async event => {
    event.preventDefault();
    const response = await fetch('/admin/api/sign-in', {
      method: 'POST', credentials: 'same-origin',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: document.getElementById('password').value }),
    });
    if (response.status !== 204) {
      document.getElementById('signin-error').textContent = 'Sign-in failed (' + response.status + ')';
      return;
    }
    show(true);
    await refresh();
  });
  document.getElementById('signout-button').addEventListener('click', async () => {
    await api('/sign-out', { method: 'POST' });
    show(false);
  });
  refresh().then(() => show(true), () => show(false));
  setInterval(() => { if (!document.getElementById('dashboard').hidden) refresh().catch(() => {}); }, 5000);
});
