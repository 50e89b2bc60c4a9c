/**
 * Login box (only shown when the server documents `/api/login` and `/api/me`). `/api/me` is
 * asked on load only after a login from this browser, so an anonymous first visit makes no
 * request that could answer 401. Logging in or out reloads the page: the server filters every
 * layer by the caller.
 */
import { ApiError, get, hasRoute, post, type Me } from '../api';
import type { AppContext } from '../context';
import { h, toast, errorMessage } from '../ui/dom';
import { t } from '../i18n';

const FLAG = 'gridmap.session';

export async function initAuth(ctx: AppContext, box: HTMLElement, onChange: (me: Me | null) => void): Promise<void> {
  const render = () => {
    box.replaceChildren();
    if (ctx.me) {
      box.append(
        h('span', { class: 'user-name', id: 'user-name' }, `${ctx.me.user} (${ctx.me.role})`),
        h('button', { id: 'logout-btn', 'data-i18n': 'logout', onclick: logout }, t('logout')),
      );
    } else if (hasRoute('/api/login', false)) {
      box.append(h('button', { id: 'login-btn', 'data-i18n': 'login', onclick: openLogin }, t('login')));
    }
  };
  const refresh = async () => {
    try {
      ctx.me = await get<Me>('/api/me');
    } catch (e) {
      ctx.me = null;
      localStorage.removeItem(FLAG);
      if (!(e instanceof ApiError && (e.status === 401 || e.status === 403))) toast(errorMessage(e), 'warn');
    }
    render();
    onChange(ctx.me);
  };
  const logout = async () => {
    if (hasRoute('/api/logout', false)) await post('/api/logout', {}).catch(() => undefined);
    localStorage.removeItem(FLAG);
    ctx.me = null;
    location.reload();
  };
  const openLogin = () => {
    const user = h('input', { id: 'login-user', name: 'user', autocomplete: 'username', required: true });
    const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const dlg = h('dialog', { class: 'login-dialog' });
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', {}, t('login')),
      h('label', {}, t('user'), user),
      h('label', {}, t('password'), pass),
      h('div', { class: 'row' }, h('button', { type: 'submit', id: 'login-submit' }, t('login')), h('button', { type: 'button', onclick: () => dlg.close() }, t('cancel'))),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await post('/api/login', { user: user.value, password: pass.value });
        localStorage.setItem(FLAG, '1');
        dlg.close();
        dlg.remove();
        // Every layer, tile and table depends on who is asking (a grid lead sees only their
        // grid): start over as the new user rather than patch each source.
        location.reload();
      } catch (e) {
        toast(e instanceof ApiError && e.status === 401 ? t('login_failed') : errorMessage(e), 'error');
      }
    });
    dlg.append(form);
    document.body.append(dlg);
    dlg.showModal();
  };
  if (localStorage.getItem(FLAG)) await refresh();
  else render();
}
