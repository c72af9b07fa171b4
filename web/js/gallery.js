// Images: upload with the presigned POST (every field, then the file, straight to S3), then the
// pipeline's progress: UPLOADED -> PROCESSING -> COMPLETED | FAILED, pushed as IMAGE_PROCESSED
// frames, with the three watermarked variants once completed. While the socket is down, polling
// stands in for the frames.

import { h, onSubmit } from './dom.js';

const FINAL = new Set(['COMPLETED', 'FAILED']);
const POLL_MS = 3000;

export function galleryView(app) {
  const { api, socket } = app;
  const images = new Map();
  const grid = h('ul', { class: 'gallery', id: 'gallery' });

  const form = onSubmit(
    h('form', { id: 'image-upload' },
      h('input', { name: 'file', type: 'file', accept: 'image/jpeg,image/png,image/gif', required: true }),
      h('button', { type: 'submit' }, 'Upload')),
    async (data) => {
      const file = data.get('file');
      const upload = await api.post('/upload', { fileName: file.name, fileType: file.type });
      const body = new FormData();
      for (const [key, value] of Object.entries(upload.fields)) body.append(key, value);
      body.append('file', file);
      const response = await fetch(upload.uploadUrl, { method: 'POST', body });
      if (!response.ok) throw new Error(`The upload was refused (HTTP ${response.status})`);
      form.reset();
      images.set(upload.imageId, { imageId: upload.imageId, fileName: file.name, status: 'UPLOADED', variants: [] });
      render();
      refresh(upload.imageId);
    },
  );

  function card(image) {
    const variants = [...(image.variants ?? [])].sort((a, b) => a.dimensions.width - b.dimensions.width);
    return h('li', { class: 'image', dataset: { id: image.imageId, status: image.status } },
      h('div', { class: 'image-head' }, h('strong', {}, image.fileName), h('span', { class: `badge status-${image.status}` }, image.status)),
      image.metadata ? h('p', { class: 'muted' }, `original ${image.metadata.width}×${image.metadata.height} ${image.metadata.format}`) : null,
      image.error ? h('p', { class: 'error' }, image.error) : null,
      h('div', { class: 'variants' }, variants.map((v) =>
        h('figure', { dataset: { size: v.size } },
          h('img', { src: v.url, alt: `${image.fileName} (${v.size})`, loading: 'lazy' }),
          h('figcaption', {}, `${v.size} · ${v.dimensions.width}×${v.dimensions.height} · ${Math.round(v.fileSize / 1024)} KB`)))));
  }

  function render() {
    const sorted = [...images.values()].sort((a, b) => (b.createdAt ?? Infinity) - (a.createdAt ?? Infinity));
    grid.replaceChildren(...sorted.map(card));
  }

  async function refresh(imageId) {
    images.set(imageId, await api.get(`/images/${imageId}`));
    render();
  }

  async function loadAll() {
    for (const image of (await api.get('/images', { limit: 50 })).items) images.set(image.imageId, image);
    render();
  }

  function onFrame({ detail: frame }) {
    if (frame.action === 'IMAGE_PROCESSED') refresh(frame.imageId);
  }

  const poller = setInterval(() => {
    if (socket.state === 'open') return;
    for (const image of images.values()) if (!FINAL.has(image.status)) refresh(image.imageId);
  }, POLL_MS);
  socket.addEventListener('frame', onFrame);
  socket.addEventListener('open', loadAll);
  loadAll().catch((error) => grid.replaceChildren(h('li', { class: 'error' }, error.message)));

  return {
    el: h('div', { class: 'panel' }, h('h2', {}, 'Images'),
      h('p', { class: 'muted' }, 'JPEG, PNG or GIF up to 10 MB; each becomes three watermarked JPEGs (800×600, 1200×900, 1920×1080, fitted inside).'),
      form, grid),
    unmount() {
      clearInterval(poller);
      socket.removeEventListener('frame', onFrame);
      socket.removeEventListener('open', loadAll);
    },
  };
}
