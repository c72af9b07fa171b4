// Sign up / sign in, and the profile (name, email verification).

import { ApiError } from './api.js';
import { h, onSubmit } from './dom.js';

export function authView(app, signedIn) {
  const field = (label, name, type = 'text', extra = {}) =>
    h('label', {}, label, h('input', { name, type, required: true, ...extra }));
  const signInForm = onSubmit(
    h('form', { id: 'sign-in' },
      h('h2', {}, 'Sign in'),
      field('Email', 'email', 'email', { autocomplete: 'username' }),
      field('Password', 'password', 'password', { autocomplete: 'current-password' }),
      h('button', { type: 'submit' }, 'Sign in')),
    async (data) => signedIn(await app.api.post('/auth/login', Object.fromEntries(data))),
  );
  const signUpForm = onSubmit(
    h('form', { id: 'sign-up' },
      h('h2', {}, 'Create an account'),
      field('Name', 'full_name', 'text', { autocomplete: 'name' }),
      field('Email', 'email', 'email', { autocomplete: 'username' }),
      field('Password (8+ characters)', 'password', 'password', { autocomplete: 'new-password', minlength: 8 }),
      h('button', { type: 'submit' }, 'Sign up')),
    async (data) => signedIn(await app.api.post('/auth/register', Object.fromEntries(data))),
  );
  const el = h('div', { class: 'auth' }, signInForm, signUpForm,
    h('p', { class: 'muted' }, 'No account needed to ', h('a', { href: '#/qr' }, 'upload a photo from a phone'), '.'));
  return { el };
}

export function profileView(app, updated) {
  const details = h('dl', { class: 'profile' });
  const nameForm = onSubmit(
    h('form', { id: 'profile-name' },
      h('label', {}, 'Name', h('input', { name: 'full_name', required: true, value: app.me.full_name ?? '' })),
      h('button', { type: 'submit' }, 'Save')),
    async (data) => {
      await app.api.patch('/auth/me', { full_name: data.get('full_name') });
      await load();
    },
  );
  const verifyForm = onSubmit(
    h('form', { id: 'verify-email', hidden: true },
      h('label', {}, 'Verification code (sent by email)', h('input', { name: 'code', required: true, inputmode: 'numeric' })),
      h('button', { type: 'submit' }, 'Verify')),
    async (data) => {
      await app.api.post('/auth/verify-email', { email: app.me.email, code: data.get('code') });
      await load();
    },
  );
  async function load() {
    let me;
    try {
      me = await app.api.get('/auth/me');
    } catch (error) {
      details.replaceChildren(h('p', { class: 'error' }, error instanceof ApiError ? error.message : String(error)));
      return;
    }
    updated({ ...app.me, ...me });
    const row = (term, value) => [h('dt', {}, term), h('dd', {}, value)];
    details.replaceChildren(
      ...row('Name', me.full_name), ...row('Email', me.email), ...row('Email verified', me.email_verified ? 'yes' : 'no'),
      ...row('Tenant', me.tenant_id), ...row('User id', me.user_id));
    verifyForm.hidden = me.email_verified;
  }
  load();
  return { el: h('div', { class: 'panel' }, h('h2', {}, 'Profile'), details, nameForm, verifyForm) };
}
