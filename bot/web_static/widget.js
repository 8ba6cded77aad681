/* Embeds the web chat on another site:
     <script src="https://chat.example.org/widget.js" data-lang="de" async></script>
   adds a button in the bottom right corner that opens the chat in an iframe. Nothing is
   loaded from the chat until the button is pressed, and nothing is stored on the site:
   no cookies, no storage. The chat's own server must allow the site (WEB_ALLOWED_ORIGINS). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) {
    return;
  }
  var base = new URL(".", script.src);
  var wanted = (script.getAttribute("data-lang") || "").toLowerCase();
  var words = {
    de: { open: "Fragen zu Metas KI?", close: "Chat schließen", title: "Chat: Metas KI-Training und dein Widerspruch" },
    en: { open: "Questions about Meta AI?", close: "Close chat", title: "Chat: Meta's AI training and your objection" }
  };
  var lang = words[wanted] ? wanted : ((navigator.language || "de").slice(0, 2) === "en" ? "en" : "de");
  var w = words[lang];
  var id = "meta-ai-bot-chat-" + Math.random().toString(36).slice(2, 8);

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = w.open;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", id);
  var b = button.style;
  b.position = "fixed";
  b.right = "1rem";
  b.bottom = "1rem";
  b.zIndex = "2147483646";
  b.font = "600 1rem/1.3 system-ui, sans-serif";
  b.padding = "0.75rem 1rem";
  b.minHeight = "44px";
  b.border = "2px solid #ffffff";
  b.borderRadius = "1.5rem";
  b.background = "#0b4f8a";
  b.color = "#ffffff";
  b.cursor = "pointer";
  b.boxShadow = "0 2px 8px rgba(0,0,0,.35)";

  var frame = null;

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.id = id;
      frame.title = w.title;
      frame.src = base.href + (wanted && words[wanted] ? "?lang=" + wanted : "");
      frame.setAttribute("referrerpolicy", "no-referrer");
      var f = frame.style;
      f.position = "fixed";
      f.right = "1rem";
      f.bottom = "4.75rem";
      f.width = "min(26rem, calc(100vw - 2rem))";
      f.height = "min(40rem, calc(100vh - 6rem))";
      f.border = "1px solid #8a8f98";
      f.borderRadius = "0.75rem";
      f.background = "#ffffff";
      f.zIndex = "2147483647";
      f.boxShadow = "0 4px 24px rgba(0,0,0,.35)";
      document.body.appendChild(frame);
    }
    frame.hidden = false;
    button.setAttribute("aria-expanded", "true");
    button.textContent = w.close;
    frame.focus();
  }

  function close() {
    if (frame) {
      frame.hidden = true;
    }
    button.setAttribute("aria-expanded", "false");
    button.textContent = w.open;
  }

  button.addEventListener("click", function () {
    if (frame && !frame.hidden) {
      close();
    } else {
      open();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && frame && !frame.hidden) {
      close();
      button.focus();
    }
  });

  window.addEventListener("message", function (event) {
    // Escape pressed inside the chat (see app.js), only from the chat's own origin.
    if (event.origin === base.origin && event.data === "meta-ai-bot:close" && frame && !frame.hidden) {
      close();
      button.focus();
    }
  });

  function place() {
    document.body.appendChild(button);
  }
  if (document.body) {
    place();
  } else {
    document.addEventListener("DOMContentLoaded", place);
  }
})();
