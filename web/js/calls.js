// Calls: ring, accept, reject, end, duration, driven by the HTTP routes and the `call` frames every
// participant receives; once connected, a real WebRTC peer connection between the two browsers,
// negotiated with `signal` frames (offer / answer / ice) relayed by the WebSocket API. A data
// channel carries a greeting each way, which proves the peers reached each other; no STUN or TURN
// server is configured, so peers connect on the networks they share (loopback, a LAN).

import { h } from './dom.js';

const TERMINAL = new Set(['ended', 'rejected', 'missed']);

export class CallController {
  constructor({ api, socket, me, panel }) {
    Object.assign(this, { api, socket, me, panel });
    this.call = null;
    this.peer = null;
    this.channel = null;
    this.pendingIce = [];
    this.seen = new Set();
    this.p2p = 'not connected';
    this.received = '';
    this.ticker = null;
    this.onFrame = ({ detail: frame }) => {
      if (frame.action === 'call') this.update(frame.call);
      else if (frame.action === 'signal') this.onSignal(frame).catch((error) => this.fail(error));
    };
    socket.addEventListener('frame', this.onFrame);
  }

  close() {
    this.socket.removeEventListener('frame', this.onFrame);
    this.hangUpPeer();
    this.panel.hidden = true;
  }

  async start(conversationId) {
    this.update(await this.api.post(`/conversations/${conversationId}/calls`, { call_type: 'video' }));
  }

  async act(verb) {
    try {
      this.update(await this.api.post(`/calls/${this.call.call_id}/${verb}`));
    } catch (error) {
      this.fail(error);
    }
  }

  // One state change, from an HTTP answer or a frame; frames repeat (at least once), so each
  // (call, status) is applied once, and a frame of an older call never replaces a live one.
  update(call) {
    const key = `${call.call_id}:${call.status}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const live = this.call && !TERMINAL.has(this.call.status);
    if (live && call.call_id !== this.call.call_id) return;
    if (call.call_id !== this.call?.call_id) Object.assign(this, { p2p: 'not connected', received: '' });
    this.call = call;
    if (call.status === 'connected') this.seenConnectedAt = Date.now();
    if (call.status === 'connected' && call.caller_id === this.me.user_id) this.offer().catch((error) => this.fail(error));
    if (TERMINAL.has(call.status)) this.hangUpPeer();
    this.render();
  }

  newPeer() {
    this.peer = new RTCPeerConnection({ iceServers: [] });
    this.peer.onicecandidate = ({ candidate }) => candidate && this.signal('ice', candidate.toJSON());
    this.peer.onconnectionstatechange = () => this.render();
    this.peer.ondatachannel = ({ channel }) => this.useChannel(channel);
    return this.peer;
  }

  useChannel(channel) {
    this.channel = channel;
    channel.onopen = () => {
      this.p2p = 'open';
      channel.send(JSON.stringify({ hello: this.me.full_name }));
      this.render();
    };
    channel.onmessage = ({ data }) => {
      this.received = JSON.parse(data).hello;
      this.render();
    };
    channel.onclose = () => {
      this.p2p = 'closed';
      this.render();
    };
  }

  async offer() {
    const peer = this.newPeer();
    this.useChannel(peer.createDataChannel('call'));
    await peer.setLocalDescription(await peer.createOffer());
    this.signal('offer', peer.localDescription.toJSON());
  }

  async onSignal({ call_id: callId, signal_type: type, payload }) {
    if (callId !== this.call?.call_id) return;
    if (type === 'offer') {
      const peer = this.peer ?? this.newPeer();
      await peer.setRemoteDescription(payload);
      await peer.setLocalDescription(await peer.createAnswer());
      this.signal('answer', peer.localDescription.toJSON());
      await this.flushIce();
    } else if (type === 'answer' && this.peer) {
      await this.peer.setRemoteDescription(payload);
      await this.flushIce();
    } else if (type === 'ice') {
      this.pendingIce.push(payload);
      if (this.peer?.remoteDescription) await this.flushIce();
    }
  }

  async flushIce() {
    for (const candidate of this.pendingIce.splice(0)) await this.peer.addIceCandidate(candidate);
  }

  signal(signalType, payload) {
    this.socket.send({ action: 'signal', call_id: this.call.call_id, signal_type: signalType, payload });
  }

  hangUpPeer() {
    this.channel?.close();
    this.peer?.close();
    Object.assign(this, { peer: null, channel: null, pendingIce: [] });
  }

  fail(error) {
    this.error = error.message;
    this.render();
  }

  render() {
    const call = this.call;
    clearInterval(this.ticker);
    if (!call) return;
    const mine = call.caller_id === this.me.user_id;
    const button = (label, verb) => h('button', { type: 'button', class: verb, onclick: () => this.act(verb) }, label);
    let status = call.status;
    let actions = [];
    if (call.status === 'ringing') {
      status = mine ? 'ringing…' : 'incoming call';
      actions = mine ? [button('Cancel', 'end')] : [button('Accept', 'accept'), button('Reject', 'reject')];
    } else if (call.status === 'connected') {
      // HTTP answers carry connected_at (s), frames the stored connected_at_ms.
      const since = call.connected_at_ms ?? (call.connected_at ? call.connected_at * 1000 : this.seenConnectedAt);
      status = `connected · ${Math.max(0, Math.floor((Date.now() - since) / 1000))} s`;
      actions = [button('End', 'end')];
      this.ticker = setInterval(() => this.render(), 1000);
    } else if (call.status === 'ended') {
      status = `ended · ${call.duration_seconds ?? 0} s`;
    }
    const peerState = this.peer?.connectionState ?? this.p2p;
    this.panel.hidden = false;
    this.panel.dataset.status = call.status;
    this.panel.replaceChildren(...[
      h('strong', {}, `${call.call_type === 'video' ? 'Video' : 'Voice'} call`),
      h('span', { id: 'call-status' }, status),
      call.status === 'connected' || this.received
        ? h('span', { id: 'p2p', dataset: { state: this.p2p } },
          `peer link: ${peerState}${this.received ? ` · “hello” from ${this.received}` : ''}`)
        : null,
      ...actions,
      this.error ? h('span', { class: 'error' }, this.error) : null,
      TERMINAL.has(call.status) ? h('button', { type: 'button', onclick: () => { this.panel.hidden = true; } }, 'Dismiss') : null,
    ].filter(Boolean));
    this.error = null;
  }
}
