// psmonitor dashboard: picks the view. `?server=HOST:PORT` (or `?view=host`) is one host's
// full view; `?hosts=A,B,…` (or `?view=fleet`) the fleet; plain `/` is the fleet when this
// browser keeps a list or the server names one (`--fleet`), else this server's own view.
'use strict';
(async () => {
  const params = new URLSearchParams(location.search);
  const split = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
  const show = (view) => { document.body.dataset.view = view; };
  const server = (params.get('server') || '').trim();
  const host = (base, remote) => { show('host'); PS.host(new PS.Conn(base), { remote }); };
  if (server) {
    const base = PS.baseOf(server);
    if (base) return host(base, base !== PS.here());
  }
  if (params.get('view') === 'host') return host(PS.here(), false);
  const fleet = (list) => { show('fleet'); PS.fleet(list); };
  if (params.has('hosts')) return fleet(split(params.get('hosts')));
  let saved = null;
  try { saved = JSON.parse(PS.load('localStorage', 'psmonitor.fleet')); } catch (e) { /* none */ }
  if (Array.isArray(saved) && (saved.length || params.get('view') === 'fleet')) return fleet(saved.map(String));
  let named = [];
  let locked = false;
  try { named = (await new PS.Conn(PS.here()).json('/fleet')).hosts || []; } catch (e) { locked = e instanceof PS.AuthError; }
  if (named.length) return fleet(named.map(String));
  if (params.get('view') === 'fleet') return fleet([PS.label(PS.here())]);
  // Behind a token the server's list is read once the host view has the token.
  show('host');
  PS.host(new PS.Conn(PS.here()), { remote: false, fleetAfterToken: locked });
})();
