/// The dashboard's script (`app.js`): sign-in, a hash router over the sections, and views that
/// read the `admin/...` routes every few seconds. Every value from the server goes into the page
/// as text (`textContent`, attributes set one by one), never as markup; charts are SVG drawn here.
enum DashboardScript {
    static let source = #"""
        'use strict';
        (() => {
          const OCS = '/ocs/v2.php/taskprocessing/';
          const REFRESH_MS = 5000;
          const SLOW_MS = 3000;
          const TIMEOUT_MS = 15000;
          const STATUSES = ['STATUS_SCHEDULED', 'STATUS_WAITING', 'STATUS_RUNNING', 'STATUS_SUCCESSFUL', 'STATUS_FAILED', 'STATUS_CANCELLED'];
          const FILTERS = ['status', 'type', 'userId', 'appId', 'customId', 'providerId', 'errorContains'];
          const state = { csrf: null, user: null, timer: null, refresh: null, busy: false, lastSuccess: null, routeSerial: 0 };
          const $ = (id) => document.getElementById(id);

          // ---- building the page: text only, never markup ----
          function el(tag, attributes, ...children) {
            const node = document.createElement(tag);
            for (const [name, value] of Object.entries(attributes || {})) {
              if (value === null || value === undefined || value === false) continue;
              if (name === 'text') node.textContent = String(value);
              else if (name === 'onclick') node.addEventListener('click', value);
              else if (name === 'onsubmit') node.addEventListener('submit', value);
              else if (name === 'onchange') node.addEventListener('change', value);
              else node.setAttribute(name, value === true ? '' : String(value));
            }
            return append(node, ...children);
          }
          function append(node, ...children) {
            for (const child of children.flat(Infinity)) {
              if (child === null || child === undefined || child === false) continue;
              node.append(child instanceof Node ? child : document.createTextNode(String(child)));
            }
            return node;
          }
          function clear(node, ...children) { node.replaceChildren(); return append(node, ...children); }
          const svgNS = 'http://www.w3.org/2000/svg';
          function svg(tag, attributes, ...children) {
            const node = document.createElementNS(svgNS, tag);
            for (const [name, value] of Object.entries(attributes || {})) {
              if (name === 'text') node.textContent = String(value); else node.setAttribute(name, String(value));
            }
            for (const child of children) node.append(child);
            return node;
          }

          // ---- formatting ----
          function fmtTime(seconds) {
            if (seconds === null || seconds === undefined) return '-';
            return new Date(seconds * 1000).toLocaleString();
          }
          function timeCell(seconds) {
            if (seconds === null || seconds === undefined) return el('td', { text: '-' });
            return el('td', {}, el('time', { datetime: new Date(seconds * 1000).toISOString(), text: fmtTime(seconds) }));
          }
          function fmtAge(seconds) {
            if (seconds === null || seconds === undefined) return '-';
            const s = Math.max(0, Math.round(seconds));
            if (s < 60) return s + ' s';
            if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
            if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
            return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
          }
          function fmtBytes(n) {
            if (n < 1024) return n + ' B';
            if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
            return (n / 1048576).toFixed(1) + ' MiB';
          }
          function statusBadge(status) { return el('span', { class: 'status ' + status, text: String(status).replace('STATUS_', '') }); }
          function num(value, field, type) {
            return el('td', { class: 'num', 'data-field': field, 'data-type': type, text: value === null || value === undefined ? '-' : value });
          }
          function table(caption, headings, rows, empty) {
            const head = el('tr', {}, headings.map((h) => el('th', { scope: 'col', class: h.startsWith('#') ? 'num' : null, text: h.replace(/^#/, '') })));
            const body = el('tbody', {}, rows.length ? rows : el('tr', { class: 'empty' }, el('td', { colspan: headings.length, text: empty })));
            return el('div', { class: 'scroll' }, el('table', {}, el('caption', { class: 'visually-hidden', text: caption }), el('thead', {}, head), body));
          }
          function typePath(type) { return encodeURIComponent(type).replace(/%3A/gi, ':'); }

          // ---- the server ----
          class APIError extends Error {
            constructor(status, message) { super(message); this.status = status; }
          }
          async function request(method, url, body) {
            const headers = { 'OCS-APIRequest': 'true', 'Accept': 'application/json' };
            if (state.csrf) headers.requesttoken = state.csrf;
            if (body !== undefined) headers['Content-Type'] = 'application/json';
            const controller = new AbortController();
            const slow = setTimeout(() => showBanner('slow'), SLOW_MS);
            const abort = setTimeout(() => controller.abort(), TIMEOUT_MS);
            let response;
            try {
              response = await fetch(url, { method, headers, credentials: 'same-origin', signal: controller.signal,
                body: body === undefined ? undefined : JSON.stringify(body) });
            } catch (error) {
              showBanner('down');
              throw new APIError(0, 'the server did not answer');
            } finally {
              clearTimeout(slow);
              clearTimeout(abort);
            }
            return response;
          }
          async function readEnvelope(response) {
            let json = null;
            try { json = await response.json(); } catch (error) { json = null; }
            const meta = json && json.ocs && json.ocs.meta;
            return { data: json && json.ocs ? json.ocs.data : null, message: meta && meta.message ? meta.message : response.statusText };
          }
          async function api(method, path, { query, body } = {}) {
            const url = new URL(OCS + path, location.origin);
            for (const [name, value] of Object.entries(query || {})) {
              if (value === null || value === undefined || value === '') continue;
              url.searchParams.append(name, String(value));
            }
            const response = await request(method, url, body);
            const { data, message } = await readEnvelope(response);
            if (response.status === 401) { sessionEnded('Your session has ended. Sign in again.'); throw new APIError(401, message); }
            if (response.status >= 500) { showBanner('database', message); throw new APIError(response.status, message); }
            hideBanner();
            if (!response.ok) throw new APIError(response.status, message);
            return data;
          }

          // ---- banner: the data on screen stays, the banner says it is not current ----
          function showBanner(kind, message) {
            const banner = $('banner');
            const since = state.lastSuccess ? ' Showing data from ' + state.lastSuccess.toLocaleTimeString() + '.' : '';
            banner.className = 'banner' + (kind === 'slow' ? ' slow' : '');
            if (kind === 'slow') banner.textContent = 'The server is slow to answer; waiting.' + since;
            else if (kind === 'database') banner.textContent = 'The server cannot reach its database (' + (message || 'unavailable') + '); retrying every few seconds.' + since;
            else banner.textContent = 'The server does not answer; retrying every few seconds.' + since;
            banner.hidden = false;
          }
          function hideBanner() {
            state.lastSuccess = new Date();
            $('banner').hidden = true;
          }

          // ---- sign-in ----
          function showLogin(message) {
            stopRefresh();
            $('nav').hidden = true;
            $('logout').hidden = true;
            $('who').textContent = '';
            // Nothing of the last session stays on the page, not even hidden.
            $('view').replaceChildren();
            $('view').hidden = true;
            $('login').hidden = false;
            $('login-error').textContent = message || '';
            $('login-user').focus();
          }
          function sessionEnded(message) {
            state.csrf = null;
            state.user = null;
            showLogin(message);
          }
          function signedIn(data) {
            state.csrf = data.csrfToken;
            state.user = data.user;
            $('login').hidden = true;
            $('nav').hidden = false;
            $('logout').hidden = false;
            $('who').textContent = data.user;
            $('view').hidden = false;
            route();
          }
          async function login(event) {
            event.preventDefault();
            const user = $('login-user').value.trim();
            const password = $('login-password').value;
            $('login-error').textContent = '';
            const response = await request('POST', '/dashboard/api/login', { user, password });
            const { data, message } = await readEnvelope(response);
            if (!response.ok) {
              $('login-error').textContent = response.status === 401 ? 'Wrong user name or app password.' : message;
              return;
            }
            $('login-password').value = '';
            hideBanner();
            signedIn(data);
          }
          async function logout() {
            const response = await request('POST', '/dashboard/api/logout');
            await readEnvelope(response);
            sessionEnded('You signed out.');
          }

          // ---- routing ----
          const views = { overview: overviewView, tasks: tasksView, task: taskView, types: typesView, workers: workersView, webhooks: webhooksView };
          function parseHash() {
            const hash = location.hash.startsWith('#/') ? location.hash.slice(2) : 'overview';
            const [path, query] = hash.split('?');
            const parts = path.split('/').filter((part) => part.length > 0);
            return { name: parts[0] || 'overview', arg: parts[1], extra: parts.length > 2, params: new URLSearchParams(query || '') };
          }
          function stopRefresh() {
            if (state.timer) clearInterval(state.timer);
            state.timer = null;
            state.refresh = null;
          }
          function editing() {
            const active = document.activeElement;
            return active && $('view').contains(active) && ['INPUT', 'SELECT', 'TEXTAREA'].includes(active.tagName);
          }
          async function tick() {
            if (!state.refresh || state.busy || document.hidden || editing()) return;
            state.busy = true;
            try { await state.refresh(); } catch (error) { reportError(error); } finally { state.busy = false; }
          }
          function reportError(error) {
            if (!(error instanceof APIError)) throw error;
          }
          async function route() {
            if (!state.csrf) return;
            stopRefresh();
            const serial = ++state.routeSerial;
            const place = parseHash();
            for (const link of document.querySelectorAll('nav a')) {
              const current = link.dataset.section === place.name || (place.name === 'task' && link.dataset.section === 'tasks');
              if (current) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
            }
            const root = $('view');
            const view = views[place.name];
            const validArg = place.name === 'task' ? /^[0-9]{1,18}$/.test(place.arg || '') : place.arg === undefined;
            if (!view || !validArg || place.extra) {
              clear(root, el('h1', { tabindex: '-1', text: 'Not found' }), el('p', { text: 'The dashboard has no page at this address.' }),
                el('p', {}, el('a', { href: '#/overview', text: 'Go to the overview' })));
              root.querySelector('h1').focus();
              return;
            }
            root.replaceChildren();
            const refresh = view(root, place);
            root.querySelector('h1')?.focus();
            state.busy = true;
            try { await refresh(); } catch (error) { reportError(error); } finally { state.busy = false; }
            if (serial !== state.routeSerial || !state.csrf) return;
            state.refresh = refresh;
            state.timer = setInterval(tick, REFRESH_MS);
          }
          function heading(text) { return el('h1', { tabindex: '-1', text }); }
          function messageLine() { return el('p', { class: 'notice', role: 'status', 'aria-live': 'polite' }); }
          function say(line, text, isError) { line.className = isError ? 'error' : 'notice'; line.textContent = text; }
          function confirmAction(text) {
            const dialog = $('confirm');
            $('confirm-text').textContent = text;
            return new Promise((resolve) => {
              dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
              dialog.returnValue = 'cancel';
              dialog.showModal();
            });
          }

          // ---- overview ----
          function overviewView(root) {
            const warnings = el('ul', { class: 'warnings', 'aria-label': 'Warnings' });
            const cards = el('div', { class: 'cards' });
            const types = el('div');
            const charts = el('div', { class: 'charts' });
            let range = 3600;
            const rangeButtons = [[3600, 'Last hour'], [86400, 'Last day']].map(([seconds, label]) =>
              el('button', { type: 'button', 'aria-pressed': String(seconds === range), text: label, onclick: (click) => {
                range = seconds;
                for (const button of rangeButtons) button.setAttribute('aria-pressed', String(button === click.currentTarget));
                drawHistory().catch(reportError);
              } }));
            append(root, heading('Overview'), warnings, cards, el('h2', { text: 'Task types' }), types,
              el('h2', { text: 'History' }), el('div', { class: 'actions', role: 'group', 'aria-label': 'History range' }, rangeButtons), charts);

            async function drawHistory() {
              const step = range === 3600 ? 60 : 900;
              // One step more than drawn: the first step drawn starts a little over `range` ago.
              const history = await api('GET', 'admin/history', { query: { seconds: range + 2 * step, stepSeconds: step } });
              clear(charts, depthChart(history, range, step), finishedChart(history, range, step));
            }
            return async () => {
              const [status, typeList, stats] = await Promise.all([
                api('GET', 'admin/status'), api('GET', 'admin/types'), api('GET', 'admin/stats', { query: { windowSeconds: 3600 } })]);
              clear(warnings, status.warnings.length
                ? status.warnings.map((warning) => el('li', { 'data-code': warning.code, text: warning.message }))
                : el('li', { class: 'none', text: 'No warnings: every type with work has a worker, pickups are quick and failures rare.' }));
              const byStatus = status.tasks.byStatus;
              const statsByType = Object.fromEntries(stats.types.map((entry) => [entry.type, entry]));
              const failedHour = stats.types.reduce((sum, entry) => sum + entry.failed, 0);
              const finishedHour = stats.types.reduce((sum, entry) => sum + entry.finished, 0);
              const card = (label, value, field) => el('div', { class: 'card' },
                el('div', { class: 'value', 'data-field': field, text: value }), el('div', { class: 'label', text: label }));
              clear(cards,
                card('Scheduled', byStatus.STATUS_SCHEDULED || 0, 'total-scheduled'),
                card('Running', byStatus.STATUS_RUNNING || 0, 'total-running'),
                card('Waiting for dependencies', byStatus.STATUS_WAITING || 0, 'total-waiting'),
                card('Failed, last hour', failedHour, 'total-failed-hour'),
                card('Finished, last hour', finishedHour, 'total-finished-hour'),
                card('Oldest waiting', fmtAge(status.oldestScheduledAgeSeconds), 'oldest'),
                card('Webhooks owed', status.webhooks.pending, 'webhooks-pending'),
                card('Webhooks given up', status.webhooks.failed, 'webhooks-failed'),
                card('Long polls parked here', status.waitingLongPolls, 'long-polls'));
              const rows = typeList.types.map((type) => {
                const window = statsByType[type.type] || { failed: 0, finished: 0 };
                return el('tr', { 'data-type': type.type },
                  el('th', { scope: 'row' }, el('a', { href: '#/tasks?type=' + encodeURIComponent(type.type), text: type.type })),
                  num(type.counts.STATUS_SCHEDULED, 'scheduled', type.type), num(type.counts.STATUS_RUNNING, 'running', type.type),
                  num(type.counts.STATUS_WAITING, 'waiting', type.type), num(window.failed, 'failed-hour', type.type),
                  num(window.finished, 'finished-hour', type.type), num((window.finished / 60).toFixed(1), 'per-minute', type.type),
                  el('td', { 'data-field': 'oldest', 'data-type': type.type, text: fmtAge(type.oldestScheduledAgeSeconds) }),
                  el('td', {}, type.paused ? el('span', { class: 'status paused', text: 'paused' }) : 'active'));
              });
              clear(types, table('Task types', ['Type', '#Scheduled', '#Running', '#Waiting', '#Failed (1 h)', '#Finished (1 h)', '#Per minute', 'Oldest waiting', 'State'],
                rows, 'No tasks yet.'));
              await drawHistory();
            };
          }

          // ---- charts ----
          function chartFrame(title, description, maxValue, from, to) {
            const width = 600, height = 220, left = 44, bottom = 24, top = 10, right = 10;
            const chart = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': description });
            chart.append(svg('title', { text: title + ': ' + description }));
            const niceMax = Math.max(1, niceCeiling(maxValue));
            const y = (value) => top + (height - top - bottom) * (1 - value / niceMax);
            const x = (time) => left + (width - left - right) * ((time - from) / Math.max(1, to - from));
            for (let i = 0; i <= 4; i++) {
              const value = niceMax * i / 4;
              chart.append(svg('line', { class: 'grid', x1: left, x2: width - right, y1: y(value), y2: y(value) }));
              chart.append(svg('text', { x: left - 6, y: y(value) + 4, 'text-anchor': 'end', text: Number.isInteger(value) ? value : value.toFixed(1) }));
            }
            for (let i = 0; i <= 4; i++) {
              const time = from + (to - from) * i / 4;
              const label = new Date(time * 1000);
              const text = to - from > 7200 ? label.toLocaleString([], { hour: '2-digit', minute: '2-digit', day: 'numeric' }) : label.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
              chart.append(svg('text', { x: x(time), y: height - 6, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle', text }));
            }
            chart.append(svg('line', { class: 'axis', x1: left, x2: width - right, y1: y(0), y2: y(0) }));
            return { chart, x, y, width, left, right };
          }
          function niceCeiling(value) {
            if (value <= 0) return 1;
            const magnitude = Math.pow(10, Math.floor(Math.log10(value)));
            for (const factor of [1, 2, 2.5, 5, 10]) if (value <= factor * magnitude) return factor * magnitude;
            return 10 * magnitude;
          }
          function steps(range, step) {
            // The last step with a recorded minute: a minute is recorded a few seconds after it ends.
            const now = Math.floor(Date.now() / 1000);
            const to = Math.floor((now - 65) / step) * step;
            const from = to - range + step;
            const times = [];
            for (let time = from; time <= to; time += step) times.push(time);
            return { from, to, times };
          }
          function legend(entries) {
            return el('ul', { class: 'legend' }, entries.map(([className, label]) => el('li', {}, el('span', { class: 'key ' + className, 'aria-hidden': 'true' }), label)));
          }
          function depthChart(history, range, step) {
            const { from, to, times } = steps(range, step);
            const ranked = history.types.map((entry) => ({ type: entry.type, points: new Map(entry.points.map((point) => [point.time, point.scheduled])) }))
              .map((entry) => ({ ...entry, peak: Math.max(0, ...entry.points.values()) }))
              .sort((a, b) => b.peak - a.peak).slice(0, 6);
            const peak = Math.max(0, ...ranked.map((entry) => entry.peak));
            const total = ranked.reduce((sum, entry) => sum + (entry.points.get(to) || 0), 0);
            const frame = chartFrame('Queue depth', `Tasks scheduled per type, largest ${peak}, now ${total}`, peak, from, to);
            ranked.forEach((entry, index) => {
              const coordinates = times.map((time) => `${frame.x(time).toFixed(1)},${frame.y(entry.points.get(time) || 0).toFixed(1)}`).join(' ');
              frame.chart.append(svg('polyline', { class: 'line series-' + index, points: coordinates }, svg('title', { text: entry.type })));
            });
            return el('figure', {}, el('figcaption', { text: 'Queue depth (scheduled tasks)' }), frame.chart,
              ranked.length ? legend(ranked.map((entry, index) => ['series-' + index, entry.type])) : el('p', { class: 'muted', text: 'Nothing recorded in this range yet: the server records one point per minute.' }));
          }
          function finishedChart(history, range, step) {
            const { from, to, times } = steps(range, step);
            const sums = new Map(times.map((time) => [time, { succeeded: 0, failed: 0, cancelled: 0 }]));
            for (const entry of history.types) for (const point of entry.points) {
              const sum = sums.get(point.time);
              if (!sum) continue;
              sum.succeeded += point.succeeded; sum.failed += point.failed; sum.cancelled += point.cancelled;
            }
            const peak = Math.max(0, ...[...sums.values()].map((sum) => sum.succeeded + sum.failed + sum.cancelled));
            const all = [...sums.values()].reduce((total, sum) => total + sum.succeeded + sum.failed + sum.cancelled, 0);
            const unit = step === 60 ? 'minute' : (step / 60) + ' minutes';
            const frame = chartFrame('Finished tasks', `Tasks finished per ${unit}, ${all} in the range, at most ${peak} in one step`, peak, from - step, to);
            const barWidth = Math.max(1, frame.x(from) - frame.x(from - step) - 1);
            for (const time of times) {
              const sum = sums.get(time);
              let base = 0;
              for (const [field, className] of [['succeeded', 'bar-ok'], ['failed', 'bar-failed'], ['cancelled', 'bar-cancelled']]) {
                if (!sum[field]) continue;
                const top = frame.y(base + sum[field]);
                frame.chart.append(svg('rect', { class: className, x: (frame.x(time) - barWidth).toFixed(1), y: top.toFixed(1), width: barWidth.toFixed(1),
                  height: Math.max(0, frame.y(base) - top).toFixed(1) }, svg('title', { text: `${new Date(time * 1000).toLocaleTimeString()}: ${sum[field]} ${field}` })));
                base += sum[field];
              }
            }
            return el('figure', {}, el('figcaption', { text: `Finished per ${unit}` }), frame.chart,
              legend([['bar-ok', 'succeeded'], ['bar-failed', 'failed'], ['bar-cancelled', 'cancelled']]));
          }

          // ---- tasks ----
          function filterQuery(params) {
            const query = {};
            for (const name of FILTERS) if (params.get(name)) query[name] = params.get(name);
            return query;
          }
          function tasksView(root, place) {
            const params = place.params;
            const fields = {};
            const input = (name, label, attributes) => {
              fields[name] = el('input', { id: 'filter-' + name, name, value: params.get(name) || '', ...attributes });
              return el('div', {}, el('label', { for: 'filter-' + name, text: label }), fields[name]);
            };
            fields.status = el('select', { id: 'filter-status', name: 'status' }, el('option', { value: '', text: 'any' }),
              STATUSES.map((status) => el('option', { value: status, selected: params.get('status') === status, text: status.replace('STATUS_', '').toLowerCase() })));
            const typeChoices = el('datalist', { id: 'type-choices' });
            const form = el('form', { class: 'filters', role: 'search', onsubmit: (event) => {
              event.preventDefault();
              const query = new URLSearchParams();
              for (const name of FILTERS) if (fields[name].value.trim()) query.set(name, fields[name].value.trim());
              const target = '#/tasks' + (query.toString() ? '?' + query : '');
              if (location.hash === target) route(); else location.hash = target;
            } },
              el('div', {}, el('label', { for: 'filter-status', text: 'Status' }), fields.status),
              input('type', 'Type', { list: 'type-choices', size: 18 }), typeChoices,
              input('userId', 'User', { size: 10 }), input('appId', 'App', { size: 10 }), input('customId', 'Custom id', { size: 12 }),
              input('providerId', 'Provider', { size: 12 }), input('errorContains', 'Error contains', { size: 14 }),
              el('div', {}, el('button', { type: 'submit', class: 'primary', text: 'Search' })),
              el('div', {}, el('button', { type: 'button', text: 'Clear', onclick: () => { location.hash = '#/tasks'; } })));
            const line = messageLine();
            const query = filterQuery(params);
            const hasFilter = Object.keys(query).length > 0;
            const bulk = (action, label) => el('button', { type: 'button', class: action === 'cancel' ? 'danger' : null, disabled: !hasFilter,
              text: label, onclick: async () => {
                try {
                  const dry = await api('POST', 'admin/tasks/' + action, { body: { ...query, dryRun: true } });
                  if (dry.matching === 0) { say(line, 'No task matching this filter can be ' + (action === 'retry' ? 'retried.' : 'cancelled.')); return; }
                  const verb = action === 'retry' ? 'Retry' : 'Cancel';
                  if (!(await confirmAction(`${verb} ${dry.matching} task${dry.matching === 1 ? '' : 's'} matching this filter?`))) return;
                  const done = await api('POST', 'admin/tasks/' + action, { body: query });
                  say(line, `${action === 'retry' ? 'Retried' : 'Cancelled'} ${done.changed} task${done.changed === 1 ? '' : 's'}.`);
                  await refresh();
                } catch (error) { reportError(error); say(line, error.message, true); }
              } });
            const results = el('div');
            const pager = el('div', { class: 'pager' });
            const cursors = [null];
            let page = 0;
            append(root, heading('Tasks'), form, el('div', { class: 'actions' }, bulk('retry', 'Retry all matching…'), bulk('cancel', 'Cancel all matching…'),
              hasFilter ? null : el('span', { class: 'muted', text: 'Bulk actions need a filter.' })), line, results, pager);

            async function refresh() {
              const [list, typeList] = await Promise.all([
                api('GET', 'admin/tasks', { query: { ...query, limit: 50, cursor: cursors[page] } }), api('GET', 'admin/types')]);
              clear(typeChoices, typeList.types.map((type) => el('option', { value: type.type })));
              cursors[page + 1] = list.nextCursor;
              const rows = list.tasks.map((task) => el('tr', { 'data-task': task.id },
                el('td', { class: 'num' }, el('a', { href: '#/task/' + task.id, text: task.id })),
                el('td', { text: task.type }), el('td', {}, statusBadge(task.status)),
                el('td', { text: task.userId ?? '-' }), el('td', { text: task.appId }), el('td', { class: 'wrap', text: task.customId }),
                timeCell(task.scheduledAt), timeCell(task.endedAt), el('td', { class: 'wrap', text: task.errorMessage ?? '' })));
              clear(results, table('Tasks', ['#ID', 'Type', 'Status', 'User', 'App', 'Custom id', 'Scheduled', 'Ended', 'Error'], rows, 'No task matches.'));
              clear(pager,
                el('button', { type: 'button', disabled: page === 0, text: 'First page', onclick: () => { page = 0; refresh().catch(reportError); } }),
                el('button', { type: 'button', disabled: !list.nextCursor, text: 'Next page', onclick: () => { page += 1; refresh().catch(reportError); } }),
                el('span', { class: 'muted', text: 'Page ' + (page + 1) }));
            }
            return refresh;
          }

          // ---- one task ----
          function taskView(root, place) {
            const id = place.arg;
            const line = messageLine();
            const retry = el('button', { type: 'button', class: 'primary', text: 'Retry', onclick: () => act('retry') });
            const cancel = el('button', { type: 'button', class: 'danger', text: 'Cancel', onclick: () => act('cancel') });
            const body = el('div');
            append(root, el('p', {}, el('a', { href: '#/tasks', text: '← Tasks' })), heading('Task ' + id), el('div', { class: 'actions' }, retry, cancel), line, body);
            async function act(action) {
              try {
                const data = await api('POST', `admin/tasks/${id}/${action}`);
                say(line, action === 'retry' ? `Task ${id} is ${data.task.status.replace('STATUS_', '').toLowerCase()} again.` : `Task ${id} was cancelled.`);
                await refresh();
              } catch (error) { reportError(error); say(line, error.message, true); }
            }
            async function download(file) {
              try {
                const response = await request('GET', new URL(`${OCS}admin/tasks/${id}/file/${file.id}`, location.origin));
                if (!response.ok) { say(line, (await readEnvelope(response)).message, true); return; }
                const url = URL.createObjectURL(await response.blob());
                const link = el('a', { href: url, download: file.name || ('file-' + file.id) });
                document.body.append(link);
                link.click();
                link.remove();
                setTimeout(() => URL.revokeObjectURL(url), 10000);
              } catch (error) { reportError(error); say(line, error.message, true); }
            }
            async function refresh() {
              let data;
              try {
                data = await api('GET', 'admin/tasks/' + id);
              } catch (error) {
                if (error.status === 404) { clear(body, el('p', { class: 'error', text: `There is no task ${id}.` })); retry.disabled = cancel.disabled = true; return; }
                throw error;
              }
              const deliveries = await api('GET', 'admin/webhooks', { query: { taskId: id, limit: 20 } });
              const task = data.task;
              retry.disabled = !['STATUS_FAILED', 'STATUS_CANCELLED'].includes(task.status);
              cancel.disabled = !['STATUS_SCHEDULED', 'STATUS_RUNNING'].includes(task.status);
              const field = (label, value, name) => [el('dt', { text: label }), el('dd', { 'data-field': name }, value ?? '-')];
              const json = (value) => el('pre', { class: 'json', text: JSON.stringify(value, null, 2) });
              clear(body,
                el('dl', { class: 'fields' },
                  field('Status', statusBadge(task.status), 'status'), field('Type', task.type, 'type'), field('User', task.userId, 'user'),
                  field('App', task.appId, 'app'), field('Custom id', task.customId, 'customId'), field('Priority', task.priority, 'priority'),
                  field('Attempt', task.attempt, 'attempt'), field('Progress', task.progress === null ? null : Math.round(task.progress * 100) + ' %', 'progress'),
                  field('Scheduled', fmtTime(task.scheduledAt), 'scheduledAt'), field('Started', fmtTime(task.startedAt), 'startedAt'),
                  field('Ended', fmtTime(task.endedAt), 'endedAt'),
                  field('Lease ends', task.leaseExpiresAt ? fmtTime(task.leaseExpiresAt) + ' (fenced by attempt ' + task.attempt + ')' : null, 'lease'),
                  field('Claimable from', task.runAfter ? fmtTime(task.runAfter) : null, 'runAfter'),
                  field('ExApp', task.exAppId, 'exApp'),
                  task.dependsOn ? field('Depends on', task.dependsOn.map((dep, index) => [index ? ', ' : '', el('a', { href: '#/task/' + dep, text: dep })]), 'dependsOn') : null,
                  task.dependsOn ? field('Waiting for', task.waitingFor.length ? task.waitingFor.join(', ') : 'nothing', 'waitingFor') : null,
                  field('Error', task.errorMessage, 'error'), field('Error shown to the user', task.userFacingErrorMessage, 'userError')),
                el('h2', { text: 'Input' }), json(task.input),
                el('h2', { text: 'Output' }), task.output === null ? el('p', { class: 'muted', text: 'No output yet.' }) : json(task.output),
                el('h2', { text: 'Attempts' }),
                table('Attempts', ['#Attempt', 'ExApp', 'Provider', 'Claimed', 'Ended', 'Outcome', 'Error'], task.attempts.map((attempt) => el('tr', {},
                  num(attempt.attempt, 'attempt'), el('td', { text: attempt.exAppId ?? '-' }), el('td', { text: attempt.providerId ?? '-' }),
                  timeCell(attempt.claimedAt), timeCell(attempt.endedAt), el('td', { text: attempt.outcome }),
                  el('td', { class: 'wrap', text: attempt.errorMessage ?? '' }))), 'Not claimed yet.'),
                el('h2', { text: 'Files' }),
                table('Files', ['#ID', 'Name', 'Type', '#Size', ''], task.files.map((file) => el('tr', {},
                  num(file.id, 'file'), el('td', { class: 'wrap', text: file.name || '(no name)' }), el('td', { text: file.contentType }),
                  el('td', { class: 'num', text: fmtBytes(file.size) }),
                  el('td', {}, el('button', { type: 'button', text: 'Download', 'aria-label': 'Download file ' + file.id, onclick: () => download(file) })))), 'No files.'),
                el('h2', { text: 'Webhook' }),
                deliveryTable(deliveries.deliveries, 'No webhook for this task.'));
            }
            return refresh;
          }
          function deliveryTable(deliveries, empty) {
            return table('Webhook deliveries', ['#ID', 'Task', 'Target', 'State', '#Calls', 'Next call', 'Last answer', 'Last error'], deliveries.map((delivery) => el('tr', {},
              num(delivery.id, 'delivery'), el('td', {}, el('a', { href: '#/task/' + delivery.taskId, text: delivery.taskId })),
              el('td', { class: 'wrap' }, el('span', { class: 'mono', text: delivery.method.replace('HTTP:', '') + ' ' + delivery.uri })),
              el('td', {}, el('span', { class: 'status ' + delivery.state, text: delivery.state })), num(delivery.attempts, 'attempts'),
              delivery.state === 'pending' ? timeCell(delivery.nextAttemptAt) : el('td', { text: '-' }),
              el('td', { text: delivery.lastStatus ?? '-' }), el('td', { class: 'wrap', text: delivery.lastError ?? '' }))), empty);
          }

          // ---- types ----
          function typesView(root) {
            const line = messageLine();
            const body = el('div');
            append(root, heading('Types'), line, body);
            async function refresh() {
              const data = await api('GET', 'admin/types');
              const rows = data.types.map((type) => {
                const limit = el('input', { type: 'number', min: 1, max: 100000, id: 'limit-' + type.type, value: type.maxRunning ?? '',
                  placeholder: 'none', 'aria-label': 'Most running tasks of ' + type.type });
                const save = el('button', { type: 'button', text: 'Save', onclick: async () => {
                  try {
                    const value = limit.value.trim();
                    const data = await api('PUT', `admin/types/${typePath(type.type)}/limits`, { body: { maxRunning: value === '' ? null : Number(value) } });
                    say(line, `${type.type}: at most ${data.maxRunning ?? 'any number of'} running.`);
                    limit.blur();
                    await refresh();
                  } catch (error) { reportError(error); say(line, error.message, true); }
                } });
                const toggle = el('button', { type: 'button', class: type.paused ? 'primary' : null, text: type.paused ? 'Resume' : 'Pause',
                  'aria-label': (type.paused ? 'Resume ' : 'Pause ') + type.type, onclick: async () => {
                    try {
                      const data = await api('POST', `admin/types/${typePath(type.type)}/${type.paused ? 'resume' : 'pause'}`);
                      say(line, `${type.type} is ${data.paused ? 'paused' : 'running again'}.`);
                      await refresh();
                    } catch (error) { reportError(error); say(line, error.message, true); }
                  } });
                const providers = type.providers.length ? el('ul', {}, type.providers.map((provider) => el('li', {},
                  el('span', { class: 'mono', text: provider.id }), provider.appId ? ' (ExApp ' + provider.appId + ')' : ' (built in)',
                  provider.preferred ? ' preferred' : '', provider.appLastSeenAt ? ', seen ' + fmtTime(provider.appLastSeenAt) : ''))) : el('span', { class: 'muted', text: 'none' });
                return el('tr', { 'data-type': type.type },
                  el('th', { scope: 'row', text: type.type }), num(type.counts.STATUS_SCHEDULED, 'scheduled', type.type),
                  num(type.counts.STATUS_RUNNING, 'running', type.type), num(type.counts.STATUS_FAILED, 'failed', type.type),
                  el('td', { text: fmtAge(type.oldestScheduledAgeSeconds) }),
                  el('td', { 'data-field': 'state', 'data-type': type.type }, type.paused ? el('span', { class: 'status paused', text: 'paused' }) : 'active'),
                  el('td', {}, toggle), el('td', {}, el('div', { class: 'inline' }, limit, save)), el('td', {}, providers));
              });
              clear(body, table('Task types', ['Type', '#Scheduled', '#Running', '#Failed', 'Oldest waiting', 'State', 'Pause', 'Max running', 'Providers'], rows, 'No task types.'));
            }
            return refresh;
          }

          // ---- workers ----
          function workersView(root) {
            const body = el('div');
            append(root, heading('Workers'), el('p', { class: 'muted', text: 'ExApps as the server processes saw them; long polls are those parked now, over every process.' }), body);
            return async () => {
              const data = await api('GET', 'admin/workers');
              clear(body, table('Workers', ['ExApp', 'Last request', 'Last claim', 'Last result', '#Running', '#Long polls parked'], data.workers.map((worker) => el('tr', { 'data-app': worker.appId },
                el('th', { scope: 'row', text: worker.appId }), timeCell(worker.lastRequestAt), timeCell(worker.lastClaimAt), timeCell(worker.lastResultAt),
                num(worker.runningTasks, 'running', worker.appId), num(worker.longPollsWaiting, 'long-polls', worker.appId))), 'No ExApp has called yet.'));
            };
          }

          // ---- webhooks ----
          function webhooksView(root, place) {
            const chosen = place.params.get('state') || '';
            const select = el('select', { id: 'webhook-state', onchange: () => { location.hash = '#/webhooks' + (select.value ? '?state=' + select.value : ''); } },
              [['', 'any'], ['pending', 'pending'], ['failed', 'given up'], ['delivered', 'delivered']].map(([value, label]) => el('option', { value, selected: value === chosen, text: label })));
            const body = el('div');
            const pager = el('div', { class: 'pager' });
            const befores = [null];
            let page = 0;
            append(root, heading('Webhooks'), el('div', { class: 'filters' }, el('div', {}, el('label', { for: 'webhook-state', text: 'State' }), select)), body, pager);
            async function refresh() {
              const data = await api('GET', 'admin/webhooks', { query: { state: chosen, limit: 50, before: befores[page] } });
              befores[page + 1] = data.nextBefore;
              clear(body, deliveryTable(data.deliveries, 'No webhook deliveries.'));
              clear(pager,
                el('button', { type: 'button', disabled: page === 0, text: 'Newest', onclick: () => { page = 0; refresh().catch(reportError); } }),
                el('button', { type: 'button', disabled: !data.nextBefore, text: 'Older', onclick: () => { page += 1; refresh().catch(reportError); } }));
            }
            return refresh;
          }

          // ---- start ----
          async function start() {
            $('login-form').addEventListener('submit', (event) => { login(event).catch(reportError); });
            $('logout').addEventListener('click', () => { logout().catch(reportError); });
            window.addEventListener('hashchange', () => { if (location.hash.startsWith('#/')) route().catch(reportError); });
            document.addEventListener('visibilitychange', () => { if (!document.hidden) tick(); });
            const response = await request('GET', '/dashboard/api/session');
            const { data, message } = await readEnvelope(response);
            if (!response.ok) { showBanner(response.status >= 500 ? 'database' : 'down', message); showLogin(''); return; }
            hideBanner();
            if (data.signedIn) signedIn(data); else showLogin('');
          }
          document.addEventListener('DOMContentLoaded', () => { start().catch(reportError); });
        })();
        """#
}
