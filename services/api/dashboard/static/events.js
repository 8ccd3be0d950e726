// icl-it dashboard: an experiment's events as server-sent events
// (GET /v1/experiments/{id}/events/stream: "event:" the type, "data:" the event's JSON).
// EventSource cannot send the API key (a header), so this reads the stream with fetch()
// and a stream reader, parses the SSE lines itself, and reconnects from the last event id
// (Last-Event-ID) when the connection drops, until the server ends the stream (the
// experiment has finished) or the caller aborts it.
"use strict";

const IclEvents = (() => {
  // One SSE message's fields from its lines ("field: value"; comments start with ":").
  function parseMessage(block) {
    const message = { id: null, event: "message", data: [], retry: null };
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") message.data.push(value);
      else if (field === "id") message.id = value;
      else if (field === "event") message.event = value;
      else if (field === "retry" && /^\d+$/.test(value)) message.retry = Number(value);
    }
    return message;
  }

  // Splits a growing text buffer into complete messages (ended by a blank line).
  function takeMessages(state, chunk) {
    state.buffer += chunk.replace(/\r\n?/g, "\n");
    const blocks = state.buffer.split("\n\n");
    state.buffer = blocks.pop();
    return blocks.map(parseMessage);
  }

  // Streams the events of `path` (…/events/stream) to onEvent(event) — the event JSON,
  // with .type and .data — until the server ends it or `signal` aborts. Resolves when done.
  async function follow(path, { onEvent, onOpen, onError, signal, after = null, headers = {} } = {}) {
    let lastId = after;
    let retryMs = 2000;
    while (!(signal && signal.aborted)) {
      const h = Object.assign({ Accept: "text/event-stream" }, headers);
      if (lastId !== null) h["Last-Event-ID"] = String(lastId);
      let response;
      try {
        response = await fetch(path, { headers: h, signal, cache: "no-store" });
      } catch (err) {
        if (signal && signal.aborted) return;
        if (onError) onError(err);
        await new Promise((r) => setTimeout(r, retryMs));
        continue;
      }
      if (!response.ok) {  // 401/404/...: a reconnect would not change the answer
        if (onError) onError(new Error(`event stream: HTTP ${response.status}`));
        return;
      }
      if (onOpen) onOpen();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const state = { buffer: "" };
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;  // the server ends the stream when the experiment has finished
          for (const message of takeMessages(state, value)) {
            if (message.retry !== null) retryMs = message.retry;
            if (message.id !== null) lastId = message.id;
            if (!message.data.length) continue;
            let event;
            try { event = JSON.parse(message.data.join("\n")); } catch (e) { continue; }
            if (event && typeof event === "object" && !event.type) event.type = message.event;
            onEvent(event);
          }
        }
      } catch (err) {
        if (signal && signal.aborted) return;
        if (onError) onError(err);
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
  }

  return { follow, parseMessage };
})();
