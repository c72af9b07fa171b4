// The QR upload: the desktop page opens an anonymous upload session, shows a QR code of the phone
// page's URL and listens on a WebSocket connected with the session id; the phone page asks for a
// presigned PUT and sends the photo with exactly the headers it was given; S3's completion comes
// back to the desktop as UPLOAD_COMPLETED. Polling the session stands in while the socket is down.

import { h } from './dom.js';
import { LiveSocket, showConnection } from './socket.js';
import { renderSVG } from '../vendor/uqr.mjs';

const POLL_MS = 3000;
const STATUS_TEXT = {
  AWAITING_SCAN: 'Scan the code with your phone’s camera',
  UPLOAD_REQUESTED: 'Phone connected: waiting for the photo…',
  COMPLETED: 'Photo received',
};

export function qrView(app) {
  const { api } = app;
  const status = h('p', { id: 'qr-status', class: 'qr-status' }, 'Opening an upload session…');
  const code = h('div', { class: 'qr', id: 'qr-code' });
  const link = h('a', { id: 'phone-link', target: '_blank', rel: 'noopener' });
  const badge = h('span', { class: 'badge', dataset: { state: 'closed' } });
  const result = h('p', { id: 'qr-result' });
  let socket = null;
  let poller = null;
  let done = false;

  function finish(uploadKey, timestamp, via) {
    if (done) return;
    done = true;
    status.textContent = STATUS_TEXT.COMPLETED;
    status.dataset.status = 'COMPLETED';
    result.dataset.via = via;
    result.textContent = `Stored as ${uploadKey}${timestamp ? ` at ${new Date(timestamp * 1000).toLocaleTimeString()}` : ''}`;
    socket?.stop();
    clearInterval(poller);
  }

  async function begin() {
    const session = await api.post('/sessions');
    const phoneUrl = new URL(`#/upload/${session.sessionId}`, location.href.split('#')[0]).href;
    code.innerHTML = renderSVG(phoneUrl, { ecc: 'M', border: 2, pixelSize: 8 });
    link.href = phoneUrl;
    link.textContent = phoneUrl;
    status.textContent = STATUS_TEXT.AWAITING_SCAN;
    status.dataset.status = 'AWAITING_SCAN';
    socket = new LiveSocket(`${app.config.webSocketUrl}?sessionId=${encodeURIComponent(session.sessionId)}`).start();
    showConnection(socket, badge);
    socket.addEventListener('frame', ({ detail: frame }) => {
      if (frame.action === 'UPLOAD_COMPLETED' && frame.sessionId === session.sessionId) finish(frame.uploadKey, frame.timestamp, 'websocket');
    });
    poller = setInterval(async () => {
      const current = await api.get(`/sessions/${session.sessionId}`).catch(() => null);
      if (!current || done) return;
      if (current.status === 'COMPLETED') finish(current.uploadKey, null, 'polling');
      else if (current.status !== status.dataset.status) {
        status.textContent = STATUS_TEXT[current.status] ?? current.status;
        status.dataset.status = current.status;
      }
      if (current.expiresAt * 1000 < Date.now()) {
        status.textContent = 'This code expired: reload for a new one';
        socket.stop();
        clearInterval(poller);
      }
    }, POLL_MS);
  }

  begin().catch((error) => { status.textContent = error.message; });
  return {
    el: h('div', { class: 'panel qr-page' }, h('h2', {}, 'Upload a photo from your phone'), code, status, result,
      h('p', { class: 'muted' }, 'Or open this link on the phone: ', link), h('p', { class: 'muted' }, 'Live updates: ', badge)),
    unmount() {
      socket?.stop();
      clearInterval(poller);
    },
  };
}

export function phoneUploadView(app, sessionId) {
  const status = h('p', { id: 'phone-status' });
  const input = h('input', { type: 'file', name: 'photo', accept: 'image/*', capture: 'environment', required: true });
  const form = h('form', { id: 'phone-upload' }, h('label', {}, 'Photo', input), h('button', { type: 'submit' }, 'Send to the computer'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const [file] = input.files;
    const button = form.querySelector('button');
    button.disabled = true;
    status.className = '';
    status.textContent = 'Uploading…';
    try {
      const target = await app.api.get('/upload-url', { sessionId });
      const response = await fetch(target.uploadUrl, { method: 'PUT', headers: target.headers, body: file });
      if (!response.ok) throw new Error(`The upload was refused (HTTP ${response.status})`);
      status.textContent = 'Sent. You can close this page.';
      status.dataset.status = 'sent';
      form.hidden = true;
    } catch (error) {
      status.className = 'error';
      status.textContent = error.message;
      button.disabled = false;
    }
  });
  return { el: h('div', { class: 'panel phone' }, h('h2', {}, 'Send a photo'), form, status) };
}
