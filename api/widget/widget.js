/*
 * CancerAssist chat widget: one script tag, no build step, no framework.
 *
 * <script src="https://HOST/widget.js" data-api="https://HOST" data-lang="auto|fr|en"
 *         data-title="…" data-position="bottom-right|bottom-left"
 *         data-primary-color="#…" data-open="false" defer></script>
 *
 * Everything renders inside a Shadow DOM, so the host page's CSS cannot break the widget and
 * the widget's cannot break the page. Text from answers and documents is inserted with
 * textContent only, never as HTML.
 */
(() => {
  "use strict";

  const script = document.currentScript;
  const config = {
    api: (script && script.dataset.api) || (script ? new URL(script.src).origin : ""),
    lang: (script && script.dataset.lang) || "auto",
    title: script && script.dataset.title,
    position: (script && script.dataset.position) === "bottom-left" ? "bottom-left" : "bottom-right",
    color: (script && /^#[0-9a-fA-F]{3,8}$/.test(script.dataset.primaryColor || "") && script.dataset.primaryColor) || "#7a1f5c",
    open: (script && script.dataset.open) === "true",
  };
  const STORE = "cancerassist:conversation:" + config.api;

  // Interface sentences come from prompts/{fr,en}.toml ([widget]); the server writes them here.
  const STRINGS = /*__STRINGS__*/ null;
  // The API's bounds on a conversation (cancerassist.models), filled in by the server too.
  const { MAX_MESSAGES, MAX_HISTORY_CHARS } = /*__LIMITS__*/ null;
  if (!STRINGS) throw new Error("CancerAssist: serve widget.js from the API (GET /widget.js)");

  function pickLanguage() {
    if (config.lang === "fr" || config.lang === "en") return config.lang;
    const page = (document.documentElement.lang || navigator.language || "fr").toLowerCase();
    return page.startsWith("en") ? "en" : "fr";
  }
  const lang = pickLanguage();
  const t = STRINGS[lang];

  const CSS = `
    :host { all: initial; }
    * { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
    .launcher svg { width: 28px; height: 28px; }
    .launcher { display: flex; align-items: center; justify-content: center; position: fixed; bottom: 20px; ${config.position === "bottom-left" ? "left" : "right"}: 20px;
      width: 56px; height: 56px; border-radius: 50%; border: none; background: var(--primary); color: #fff;
      font-size: 26px; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); z-index: 2147483646; }
    .launcher:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
    .panel { position: fixed; bottom: 88px; ${config.position === "bottom-left" ? "left" : "right"}: 20px;
      width: min(400px, calc(100vw - 40px)); height: min(600px, calc(100vh - 120px)); background: #fff; color: #1d1d1f;
      border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.25); display: flex; flex-direction: column;
      overflow: hidden; z-index: 2147483647; font-size: 14px; line-height: 1.45; }
    .panel[hidden] { display: none; }
    header { background: var(--primary); color: #fff; padding: 10px 12px; display: flex; align-items: center; gap: 8px; }
    header h2 { font-size: 15px; margin: 0; flex: 1; font-weight: 600; }
    header button { background: transparent; border: 1px solid rgba(255,255,255,.6); color: #fff; border-radius: 6px;
      padding: 4px 8px; cursor: pointer; font-size: 12px; }
    .log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 10px; background: #f7f7f9; }
    .msg { max-width: 92%; padding: 8px 10px; border-radius: 10px; white-space: pre-wrap; word-wrap: break-word; }
    .user { align-self: flex-end; background: var(--primary); color: #fff; }
    .assistant { align-self: flex-start; background: #fff; border: 1px solid #e2e2e8; }
    .assistant.no-answer { border-color: #d9a400; }
    .status { font-size: 12px; color: #6b6b76; font-style: italic; }
    .error { align-self: stretch; background: #fdecea; color: #8a1c12; border: 1px solid #f5c2bd; padding: 8px 10px; border-radius: 8px; }
    .conflict { margin-top: 6px; padding: 6px 8px; border-left: 3px solid #a15c00; background: #fff6e8; color: #3d2600; font-size: 13px; }
    .conflict ul { margin: 4px 0 0; padding-left: 18px; }
    .conflict .mismatch { color: #8a1c1c; }
    .sources { margin-top: 6px; border-top: 1px solid #eee; padding-top: 6px; }
    .sources h3 { margin: 0 0 4px; font-size: 12px; color: #6b6b76; font-weight: 600; }
    .cite { display: block; width: 100%; text-align: left; background: #f3eef2; border: 1px solid #e4d6e0; border-radius: 6px;
      padding: 6px 8px; margin: 4px 0; cursor: pointer; font-size: 12px; color: #1d1d1f; }
    .cite strong { display: block; font-size: 12px; }
    .cite span { display: block; color: #4b4b55; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .rate { margin-top: 6px; display: flex; gap: 6px; align-items: center; }
    .rate button { background: #fff; color: #4b4b55; border: 1px solid #ccc; border-radius: 6px; cursor: pointer; padding: 3px 8px; display: flex; }
    .rate button[aria-pressed="true"] { background: var(--primary); color: #fff; border-color: var(--primary); }
    .rate .thanks { font-size: 12px; color: #6b6b76; }
    form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #e2e2e8; background: #fff; }
    textarea { flex: 1; resize: none; height: 42px; padding: 8px; border: 1px solid #c8c8d0; border-radius: 8px; font-size: 14px; }
    form button { background: var(--primary); color: #fff; border: none; border-radius: 8px; padding: 0 14px; cursor: pointer; font-size: 14px; }
    form button:disabled { opacity: .5; cursor: default; }
    .viewer { position: absolute; inset: 0; background: #fff; display: flex; flex-direction: column; }
    .viewer[hidden] { display: none; }
    .viewer .doc { flex: 1; overflow-y: auto; padding: 12px; white-space: pre-wrap; font-size: 13px; }
    mark { background: #ffe58f; color: inherit; }
    .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  `;

  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  // Icons as SVG paths: emoji depend on the visitor's fonts.
  const ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    up: "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z",
    down: "M22 3h-4v12h4V3zM2 14a2 2 0 0 0 2 2h6.3l-1 4.6v.3c0 .4.2.8.4 1.1L10.8 23l6.6-6.6c.4-.4.6-.9.6-1.4V5a2 2 0 0 0-2-2H7c-.8 0-1.5.5-1.8 1.2l-3 7.1c-.1.2-.2.5-.2.7v2z",
  };
  function icon(name) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "18");
    svg.setAttribute("height", "18");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("fill", "currentColor");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  function load() {
    try { return JSON.parse(sessionStorage.getItem(STORE) || "[]"); } catch (e) { return []; }
  }
  function save(turns) {
    try { sessionStorage.setItem(STORE, JSON.stringify(turns)); } catch (e) { /* storage full or blocked */ }
  }

  const host = el("div", { id: "cancerassist-widget" });
  const root = host.attachShadow({ mode: "open" });
  // A constructed stylesheet is not an inline style, so host pages need no 'unsafe-inline' in
  // their Content-Security-Policy; older browsers get a <style> element.
  if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet.prototype.replaceSync === "function") {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.append(el("style", { text: CSS }));
  }
  host.style.setProperty("--primary", config.color);

  const launcher = el("button", { class: "launcher", type: "button", "aria-label": t.open, "aria-expanded": "false" }, [icon("chat")]);
  const log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions" });
  const input = el("textarea", { "aria-label": t.placeholder, placeholder: t.placeholder, maxlength: "2000" });
  const send = el("button", { type: "submit", text: t.send });
  const form = el("form", {}, [input, send]);
  const viewerDoc = el("div", { class: "doc", tabindex: "0" });
  const viewerTitle = el("h2", { text: t.passage });
  const back = el("button", { type: "button", text: t.back });
  const viewer = el("section", { class: "viewer", hidden: "", "aria-label": t.passage }, [
    el("header", {}, [viewerTitle, back]), viewerDoc,
  ]);
  const newChat = el("button", { type: "button", text: t.newChat });
  const close = el("button", { type: "button", "aria-label": t.close, text: "✕" });
  const panel = el("section", { class: "panel", role: "dialog", "aria-label": config.title || t.title, hidden: "" }, [
    el("header", {}, [el("h2", { text: config.title || t.title }), newChat, close]),
    log, form, viewer,
  ]);
  root.append(launcher, panel);

  let turns = load(); // [{role, content, response?, rating?}]
  let busy = false;

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? t.close : t.open);
    if (open) input.focus(); else launcher.focus();
  }

  function citationList(response) {
    if (!response || !response.citations || !response.citations.length) return null;
    const box = el("div", { class: "sources" }, [el("h3", { text: t.sources })]);
    response.citations.forEach((citation) => {
      const page = citation.page ? t.page.replace("{n}", citation.page) : "";
      const label = [citation.title, citation.section, page].filter(Boolean).join(" › ");
      box.append(el("button", { class: "cite", type: "button", onclick: () => showPassage(citation) }, [
        el("strong", { text: label }),
        el("span", { text: citation.snippet }),
      ]));
    });
    return box;
  }

  // Sources that disagree: each value with its source, the ones that do not fit flagged.
  function conflictNote(response) {
    if (!response || !response.conflicts || !response.conflicts.length) return null;
    const note = el("div", { class: "conflict", role: "note" }, [el("strong", { text: t.conflict })]);
    response.conflicts.forEach((conflict) => {
      const list = el("ul");
      conflict.values.forEach((value) => {
        list.append(el("li", { class: value.domain_mismatch ? "mismatch" : "" }, [
          value.value + " — " + value.title + (value.domain_mismatch ? " (" + t.conflictMismatch + ")" : ""),
        ]));
      });
      note.append(el("span", { text: conflict.entity }), list);
    });
    return note;
  }

  function ratingBar(turn, index) {
    const bar = el("div", { class: "rate" });
    const thanks = el("span", { class: "thanks", "aria-live": "polite" });
    const make = (value, label) => el("button", {
      type: "button", "aria-label": label, title: label, "aria-pressed": String(turn.rating === value),
      onclick: () => rate(index, value, bar, thanks),
    }, [icon(value)]);
    bar.append(make("up", t.helpful), make("down", t.notHelpful), thanks);
    return bar;
  }

  async function rate(index, value, bar, thanks) {
    const turn = turns[index];
    if (!turn || !turn.response) return;
    try {
      const reply = await fetch(config.api + "/api/feedback", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ message_id: turn.response.message_id, rating: value }),
      });
      if (!reply.ok) throw new Error(String(reply.status));
      turn.rating = value;
      save(turns);
      bar.querySelectorAll("button").forEach((b, i) => b.setAttribute("aria-pressed", String((i === 0 ? "up" : "down") === value)));
      thanks.textContent = t.thanks;
    } catch (e) {
      showError(e);
    }
  }

  function renderTurn(turn, index) {
    if (turn.role === "user") {
      log.append(el("div", { class: "msg user" }, [el("span", { class: "sr-only", text: t.you + " : " }), turn.content]));
      return;
    }
    const noAnswer = turn.response && turn.response.status === "no_answer";
    const bubble = el("div", { class: "msg assistant" + (noAnswer ? " no-answer" : ""), "data-status": noAnswer ? "no_answer" : "answered" });
    bubble.append(el("span", { class: "sr-only", text: t.assistant + " : " }));
    const body = el("div", { class: "answer", text: turn.content });
    bubble.append(body);
    if (noAnswer) bubble.append(el("div", { class: "status", text: t.noAnswer }));
    const conflicts = conflictNote(turn.response);
    if (conflicts) bubble.append(conflicts);
    const sources = citationList(turn.response);
    if (sources) bubble.append(sources);
    if (turn.response) bubble.append(ratingBar(turn, index));
    log.append(bubble);
  }

  function renderAll() {
    log.replaceChildren();
    if (!turns.length) log.append(el("div", { class: "msg assistant", text: t.welcome }));
    turns.forEach(renderTurn);
    log.scrollTop = log.scrollHeight;
  }

  function showError(error) {
    let message = t.errorOther.replace("{code}", error.message || "?");
    if (error.status === 429) message = t.errorBusy.replace("{s}", error.retryAfter || "30");
    else if (error.status === 422 || error.status === 413) message = t.errorInput;
    else if (error instanceof TypeError || error.status === 0 || error.status === 504) message = t.errorDown;
    log.append(el("div", { class: "error", role: "alert", text: message }));
    log.scrollTop = log.scrollHeight;
  }

  async function showPassage(citation) {
    viewerDoc.replaceChildren(el("div", { class: "status", text: t.thinking }));
    viewer.hidden = false;
    back.focus();
    try {
      const reply = await fetch(config.api + "/api/documents/" + encodeURIComponent(citation.doc_id));
      if (!reply.ok) throw Object.assign(new Error(String(reply.status)), { status: reply.status });
      const doc = await reply.json();
      viewerTitle.textContent = [doc.title, citation.section].filter(Boolean).join(" › ");
      const text = doc.text;
      const mark = el("mark", { text: text.slice(citation.start, citation.end) });
      viewerDoc.replaceChildren(text.slice(0, citation.start), mark, text.slice(citation.end));
      mark.scrollIntoView({ block: "center" });
    } catch (e) {
      viewer.hidden = true;
      showError(e);
    }
  }

  function parseEvents(buffer, onEvent) {
    // Server-Sent Events: blocks separated by a blank line, "event:" and "data:" fields.
    const blocks = buffer.split(/\r?\n\r?\n/);
    const rest = blocks.pop();
    for (const block of blocks) {
      let name = "message", data = "";
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) onEvent(name, JSON.parse(data));
    }
    return rest;
  }

  async function ask(question) {
    if (busy || !question.trim()) return;
    busy = true;
    send.disabled = true;
    const history = turns.map((turn) => ({ role: turn.role, content: turn.content }));
    turns.push({ role: "user", content: question });
    save(turns);
    renderAll();
    const pending = { role: "assistant", content: "" };
    const bubble = el("div", { class: "msg assistant", "aria-busy": "true" });
    const body = el("div", { class: "answer" });
    const status = el("div", { class: "status", text: t.thinking });
    bubble.append(body, status);
    log.append(bubble);
    log.scrollTop = log.scrollHeight;
    try {
      const messages = history.concat([{ role: "user", content: question }]).slice(-MAX_MESSAGES);
      // The oldest turns go first when the conversation outgrows what the API accepts.
      while (messages.length > 1 && messages.reduce((n, m) => n + m.content.length, 0) > MAX_HISTORY_CHARS) {
        messages.shift();
      }
      const reply = await fetch(config.api + "/api/chat/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ messages, language: config.lang === "auto" ? undefined : lang }),
      });
      if (!reply.ok) {
        throw Object.assign(new Error(String(reply.status)), { status: reply.status, retryAfter: reply.headers.get("Retry-After") });
      }
      const reader = reply.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseEvents(buffer + decoder.decode(value, { stream: true }), (name, data) => {
          if (name === "delta") { body.textContent += data.text; status.textContent = ""; }
          else if (name === "done") { pending.response = data; pending.content = data.answer; }
          // The request's time ran out mid-stream: the same as a 504, question kept.
          else if (name === "error") throw Object.assign(new Error(data.error.code), { status: 504 });
        });
        log.scrollTop = log.scrollHeight;
      }
      if (!pending.response) throw new Error("stream");
      turns.push(pending);
      save(turns);
    } catch (e) {
      // The unanswered question goes back into the input, ready to be sent again.
      turns.pop();
      save(turns);
      renderAll();
      if (!input.value) input.value = question;
      showError(e);
      busy = false;
      send.disabled = false;
      return;
    }
    busy = false;
    send.disabled = false;
    renderAll();
    input.focus();
  }

  launcher.addEventListener("click", () => setOpen(panel.hidden));
  close.addEventListener("click", () => setOpen(false));
  back.addEventListener("click", () => { viewer.hidden = true; input.focus(); });
  newChat.addEventListener("click", () => { turns = []; save(turns); renderAll(); input.focus(); });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value;
    input.value = "";
    ask(question);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  root.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (!viewer.hidden) { viewer.hidden = true; input.focus(); } else if (!panel.hidden) setOpen(false);
  });

  // The host page may call window.CancerAssist.ask("…"), or mark example questions with
  // data-cancerassist-ask="…" (the demo page does).
  window.CancerAssist = { ask: (question) => { setOpen(true); return ask(question); }, open: () => setOpen(true) };
  document.querySelectorAll("[data-cancerassist-ask]").forEach((node) => {
    node.addEventListener("click", () => window.CancerAssist.ask(node.getAttribute("data-cancerassist-ask")));
  });

  document.body.append(host);
  renderAll();
  if (config.open || turns.length) setOpen(true);
})();
