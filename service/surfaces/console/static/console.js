// vidgate console: the live parts, following the Server-Sent Events streams.
//
//  - a jobs list (tbody[data-feed]) follows the tenant feed; each event makes the page fetch
//    that job's row afresh from the server and swap it in (or add it at the top);
//  - a job page (tbody[data-timeline]) follows the job's stream: each event is a new timeline
//    row, the status follows it, and once the video is stored it is shown.
// The browser's EventSource reconnects by itself, sending Last-Event-ID; a finished job's
// stream answers 204 and the browser stops.
"use strict";

const STATUS_AFTER = {
  Submitted: "queued",
  Progressed: "in_progress",
  Completed: "completed",
  Failed: "failed",
  Canceled: "canceled",
};

function followFeed(tbody) {
  const insert = tbody.dataset.insert === "true";
  const busy = new Map(); // video id → whether another refresh is wanted after this one

  async function refresh(videoId) {
    if (busy.has(videoId)) {
      busy.set(videoId, true);
      return;
    }
    busy.set(videoId, false);
    try {
      const answer = await fetch(`/console/jobs/${encodeURIComponent(videoId)}/row`, {
        credentials: "same-origin",
      });
      const current = tbody.querySelector(`tr[data-video-id="${CSS.escape(videoId)}"]`);
      if (answer.status === 404) {
        if (current) current.remove();
      } else if (answer.ok) {
        const holder = document.createElement("tbody");
        holder.innerHTML = (await answer.text()).trim();
        const row = holder.firstElementChild;
        if (current) current.replaceWith(row);
        else if (insert) tbody.prepend(row);
        document.querySelector("[data-empty]")?.remove();
      }
    } finally {
      const again = busy.get(videoId);
      busy.delete(videoId);
      if (again) refresh(videoId);
    }
  }

  const source = new EventSource(tbody.dataset.feed);
  source.onmessage = (message) => {
    const item = JSON.parse(message.data);
    if (item.video_id) refresh(item.video_id);
  };
}

function cell(text, tag) {
  const td = document.createElement("td");
  const inner = tag ? document.createElement(tag) : td;
  inner.textContent = text;
  if (tag) td.append(inner);
  return td;
}

function utc(iso) {
  return new Date(iso).toISOString().replace("T", " ").slice(0, 19);
}

function sortedJson(value) {
  if (Array.isArray(value)) return value.map(sortedJson);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedJson(value[k])]));
}

function showStatus(item) {
  const status = STATUS_AFTER[item.type];
  const badge = document.querySelector("[data-job-status] [data-status]");
  if (status && badge) {
    badge.textContent = status;
    badge.className = `status status-${status}`;
  }
  const progress = document.querySelector("[data-job-progress]");
  if (progress && item.type === "Progressed") progress.textContent = `${item.data.percent}%`;
  if (progress && item.type === "Completed") progress.textContent = "100%";
  if (["Completed", "Failed", "Canceled"].includes(item.type)) {
    document.querySelector("[data-cancel]")?.closest("form")?.remove();
  }
}

function showMedia() {
  const media = document.querySelector("[data-media]");
  if (!media) return;
  for (const element of media.querySelectorAll("[data-src]")) {
    if (!element.getAttribute("src")) element.src = element.dataset.src;
  }
  media.hidden = false;
}

function followTimeline(tbody) {
  const source = new EventSource(tbody.dataset.timeline);
  source.onmessage = (message) => {
    const item = JSON.parse(message.data);
    const row = document.createElement("tr");
    row.dataset.type = item.type;
    row.append(
      cell(String(item.version)),
      cell(utc(item.occurred_at)),
      cell(item.type),
      cell(item.actor),
      cell(item.data.source || ""),
      cell(JSON.stringify(sortedJson(item.data)), "pre"),
    );
    row.firstElementChild.className = "num";
    tbody.append(row);
    showStatus(item);
    if (item.type === "OutputStored") showMedia();
  };
}

document.addEventListener("DOMContentLoaded", () => {
  for (const tbody of document.querySelectorAll("tbody[data-feed]")) followFeed(tbody);
  for (const tbody of document.querySelectorAll("tbody[data-timeline]")) followTimeline(tbody);
});
