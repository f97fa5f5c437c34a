/**
 * The dashboard's entry: header navigation, live status, the session (sign-in page, sign out),
 * and the view for the current route. While signed out every route shows the sign-in page; its
 * address stays, so signing in continues where the user was.
 */
import { api, ApiError, onUnauthenticated } from './api.js';
import { h } from './dom.js';
import { onLiveRefused, onLiveState, pauseLive, resumeLive } from './live.js';
import { parseHash, type Route } from './router.js';
import { setZoneChoice, zoneChoice, zoneLabel } from './time-zone.js';
import { renderEvent } from './views/event.js';
import { renderEvents } from './views/events.js';
import { renderFleet } from './views/fleet.js';
import { renderIncident, renderIncidents } from './views/incidents.js';
import { renderLogin } from './views/login.js';
import { renderSeries } from './views/series.js';
import { renderShadows } from './views/shadows.js';
import { renderStrategies } from './views/strategies.js';
import type { SignedIn } from './types.js';

type View = (main: HTMLElement, route: Route) => (() => void) | void;

const VIEWS: readonly { nav: string; match: (p: readonly string[]) => boolean; render: View }[] = [
  { nav: 'fleet', match: (p) => p.length === 0, render: renderFleet },
  { nav: 'fleet', match: (p) => p[0] === 'series' && p.length === 3, render: renderSeries },
  { nav: 'events', match: (p) => p[0] === 'events' && p.length === 1, render: renderEvents },
  { nav: 'events', match: (p) => p[0] === 'events' && p.length === 2, render: renderEvent },
  {
    nav: 'strategies',
    match: (p) => p[0] === 'strategies' && p.length <= 2,
    render: renderStrategies,
  },
  { nav: 'shadows', match: (p) => p[0] === 'shadows' && p.length <= 2, render: renderShadows },
  {
    nav: 'incidents',
    match: (p) => p[0] === 'incidents' && p.length === 1,
    render: renderIncidents,
  },
  {
    nav: 'incidents',
    match: (p) => p[0] === 'incidents' && p.length === 2,
    render: renderIncident,
  },
];

const main = document.getElementById('main') as HTMLElement;
let cleanup: (() => void) | void;
let first = true;
/** Set while the server wants a token and the browser has no valid session. */
let signedOut = false;
let notice: string | undefined;

const sessionBox = document.getElementById('session') as HTMLElement;
const sessionName = document.getElementById('session-name') as HTMLElement;

function showSession(who: SignedIn | undefined): void {
  sessionBox.hidden = who === undefined;
  sessionName.textContent = who === undefined ? '' : `Signed in as ${who.name}`;
}

function showLogin(): void {
  const input = renderLogin(main, {
    ...(notice === undefined ? {} : { notice }),
    onSignedIn: (who) => {
      signedOut = false;
      notice = undefined;
      showSession(who);
      resumeLive();
      show();
    },
  });
  document.title = 'Sign in · Vigil';
  input.focus();
  first = false;
}

/** The server refused a call for want of a session: stop the view and ask for a token. */
function requireLogin(why: string): void {
  if (signedOut) return;
  signedOut = true;
  notice = why;
  showSession(undefined);
  pauseLive();
  show();
}

function show(): void {
  if (cleanup) cleanup();
  cleanup = undefined;
  main.replaceChildren();
  const route = parseHash(location.hash);
  const view = signedOut ? undefined : VIEWS.find((v) => v.match(route.path));
  for (const link of document.querySelectorAll<HTMLAnchorElement>('header nav a')) {
    if (link.dataset.nav === view?.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (signedOut) {
    showLogin();
    return;
  }
  if (view === undefined) {
    main.append(
      h('h1', { tabindex: '-1' }, 'Not found'),
      h('p', {}, h('a', { href: '#/' }, 'Back to the fleet')),
    );
    cleanup = undefined;
  } else {
    cleanup = view.render(main, route);
  }
  const heading = main.querySelector('h1');
  document.title = `${heading?.textContent ?? 'Vigil'} · Vigil`;
  // Move focus to the new page's heading so keyboard and screen-reader users start there.
  if (!first) heading?.focus();
  first = false;
}

window.addEventListener('hashchange', show);

/** The header's zone switch: every time on the page is shown in this zone. */
const zoneButton = document.getElementById('zone') as HTMLButtonElement;
function showZone(): void {
  const other = zoneChoice() === 'utc' ? 'local time' : 'UTC';
  zoneButton.textContent = `Times: ${zoneLabel()}`;
  zoneButton.setAttribute('aria-label', `Times are in ${zoneLabel()}; switch to ${other}`);
}
showZone();
zoneButton.addEventListener('click', () => {
  setZoneChoice(zoneChoice() === 'utc' ? 'local' : 'utc');
  showZone();
  show();
  zoneButton.focus();
});
document.getElementById('skip')?.addEventListener('click', (ev) => {
  ev.preventDefault();
  (main.querySelector('h1') ?? main).focus();
});
document.getElementById('sign-out')?.addEventListener('click', () => {
  void api.signOut().then(
    () => requireLogin('Signed out.'),
    (err: unknown) => {
      sessionName.textContent = `Cannot sign out: ${err instanceof Error ? err.message : String(err)}`;
    },
  );
});

const STATE_TEXT = {
  live: 'Live',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  paused: 'Not live',
} as const;

/** Whether the server says this browser must sign in (a 401 on `GET /v1/session`). */
async function mustSignIn(): Promise<boolean> {
  try {
    const session = await api.session();
    showSession(session.auth ? session : undefined);
    return false;
  } catch (err) {
    // Anything but a 401 (network, an older server): go on; the views report their own errors.
    return err instanceof ApiError && err.status === 401;
  }
}

onUnauthenticated(() => requireLogin('Your session has ended: sign in again.'));
// EventSource does not retry an error answer; a 401 there means the session is gone.
onLiveRefused(() => {
  void mustSignIn().then((yes) => {
    if (yes) requireLogin('Your session has ended: sign in again.');
  });
});

async function start(): Promise<void> {
  if (await mustSignIn()) {
    signedOut = true;
    pauseLive();
  }
  const liveStatus = document.getElementById('live-status') as HTMLElement;
  onLiveState((s) => {
    liveStatus.textContent = STATE_TEXT[s];
    liveStatus.className = `live live-${s}`;
  });
  show();
}

void start();
