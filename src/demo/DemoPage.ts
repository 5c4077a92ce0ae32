import { createHash } from "node:crypto"

/** The page's only stylesheet, inline; the CSP admits it by its hash rather than by `'unsafe-inline'`. */
const css = `
:root { color-scheme: light dark; --fg: #1d2329; --muted: #66707a; --line: #d5dbe1; --bg: #f6f8fa; --card: #fff;
  --accent: #2563eb; --ok: #15803d; --bad: #b91c1c; --warn: #b45309; font: 14px/1.4 system-ui, sans-serif; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ec; --muted: #99a3ad; --line: #39424b; --bg: #14181c;
  --card: #1c2227; --accent: #60a5fa; --ok: #4ade80; --bad: #f87171; --warn: #fbbf24; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: baseline; gap: 1rem; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.1rem; margin: 0; }
h2 { font-size: .95rem; margin: 0 0 .5rem; }
section h2:not(:first-child) { margin-top: 1rem; }
#status { color: var(--muted); }
#status.live { color: var(--ok); }
main { display: grid; grid-template-columns: minmax(20rem, 28rem) 1fr; gap: 1rem; padding: 1rem; }
@media (max-width: 60rem) { main { grid-template-columns: 1fr; } }
.controls { display: flex; flex-direction: column; gap: 1rem; min-width: 0; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .75rem; min-width: 0; }
label { display: block; margin: .3rem 0; color: var(--muted); }
input, textarea, button { font: inherit; color: var(--fg); }
input[type=text], input[type=password], textarea { width: 100%; padding: .3rem .4rem; background: var(--bg);
  border: 1px solid var(--line); border-radius: 4px; }
textarea { font-family: ui-monospace, monospace; font-size: 12px; resize: vertical; }
button { padding: .3rem .7rem; border: 1px solid var(--line); border-radius: 4px; background: var(--bg);
  cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button:disabled { opacity: .45; cursor: default; }
.row { display: flex; gap: .5rem; align-items: end; flex-wrap: wrap; margin-top: .4rem; }
.row > label { flex: 1; margin: 0; }
.choices label { display: inline-flex; gap: .3rem; margin-right: .8rem; color: var(--fg); }
.hint, .empty { color: var(--muted); font-size: 12px; margin: .3rem 0 0; }
.problem { color: var(--bad); font-size: 12px; margin: .3rem 0 0; }
#session-info { font-size: 12px; word-break: break-all; }
.server-failed { color: var(--bad); }
#stats { display: grid; grid-template-columns: repeat(5, 1fr); gap: .5rem; margin: 0; }
#stats div { text-align: center; }
#stats dt { color: var(--muted); font-size: 11px; }
#stats dd { margin: 0; font: 600 1.05rem ui-monospace, monospace; }
.ask { border: 1px solid var(--warn); border-radius: 4px; padding: .5rem; margin-top: .5rem; }
.ask pre { max-height: 10rem; overflow: auto; font-size: 12px; margin: .3rem 0; }
.log-panel { display: flex; flex-direction: column; min-height: 0; max-height: calc(100vh - 5rem); }
.log-head { display: flex; justify-content: space-between; align-items: baseline; }
#log { list-style: none; margin: 0; padding: 0; overflow: auto; flex: 1; min-height: 20rem;
  font: 12px/1.35 ui-monospace, monospace; }
#log li { display: grid; grid-template-columns: 6.5rem 9rem 3rem 1fr; gap: .5rem; padding: .15rem .25rem;
  border-bottom: 1px solid var(--line); }
#log .time, #log .id { color: var(--muted); }
#log .name { font-weight: 600; overflow-wrap: anywhere; }
#log .data { white-space: pre-wrap; word-break: break-all; max-height: 12rem; overflow: auto; }
#log .ev-response .name, #log .ev-chunk .name { color: var(--ok); }
#log .ev-error .name, #log .local-error .name { color: var(--bad); }
#log .ev-request .name { color: var(--warn); }
#log .ev-heartbeat { opacity: .6; }
#log .local .name { color: var(--accent); font-weight: 400; }
`.trim()

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MCP gateway demo</title>
<link rel="icon" href="data:,">
<style>${css}</style>
<script type="module" src="/demo/app.js"></script>
</head>
<body>
<header><h1>MCP gateway demo</h1><span id="status">not connected</span></header>
<main>
<div class="controls">
  <section>
    <h2>Connect</h2>
    <div class="row">
      <label>Token <input id="token" type="password" autocomplete="off" placeholder="the client's bearer token"></label>
      <button id="connect" class="primary">Connect</button>
    </div>
    <p class="hint">Leave it empty for the gateway's anonymous client. The token stays in this page only.</p>
  </section>
  <section>
    <h2>Session</h2>
    <div id="servers">
      <label id="servers-text">Servers (comma list, empty for all)
        <input id="servers-input" type="text" placeholder="everything, filesystem"></label>
      <div id="server-choices" class="choices" hidden></div>
    </div>
    <div class="row">
      <button id="create-session" class="primary" disabled>Create session</button>
      <button id="close" disabled>Close session</button>
    </div>
    <p id="session-info" class="hint">No session.</p>
  </section>
  <section>
    <h2>Request</h2>
    <label>Method <input id="method" type="text" value="tools/list" list="methods"></label>
    <datalist id="methods"><option value="tools/list"><option value="tools/call"><option value="resources/list">
      <option value="prompts/list"><option value="everything__ping"></datalist>
    <label>Params (JSON object) <textarea id="params" rows="3">{}</textarea></label>
    <div class="row"><button id="send" class="primary" disabled>Send</button></div>
    <p id="request-problem" class="problem" hidden></p>
    <h2>Presets</h2>
    <div class="row"><button id="preset-list" disabled>Broadcast tools/list</button></div>
    <div class="row">
      <label>Tool <input id="tool" type="text" value="everything__echo" list="tools"></label>
      <label>Arguments (JSON) <input id="tool-args" type="text" value='{"message":"hello"}'></label>
      <button id="preset-echo" disabled>Call tool</button>
    </div>
    <datalist id="tools"></datalist>
  </section>
  <section>
    <h2>Backend requests</h2>
    <p id="asks-empty" class="empty">None waiting. A backend's sampling or elicitation request appears here.</p>
    <div id="asks"></div>
  </section>
  <section>
    <h2>Statistics</h2>
    <dl id="stats">
      <div><dt>events/s</dt><dd id="stat-rate">0</dd></div>
      <div><dt>events</dt><dd id="stat-events">0</dd></div>
      <div><dt>in flight</dt><dd id="stat-inflight">0</dd></div>
      <div><dt>last RTT</dt><dd id="stat-last">–</dd></div>
      <div><dt>avg RTT</dt><dd id="stat-avg">–</dd></div>
    </dl>
  </section>
</div>
<section class="log-panel">
  <div class="log-head"><h2>Event log</h2><button id="clear-log">Clear</button></div>
  <ol id="log"></ol>
</section>
</main>
</body>
</html>
`

const styleHash = createHash("sha256").update(css).digest("base64")

/**
 * Only the page's own script, its one inline stylesheet (by hash) and requests to the gateway itself: an injected
 * script or style does not run, and nothing loads from elsewhere.
 */
export const contentSecurityPolicy: string = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'sha256-${styleHash}'`,
  "connect-src 'self'",
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")

/** The page: HTML and CSS; the script is `/demo/app.js`. */
export const page: string = html
