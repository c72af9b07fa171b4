// One WebSocket that comes back by itself: reconnects with exponential backoff and full jitter
// (0.5 s doubling up to 15 s, reset once a connection opens), at once when the browser comes back
// online, and pings every 5 minutes so API Gateway's 10-minute idle timeout never closes it.
// Events: `state` (detail: 'connecting' | 'open' | 'waiting' | 'closed'), `frame` (detail: the
// parsed server frame), `open`.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;
const PING_EVERY_MS = 5 * 60_000;

export class LiveSocket extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.ws = null;
    this.state = 'closed';
    this.attempt = 0;
    this.retryAt = 0;
    this.stopped = true;
    this.timer = null;
    this.pinger = null;
    this.online = () => this.state === 'waiting' && this.reconnectNow();
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.online);
    this.#connect();
    return this;
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.online);
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    this.ws?.close(1000);
    this.ws = null;
    this.#setState('closed');
  }

  reconnectNow() {
    clearTimeout(this.timer);
    this.#connect();
  }

  // Sends a frame if the socket is open; false otherwise, so the caller can fall back to HTTP.
  send(frame) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  #connect() {
    this.#setState('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.#setState('open');
      this.pinger = setInterval(() => this.send({ action: 'ping' }), PING_EVERY_MS);
      this.dispatchEvent(new Event('open'));
    };
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      clearInterval(this.pinger);
      this.ws = null;
      if (!this.stopped) this.#scheduleRetry();
    };
  }

  #scheduleRetry() {
    const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
    this.attempt += 1;
    const delay = Math.max(100, Math.random() * ceiling);
    this.retryAt = Date.now() + delay;
    this.#setState('waiting');
    this.timer = setTimeout(() => this.#connect(), delay);
  }

  #setState(state) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: state }));
  }
}

// Keeps a badge in step with a socket: its text, its data-state, and data-opens (how often it connected).
export function showConnection(socket, badge) {
  let ticker = null;
  const render = () => {
    const { state } = socket;
    badge.dataset.state = state;
    const seconds = Math.max(0, Math.ceil((socket.retryAt - Date.now()) / 1000));
    badge.textContent = {
      connecting: 'connecting…',
      open: 'online',
      waiting: `reconnecting in ${seconds} s`,
      closed: 'offline',
    }[state];
    clearInterval(ticker);
    if (state === 'waiting') ticker = setInterval(render, 1000);
  };
  let opens = 0;
  socket.addEventListener('open', () => { badge.dataset.opens = String(++opens); });
  socket.addEventListener('state', render);
  render();
}
