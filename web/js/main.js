// Boot: read the outputs file, then route on the location hash. Signed-in state lives in
// sessionStorage, so two tabs of one browser can be two users (a call between two tabs).

import { Api } from './api.js';
import { CallController } from './calls.js';
import { loadConfig } from './config.js';
import { h } from './dom.js';
import { authView, profileView } from './account.js';
import { chatView } from './chat.js';
import { galleryView } from './gallery.js';
import { phoneUploadView, qrView } from './qr.js';
import { LiveSocket, showConnection } from './socket.js';

const SESSION_KEY = 'messaging.session';
const view = document.getElementById('view');
const app = { config: null, api: null, me: null, socket: null, calls: null, unmount: null };

function saveSession(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

function signIn({ access_token: token, user }) {
  saveSession({ token, user });
  startSession(token, user);
  if (location.hash === '#/chat') route();
  else location.hash = '#/chat';
}

function startSession(token, user) {
  app.api.token = token;
  app.me = user;
  app.socket = new LiveSocket(`${app.config.webSocketUrl}?token=${encodeURIComponent(token)}`).start();
  app.calls = new CallController({ api: app.api, socket: app.socket, me: user, panel: document.getElementById('call-panel') });
  showConnection(app.socket, document.getElementById('connection'));
  // A refused handshake looks like any failed connection to a browser: every third failure in a
  // row, ask the API whether the token still holds (a 401 signs out).
  app.socket.addEventListener('state', ({ detail }) => {
    if (detail === 'waiting' && app.socket.attempt % 3 === 0) app.api.get('/auth/me').catch(() => {});
  });
  document.getElementById('who').textContent = user.full_name || user.email;
  document.getElementById('connection').hidden = false;
  document.getElementById('sign-out').hidden = false;
}

function signOut() {
  sessionStorage.clear(); // the session and what it learned (names)
  app.socket?.stop();
  app.calls?.close();
  Object.assign(app, { me: null, socket: null, calls: null });
  app.api.token = null;
  document.getElementById('who').textContent = '';
  document.getElementById('sign-out').hidden = true;
  document.getElementById('connection').hidden = true;
  if (location.hash === '#/signin') route();
  else location.hash = '#/signin';
}

function route() {
  const [name, argument] = location.hash.replace(/^#\/?/, '').split('/');
  app.unmount?.();
  app.unmount = null;
  const header = document.getElementById('top');
  header.hidden = name === 'upload';
  for (const link of header.querySelectorAll('nav a')) link.classList.toggle('active', link.dataset.route === name);
  let mounted;
  if (name === 'upload') mounted = phoneUploadView(app, argument);
  else if (name === 'qr') mounted = qrView(app);
  else if (!app.me) mounted = authView(app, signIn);
  else if (name === 'images') mounted = galleryView(app);
  else if (name === 'profile') mounted = profileView(app, (user) => {
    app.me = user;
    saveSession({ token: app.api.token, user });
    document.getElementById('who').textContent = user.full_name;
  });
  else mounted = chatView(app);
  view.replaceChildren(mounted.el);
  app.unmount = mounted.unmount ?? null;
}

async function boot() {
  try {
    app.config = await loadConfig();
  } catch (error) {
    view.replaceChildren(h('p', { class: 'error' }, error.message));
    return;
  }
  app.api = new Api(app.config.httpApiUrl);
  app.api.onUnauthorized = signOut;
  document.getElementById('sign-out').addEventListener('click', signOut);
  const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
  if (saved) startSession(saved.token, saved.user);
  window.addEventListener('hashchange', route);
  route();
}

boot();
