/** The dashboard's entry: header navigation, live status, and the view for the current route. */
import { h } from './dom.js';
import { onLiveState } from './live.js';
import { parseHash, type Route } from './router.js';
import { renderEvent } from './views/event.js';
import { renderEvents } from './views/events.js';
import { renderFleet } from './views/fleet.js';
import { renderSeries } from './views/series.js';
import { renderShadows } from './views/shadows.js';
import { renderStrategies } from './views/strategies.js';

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
];

const main = document.getElementById('main') as HTMLElement;
let cleanup: (() => void) | void;
let first = true;

function show(): void {
  if (cleanup) cleanup();
  main.replaceChildren();
  const route = parseHash(location.hash);
  const view = VIEWS.find((v) => v.match(route.path));
  for (const link of document.querySelectorAll<HTMLAnchorElement>('header nav a')) {
    if (link.dataset.nav === view?.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
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
document.getElementById('skip')?.addEventListener('click', (ev) => {
  ev.preventDefault();
  (main.querySelector('h1') ?? main).focus();
});
const liveStatus = document.getElementById('live-status') as HTMLElement;
onLiveState((s) => {
  liveStatus.textContent =
    s === 'live' ? 'Live' : s === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  liveStatus.className = `live live-${s}`;
});
show();
