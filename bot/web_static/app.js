/* The web chat's page script. Served as a file (the Content-Security-Policy allows no inline
   script). Without it the page still works: every button and the message field are plain
   HTML forms. With it, messages go over a WebSocket, and the conversation is kept in this
   tab's sessionStorage only (gone when the tab closes), so a reload or a dropped connection
   continues where it was. Nothing is sent anywhere but to this chat's own server. */
(function () {
  "use strict";

  var KEY = "meta-ai-bot-chat";
  var MAX_TRANSCRIPT = 60;
  var body = document.body;
  var lang = body.getAttribute("data-lang") || "de";
  var max = parseInt(body.getAttribute("data-max"), 10) || 1000;
  var words = {};
  try {
    words = JSON.parse(body.getAttribute("data-ui") || "{}");
  } catch (e) {
    words = {};
  }
  var log = document.getElementById("log");
  var statusLine = document.getElementById("status");
  var input = document.getElementById("text");
  var composer = document.getElementById("composer");
  if (!log || !input || !composer) {
    return;
  }

  // -- the tab's memory --------------------------------------------------------------------

  var memory = null;
  try {
    memory = window.sessionStorage;
    memory.setItem(KEY + "-probe", "1");
    memory.removeItem(KEY + "-probe");
  } catch (e) {
    memory = null; // storage blocked: the chat still works until the page is reloaded
  }

  function randomId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var out = "";
    for (var i = 0; i < bytes.length; i++) {
      out += ("0" + bytes[i].toString(16)).slice(-2);
    }
    return out;
  }

  function fresh(session) {
    return { session: session || randomId(), seq: 0, answered: 0, transcript: [], options: null, pending: [] };
  }

  var state = null;
  if (memory) {
    try {
      state = JSON.parse(memory.getItem(KEY) || "null");
    } catch (e) {
      state = null;
    }
  }
  if (!state || typeof state.session !== "string" || !/^[A-Za-z0-9_-]{22,64}$/.test(state.session)) {
    var given = composer.querySelector("input[name=session]");
    state = fresh(given ? given.value : null);
  }

  function save() {
    if (state.transcript.length > MAX_TRANSCRIPT) {
      state.transcript = state.transcript.slice(-MAX_TRANSCRIPT);
    }
    if (memory) {
      try {
        memory.setItem(KEY, JSON.stringify(state));
      } catch (e) {
        /* full or blocked: keep going in memory */
      }
    }
    var fields = document.querySelectorAll("input[name=session]");
    for (var i = 0; i < fields.length; i++) {
      fields[i].value = state.session;
    }
  }

  // -- drawing -----------------------------------------------------------------------------

  function say(text) {
    if (statusLine) {
      statusLine.textContent = text || "";
    }
  }

  function entry(item) {
    var li = document.createElement("li");
    var who = document.createElement("span");
    who.className = "who";
    if (item.me !== undefined) {
      li.className = "msg me";
      who.textContent = (words.you || "You") + ":";
      var p = document.createElement("p");
      p.textContent = item.me; // what the visitor typed is text, never markup
      li.appendChild(who);
      li.appendChild(p);
    } else {
      li.className = "msg bot";
      if (item.lang) {
        li.setAttribute("lang", item.lang);
      }
      who.textContent = (words.bot || "Bot") + ":";
      var div = document.createElement("div");
      div.className = "body";
      div.innerHTML = item.html; // escaped by the server (bot.content.markup.to_web_html)
      li.appendChild(who);
      li.appendChild(div);
    }
    return li;
  }

  function optionsForm(options) {
    var form = document.createElement("form");
    form.className = "options";
    form.method = "post";
    form.action = "./";
    var ul = document.createElement("ul");
    ul.setAttribute("aria-label", words.options || "Options");
    for (var i = 0; i < options.length; i++) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "submit";
      button.name = "option";
      button.value = options[i].id;
      button.textContent = options[i].label;
      li.appendChild(button);
      ul.appendChild(li);
    }
    form.appendChild(ul);
    return form;
  }

  function dropOptions() {
    var old = log.querySelectorAll("form.options");
    for (var i = 0; i < old.length; i++) {
      old[i].parentNode.removeChild(old[i]);
    }
  }

  function showOptions() {
    dropOptions();
    if (state.options && state.options.length) {
      var bots = log.querySelectorAll("li.msg.bot");
      var last = bots[bots.length - 1];
      if (last) {
        last.appendChild(optionsForm(state.options));
      }
    }
  }

  function drawAll() {
    while (log.firstChild) {
      log.removeChild(log.firstChild);
    }
    for (var i = 0; i < state.transcript.length; i++) {
      log.appendChild(entry(state.transcript[i]));
    }
    showOptions();
  }

  function add(item) {
    state.transcript.push(item);
    var li = entry(item);
    log.appendChild(li);
    return li;
  }

  // -- the connection ----------------------------------------------------------------------

  var socket = null;
  var ready = false;
  var retry = 0;
  var pickedOption = false;
  var switchTo = null;

  function connect() {
    var url = new URL("ws", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.search = "";
    url.hash = "";
    ready = false;
    try {
      socket = new WebSocket(url.href);
    } catch (e) {
      later();
      return;
    }
    socket.onopen = function () {
      socket.send(JSON.stringify({ kind: "hello", session: state.session, lang: lang }));
    };
    socket.onmessage = function (event) {
      var data;
      try {
        data = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (data.type === "ready") {
        ready = true;
        retry = 0;
        say(state.pending.length ? words.waiting : "");
        // Whatever was not answered before the connection dropped, in order; the server
        // answers a message it already handled only once.
        for (var i = 0; i < state.pending.length; i++) {
          socket.send(JSON.stringify(state.pending[i]));
        }
      } else if (data.type === "answer") {
        answered(data);
      } else if (data.type === "error") {
        failed(data);
      }
    };
    socket.onclose = function () {
      ready = false;
      socket = null;
      say(words.offline);
      later();
    };
  }

  function later() {
    var wait = Math.min(10000, 300 * Math.pow(2, retry)) * (0.75 + Math.random() * 0.5);
    retry += 1;
    window.setTimeout(connect, wait);
  }

  function settle(seq) {
    state.pending = state.pending.filter(function (m) {
      return m.seq !== seq;
    });
  }

  function answered(data) {
    settle(data.seq);
    if (data.seq <= state.answered) {
      save();
      return; // shown already
    }
    state.answered = data.seq;
    var first = null;
    if (data.replies && data.replies.length) {
      for (var i = 0; i < data.replies.length; i++) {
        var li = add({ html: data.replies[i].html, lang: data.replies[i].lang });
        first = first || li;
      }
      state.options = data.replies[data.replies.length - 1].options;
      showOptions();
    }
    if (data.forgotten) {
      // Erased on the server: a new id, so nothing links the next conversation to this one.
      var keep = state.transcript.slice(-1);
      state = fresh();
      state.transcript = keep;
      state.answered = 0;
      if (socket && ready) {
        socket.send(JSON.stringify({ kind: "hello", session: state.session, lang: lang }));
      }
    }
    save();
    say(state.pending.length ? words.waiting : "");
    if (switchTo) {
      var target = new URL(window.location.href);
      target.searchParams.set("lang", switchTo);
      switchTo = null;
      window.location.replace(target.href);
      return;
    }
    if (first) {
      first.scrollIntoView({ block: "start" });
      var button = pickedOption ? log.querySelector("form.options button") : null;
      if (button) {
        button.focus({ preventScroll: true });
      } else if (!document.activeElement || document.activeElement === document.body) {
        input.focus({ preventScroll: true });
      }
    }
    pickedOption = false;
  }

  function failed(data) {
    if (typeof data.seq === "number") {
      settle(data.seq);
      if (data.seq > state.answered) {
        state.answered = data.seq;
      }
      save();
    }
    say(data.message || "");
  }

  function send(message) {
    state.seq += 1;
    message.seq = state.seq;
    state.pending.push(message);
    save();
    say(words.waiting);
    if (socket && ready) {
      socket.send(JSON.stringify(message));
    }
  }

  // -- the forms ---------------------------------------------------------------------------

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter || null;
    event.preventDefault();
    if (form === composer) {
      var text = input.value.trim();
      if (!text) {
        say(words.empty);
        return;
      }
      if (text.length > max) {
        say(words.too_long);
        return;
      }
      input.value = "";
      add({ me: text });
      send({ kind: "text", text: text });
      return;
    }
    if (!button) {
      return;
    }
    if (button.name === "option") {
      add({ me: button.textContent });
      dropOptions();
      state.options = null;
      pickedOption = true;
      if (button.value.indexOf("@lang:") === 0) {
        switchTo = button.value.slice(6); // the page's own words follow the language
      }
      send({ kind: "choice", option: button.value });
    } else if (button.name === "lang") {
      switchTo = button.value;
      send({ kind: "lang", lang: button.value });
    } else if (button.value === "forget") {
      send({ kind: "forget" });
    } else if (button.value === "start") {
      send({ kind: "start", lang: lang });
    }
  });

  // Embedded by widget.js: Escape inside the chat closes it too (the key never reaches the
  // embedding page otherwise). The message says nothing but that.
  if (window.parent !== window) {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        window.parent.postMessage("meta-ai-bot:close", "*");
      }
    });
  }

  // -- start ------------------------------------------------------------------------------

  save();
  if (state.transcript.length) {
    drawAll();
  } else if (!state.pending.length) {
    drawAll(); // the page's own welcome goes: the bot's greeting replaces it
    send({ kind: "start", lang: lang });
  }
  say(words.connecting);
  connect();
})();
