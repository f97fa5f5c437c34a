/**
 * The sign-in page, shown in place of any view while the server wants a token: a labelled token
 * field, a submit button and an error line. The token goes to `POST /v1/session`, which answers
 * with an HttpOnly cookie; the page keeps no copy (the field is emptied once it is sent).
 */
import { api, ApiError } from '../api.js';
import { append, h } from '../dom.js';
import type { SignedIn } from '../types.js';

export interface LoginOptions {
  /** Why the page is shown (signed out, session ended), above the form. */
  readonly notice?: string;
  /** Called once a token that may read is signed in. */
  readonly onSignedIn: (who: SignedIn) => void;
}

/** Whether a token with these scopes can use the dashboard, which reads everything it shows. */
const canRead = (scopes: readonly string[]) => scopes.includes('read') || scopes.includes('admin');

function reason(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  // Other 401s say why (e.g. the server has no tokens configured any more).
  if (err.status === 401 && err.message === 'unknown token') {
    return 'That token is not known to this server.';
  }
  return `Cannot sign in: ${err.message}`;
}

export function renderLogin(main: HTMLElement, options: LoginOptions): HTMLInputElement {
  const input = h('input', {
    id: 'login-token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'login-help login-error',
  });
  const error = h('p', { id: 'login-error', class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  async function signIn(ev: Event): Promise<void> {
    ev.preventDefault();
    const token = input.value.trim();
    if (token === '') {
      error.textContent = 'Enter an API token.';
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    submit.disabled = true;
    error.textContent = '';
    try {
      const who = await api.signIn(token);
      input.value = '';
      if (!canRead(who.scopes)) {
        await api.signOut().catch(() => undefined);
        throw new Error(
          `Token "${who.name}" may not read (its scopes: ${who.scopes.join(', ') || 'none'}); use a read or admin token.`,
        );
      }
      options.onSignedIn(who);
    } catch (err) {
      error.textContent = reason(err);
      input.setAttribute('aria-invalid', 'true');
      submit.disabled = false;
      input.focus();
    }
  }
  append(
    main,
    h('h1', { tabindex: '-1' }, 'Sign in'),
    options.notice === undefined ? null : h('p', { role: 'status' }, options.notice),
    h(
      'form',
      { class: 'login', onsubmit: (ev) => void signIn(ev) },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'login-token' }, 'API token'),
        input,
        h(
          'p',
          { id: 'login-help', class: 'muted' },
          'A token with the read or admin scope, from whoever runs this Vigil. It is kept in an ' +
            'HttpOnly cookie for 12 hours, where page scripts cannot read it.',
        ),
      ),
      h('div', { class: 'field actions' }, submit),
      error,
    ),
  );
  return input;
}
