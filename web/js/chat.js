// Conversations: the list (newest activity first), one conversation's history paged backwards,
// live messages over the WebSocket (deduplicated by message_id: delivery is at least once), and a
// composer that sends over the socket when it is open and over HTTP when it is not.

import { h, onSubmit, time, uuid } from './dom.js';

const PAGE = 20;
const NAMES_KEY = 'messaging.names';

export function chatView(app) {
  const { api, socket, me } = app;
  // Names learned from email look-ups (the API has no look-up by id), kept for the tab's life.
  const names = new Map([...JSON.parse(sessionStorage.getItem(NAMES_KEY) || '[]'), [me.user_id, 'You']]);
  const state = { conversations: [], current: null, messages: new Map(), nextToken: null, unread: new Set() };

  const list = h('ul', { class: 'conversations', id: 'conversations' });
  const newForm = onSubmit(
    h('form', { id: 'new-conversation' },
      h('input', { name: 'email', type: 'email', placeholder: 'Their email', required: true }),
      h('input', { name: 'title', placeholder: 'Title (optional)' }),
      h('button', { type: 'submit' }, 'Start conversation')),
    async (data) => {
      const user = await api.get('/users', { email: data.get('email') });
      names.set(user.user_id, user.full_name);
      sessionStorage.setItem(NAMES_KEY, JSON.stringify([...names].filter(([id]) => id !== me.user_id)));
      const conversation = await api.post('/conversations', {
        participant_ids: [user.user_id], title: data.get('title') || `${me.full_name} & ${user.full_name}`,
      });
      newForm.reset();
      await loadConversations();
      open(conversation.conversation_id);
    },
  );
  const heading = h('h2', { id: 'conversation-title' }, 'Pick or start a conversation');
  const callButton = h('button', { type: 'button', id: 'start-call', hidden: true, onclick: () => app.calls.start(state.current) }, 'Call');
  const older = h('button', { type: 'button', id: 'load-older', hidden: true, onclick: () => loadPage() }, 'Load older messages');
  const messages = h('ol', { class: 'messages', id: 'messages' });
  const composer = onSubmit(
    h('form', { id: 'composer', hidden: true },
      h('input', { name: 'content', placeholder: 'Write a message', required: true, maxlength: 4000, autocomplete: 'off' }),
      h('button', { type: 'submit' }, 'Send')),
    async (data) => {
      composer.reset();
      await send(String(data.get('content')));
    },
  );

  function title(conversation) {
    return conversation.title || `${conversation.participant_ids.length} participants`;
  }

  function renderList() {
    list.replaceChildren(...state.conversations.map((c) =>
      h('li', { class: [c.conversation_id === state.current && 'active', state.unread.has(c.conversation_id) && 'unread'].filter(Boolean).join(' ') },
        h('a', { href: '#/chat', onclick: (event) => { event.preventDefault(); open(c.conversation_id); } }, title(c)))));
  }

  async function loadConversations() {
    state.conversations = (await api.get('/conversations', { limit: 50 })).items;
    renderList();
  }

  function bubble(message) {
    const mine = message.sender_id === me.user_id;
    const sender = names.get(message.sender_id) ?? `User ${message.sender_id.slice(0, 8)}`;
    if (message.type === 'call') return h('li', { class: 'system', dataset: { id: message.message_id } }, message.content);
    return h('li', { class: mine ? 'mine' : 'theirs', dataset: { id: message.message_id ?? '', cmid: message.client_message_id ?? '' } },
      h('span', { class: 'meta' }, `${sender} · ${time(message.created_at_ms)}`),
      h('span', { class: 'content' }, message.content));
  }

  // Messages are kept by id and drawn oldest first; a pending one (sent, not yet acknowledged) by
  // its client_message_id until the server's copy replaces it.
  function render() {
    const sorted = [...state.messages.values()].sort((a, b) => a.created_at_ms - b.created_at_ms);
    messages.replaceChildren(...sorted.map(bubble));
  }

  function keep(message) {
    if (message.client_message_id) state.messages.delete(`pending:${message.client_message_id}`);
    state.messages.set(message.message_id, message);
  }

  async function loadPage() {
    const id = state.current;
    const page = await api.get(`/conversations/${id}/messages`, { limit: PAGE, next_token: state.nextToken ?? undefined });
    if (id !== state.current) return;
    const atTop = messages.scrollTop;
    page.items.forEach(keep);
    state.nextToken = page.next_token;
    older.hidden = !state.nextToken;
    render();
    if (atTop === 0 && messages.dataset.loaded) messages.scrollTop = 0;
    else messages.scrollTop = messages.scrollHeight;
    messages.dataset.loaded = 'true';
  }

  async function open(id) {
    Object.assign(state, { current: id, messages: new Map(), nextToken: null });
    state.unread.delete(id);
    delete messages.dataset.loaded;
    const conversation = state.conversations.find((c) => c.conversation_id === id);
    heading.textContent = conversation ? title(conversation) : 'Conversation';
    composer.hidden = false;
    callButton.hidden = false;
    renderList();
    socket.send({ action: 'subscribe', conversation_id: id });
    await loadPage();
  }

  async function send(content) {
    const clientMessageId = uuid();
    const conversationId = state.current;
    state.messages.set(`pending:${clientMessageId}`, {
      message_id: null, client_message_id: clientMessageId, sender_id: me.user_id, type: 'text', content, created_at_ms: Date.now(),
    });
    render();
    messages.scrollTop = messages.scrollHeight;
    const frame = { action: 'sendMessage', conversation_id: conversationId, content, client_message_id: clientMessageId };
    if (!socket.send(frame)) {
      keep(await api.post(`/conversations/${conversationId}/messages`, { content, client_message_id: clientMessageId }));
      render();
    }
  }

  function onFrame({ detail: frame }) {
    const message = frame.action === 'message' ? frame.message : frame.action === 'ack' ? frame.message : null;
    if (!message?.message_id) return;
    if (message.conversation_id === state.current) {
      keep(message);
      render();
      messages.scrollTop = messages.scrollHeight;
    } else if (!state.conversations.some((c) => c.conversation_id === message.conversation_id)) {
      state.unread.add(message.conversation_id);
      loadConversations();
    } else {
      state.unread.add(message.conversation_id);
      renderList();
    }
  }

  // After a reconnect, whatever arrived meanwhile is in the history: reload it.
  function onOpen() {
    loadConversations();
    if (state.current) open(state.current);
  }

  socket.addEventListener('frame', onFrame);
  socket.addEventListener('open', onOpen);
  loadConversations().catch((error) => list.replaceChildren(h('li', { class: 'error' }, error.message)));

  const el = h('div', { class: 'chat' },
    h('aside', {}, h('h2', {}, 'Conversations'), list, newForm),
    h('section', { class: 'conversation' }, h('div', { class: 'conversation-head' }, heading, callButton), older, messages, composer));
  return {
    el,
    unmount() {
      socket.removeEventListener('frame', onFrame);
      socket.removeEventListener('open', onOpen);
    },
  };
}
